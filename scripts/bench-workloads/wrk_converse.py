#!/usr/bin/env python3
"""Writes a wrk script that replays one Converse request signed by botocore now (the
emulator accepts a signature for 5 minutes), for the emulator's load test.

  wrk_converse.py ENDPOINT OUT.lua
"""
import json
import sys

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, out = sys.argv[1], sys.argv[2]
model = "anthropic.claude-3-haiku-20240307-v1%3A0"
body = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
request = AWSRequest(method="POST", url=f"{endpoint}/model/{model}/converse", data=body,
                     headers={"Content-Type": "application/json"})
SigV4Auth(Credentials("test", "test"), "bedrock", "us-east-1").add_auth(request)


def lua(s):
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal here


with open(out, "w") as f:
    f.write("wrk.method = \"POST\"\n")
    f.write(f"wrk.path = {lua('/model/' + model + '/converse')}\n")
    f.write(f"wrk.body = {lua(body)}\n")
    for name, value in request.headers.items():
        f.write(f"wrk.headers[{lua(name)}] = {lua(value)}\n")
    f.write("""
local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 and non2xx < 3 then
    non2xx = non2xx + 1
    io.stderr:write("status " .. status .. ": " .. body .. "\\n")
  end
end
""")
