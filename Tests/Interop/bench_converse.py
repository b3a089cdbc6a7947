"""Measures Converse requests/s against the emulator with wrk on loopback.

Not a test (pytest does not collect it). Usage, after
`swift build -c release --product bedrock-emulator`:

    python3 Tests/Interop/bench_converse.py [--binary PATH] [--seconds 10] [--connections 64] [--threads 2]

One Converse request is signed with botocore's SigV4 (valid for the 5-minute skew
window) and replayed by wrk; wrk reports any non-2xx responses (the signature must verify).
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build/release/bedrock-emulator"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=0)
    args = parser.parse_args()

    server = subprocess.Popen([args.binary, "--port", "0", "--threads", str(args.server_threads)],
                              stdout=subprocess.PIPE, text=True)
    try:
        info = None
        for line in server.stdout:
            if line.startswith("{"):
                info = json.loads(line)
                break
        endpoint = info["endpoint"]
        url = endpoint + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Benchmark request"}]}],
                           "inferenceConfig": {"maxTokens": 64}})
        request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials("test", "test"), "bedrock", "us-east-1").add_auth(request)
        lua_headers = "\n".join(f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in request.headers.items())
        script = f"""
wrk.method = "POST"
wrk.body = {json.dumps(body)}
{lua_headers}
"""
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
            path = handle.name
        result = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s",
                                 "--latency", "-s", path, url], capture_output=True, text=True)
        os.unlink(path)
        print(result.stdout)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        print(f"Converse requests/s: {rate.group(1) if rate else '?'}; non-2xx responses: {bad.group(1) if bad else 0}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
