"""Writes explicit-host.json: botocore-signed requests whose caller set `Host` itself.

Same format as the shared SigV4 vectors (`direct[]` only). Run with the boto3 the
shared vectors came from (botocore 1.43.11): `python3 gen_explicit_host.py`.
The clock is fixed, so the output is reproducible.
"""
import datetime
import hashlib
import json
from pathlib import Path
from unittest import mock

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TIMESTAMP = "20240620T123456Z"
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
BODY = '{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}'

CASES = [
    ("explicit-host-same-as-url", "Host set to the URL's host", [["Host", "bedrock-runtime.us-east-1.amazonaws.com"]]),
    ("explicit-host-upper-case", "Host value in upper case (names are case-insensitive; the value is signed as sent)",
     [["Host", "BEDROCK-RUNTIME.US-EAST-1.AMAZONAWS.COM"]]),
    ("explicit-host-default-port", "Host with the default port the URL leaves out", [["Host", "bedrock-runtime.us-east-1.amazonaws.com:443"]]),
    ("explicit-host-other-name", "Host naming another endpoint than the URL (a proxy or a tunnel)",
     [["Host", "vpce-0123-abcd.bedrock-runtime.us-east-1.vpce.amazonaws.com"]]),
    ("explicit-host-lower-case-name", "header name `host` in lower case, after the content type",
     [["Content-Type", "application/json"], ["host", "bedrock-runtime.us-east-1.amazonaws.com"]]),
    ("explicit-host-padded", "Host value with surrounding and inner whitespace (signed trimmed)",
     [["Host", "  bedrock-runtime.us-east-1.amazonaws.com  "]]),
    ("explicit-host-loopback-port", "Host of a local emulator with its port", [["Host", "127.0.0.1:8443"]]),
]


class RecordingSigner(SigV4Auth):
    """botocore's signer, keeping what it computed while signing."""

    def canonical_request(self, request):
        headers = self.headers_to_sign(request)
        self.canonical_header_block = self.canonical_headers(headers)
        self.signed_list = self.signed_headers(headers)
        self.canonical = super().canonical_request(request)
        return self.canonical

    def string_to_sign(self, request, canonical_request):
        self.to_sign = super().string_to_sign(request, canonical_request)
        return self.to_sign

    def signature(self, string_to_sign, request):
        self.signed = super().signature(string_to_sign, request)
        return self.signed


def main():
    fixed = datetime.datetime.strptime(TIMESTAMP, "%Y%m%dT%H%M%SZ")
    direct = []
    for case_id, description, headers in CASES:
        request = AWSRequest(method="POST", url=URL, data=BODY.encode())
        for name, value in headers:
            request.headers[name] = value
        signer = RecordingSigner(Credentials(KEY, SECRET), "bedrock", "us-east-1")
        with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
            signer.add_auth(request)
        canonical_request, string_to_sign, signature = signer.canonical, signer.to_sign, signer.signed
        assert request.headers["Authorization"].endswith(signature)
        after = [[name, value] for name, value in request.headers.items()]
        lines = canonical_request.split("\n")
        direct.append({
            "id": case_id, "description": description, "tags": ["explicit-host"],
            "input": {"method": "POST", "url": URL, "headers": headers, "region": "us-east-1", "service": "bedrock",
                      "timestamp": TIMESTAMP, "context": {}, "credentials": {"access_key": KEY, "secret_key": SECRET},
                      "body": {"utf8": BODY}, "body_length": len(BODY),
                      "body_sha256": hashlib.sha256(BODY.encode()).hexdigest()},
            "expected": {
                "canonical_uri": lines[1], "canonical_query_string": lines[2],
                "canonical_headers": signer.canonical_header_block,
                "signed_headers": signer.signed_list,
                "payload_hash": lines[-1], "canonical_request": canonical_request,
                "credential_scope": signer.credential_scope(request), "string_to_sign": string_to_sign,
                "signature": signature, "authorization": request.headers["Authorization"],
                "headers_after_signing": after,
                "headers_set_by_signer": [pair for pair in after if pair[0] in ("X-Amz-Date", "Authorization")],
            },
        })
    out = {"generator": "Tests/BedrockWireTests/Signing/Vectors/gen_explicit_host.py",
           "libraries": {"botocore": botocore.__version__},
           "notes": ["direct[] only: requests whose caller set Host before botocore signed them."],
           "direct": direct, "client": []}
    Path(__file__).with_name("explicit-host.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
