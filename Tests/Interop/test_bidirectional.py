"""InvokeModelWithBidirectionalStream with an independent implementation of the wire.

boto3 has no bidirectional streams, so this test builds the request itself: botocore's
SigV4Auth signs the request with ``X-Amz-Content-SHA256:
STREAMING-AWS4-HMAC-SHA256-EVENTS``, the event-stream frames and their chained
signatures are written here from the spec (struct, zlib.crc32, hmac), and curl carries
the body over TLS + HTTP/2 (ALPN). The emulator must accept the chain and answer every
chunk, and refuse a chain with one tampered event. Only Nova Sonic is served over a
bidirectional stream, so the chunks are events of its speech protocol.
"""
import base64
import datetime
import hashlib
import hmac
import json
import shutil
import struct
import subprocess
import time
import zlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import CLAUDE, Emulator, running

SONIC = "amazon.nova-sonic-v1:0"

REGION = "us-east-1"


@pytest.fixture(scope="module")
def tls_emulator():
    yield from running(Emulator, "--tls")


def encode_message(headers, payload):
    """One event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    encoded = b""
    for name, kind, value in headers:
        raw = name.encode()
        encoded += bytes([len(raw)]) + raw
        if kind == "string":
            text = value.encode()
            encoded += bytes([7]) + struct.pack(">H", len(text)) + text
        elif kind == "bytes":
            encoded += bytes([6]) + struct.pack(">H", len(value)) + value
        elif kind == "timestamp":
            encoded += bytes([8]) + struct.pack(">q", value)
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def decode_messages(data):
    """(headers dict, payload) for every message in a response body."""
    messages = []
    while data:
        total, headers_length = struct.unpack(">II", data[:8])
        headers, offset = {}, 12
        while offset < 12 + headers_length:
            name_length = data[offset]
            name = data[offset + 1:offset + 1 + name_length].decode()
            offset += 1 + name_length
            kind = data[offset]
            offset += 1
            if kind == 7 or kind == 6:
                (length,) = struct.unpack(">H", data[offset:offset + 2])
                value = data[offset + 2:offset + 2 + length]
                headers[name] = value.decode() if kind == 7 else value
                offset += 2 + length
            elif kind == 8:
                headers[name] = struct.unpack(">q", data[offset:offset + 8])[0]
                offset += 8
            else:
                raise AssertionError(f"unexpected header type {kind}")
        messages.append((headers, data[12 + headers_length:total - 4]))
        data = data[total:]
    return messages


def signing_key(secret, day):
    key = ("AWS4" + secret).encode()
    for part in (day, REGION, "bedrock", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signed_frame(inner, prior, secret, milliseconds):
    """The outer message around ``inner`` with ``:date`` and the chained ``:chunk-signature``."""
    stamp = datetime.datetime.fromtimestamp(milliseconds // 1000, datetime.timezone.utc)
    day = stamp.strftime("%Y%m%d")
    date_header = bytes([5]) + b":date" + bytes([8]) + struct.pack(">q", milliseconds)
    to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", stamp.strftime("%Y%m%dT%H%M%SZ"),
                         f"{day}/{REGION}/bedrock/aws4_request", prior,
                         hashlib.sha256(date_header).hexdigest(), hashlib.sha256(inner).hexdigest()])
    signature = hmac.new(signing_key(secret, day), to_sign.encode(), hashlib.sha256).digest()
    return frame_with(inner, milliseconds, signature), signature.hex()


def frame_with(inner, milliseconds, signature):
    return encode_message([(":date", "timestamp", milliseconds), (":chunk-signature", "bytes", signature)], inner)


def chunk_event(body):
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(body).encode()).decode()}).encode()
    return encode_message([(":event-type", "string", "chunk"), (":content-type", "string", "application/json"),
                           (":message-type", "string", "event")], payload)


def sonic(texts):
    """A Nova Sonic session: one prompt with a system text, then one user text per item."""
    prompt = {"promptName": "p1"}

    def content(name, role, text):
        return [{"event": {"contentStart": {**prompt, "contentName": name, "type": "TEXT", "role": role,
                                            "interactive": False, "textInputConfiguration": {"mediaType": "text/plain"}}}},
                {"event": {"textInput": {**prompt, "contentName": name, "content": text}}},
                {"event": {"contentEnd": {**prompt, "contentName": name}}}]
    events = [{"event": {"sessionStart": {"inferenceConfiguration": {"maxTokens": 200}}}},
              {"event": {"promptStart": {**prompt, "textOutputConfiguration": {"mediaType": "text/plain"}}}}]
    events += content("system", "SYSTEM", "You are a friendly assistant.")
    for index, text in enumerate(texts):
        events += content(f"user-{index}", "USER", text)
    return events + [{"event": {"promptEnd": prompt}}, {"event": {"sessionEnd": {}}}]


def exchange(emulator, bodies, tamper_first=False, secret="test", model=SONIC):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    url = f"{emulator.endpoint}/model/{model.replace(':', '%3A')}/invoke-with-bidirectional-stream"
    request = AWSRequest(method="POST", url=url, data=b"",
                         headers={"Content-Type": "application/vnd.amazon.eventstream",
                                  "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-EVENTS"})
    SigV4Auth(Credentials("test", secret), "bedrock", REGION).add_auth(request)
    prior = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = b""
    milliseconds = int(time.time() * 1000)
    tampered = False
    for index, item in enumerate(bodies):
        inner = chunk_event(item)
        frame, prior = signed_frame(inner, prior, secret, milliseconds + index)
        if tamper_first and not tampered and "Hello" in json.dumps(item):
            tampered = True
            # Another event of the same size sent under this event's signature (CRCs valid).
            forged = chunk_event(json.loads(json.dumps(item).replace("Hello", "Jello")))
            assert len(forged) == len(inner) and forged != inner
            frame = frame_with(forged, milliseconds + index, bytes.fromhex(prior))
        body += frame
    closing, _ = signed_frame(b"", prior, secret, milliseconds + len(bodies))
    body += closing
    arguments = ["curl", "-sS", "--http2", "--max-time", "20", "--cacert", emulator.ca_file, "-o", "-",
                 "-w", "\n%{http_version} %{http_code}", "--data-binary", "@-"]
    for name, value in request.headers.items():
        arguments += ["-H", f"{name}: {value}"]
    result = subprocess.run(arguments + [url], input=body, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    payload, status = result.stdout.rsplit(b"\n", 1)
    status = status.decode()
    return status, decode_messages(payload) if status == "2 200" else json.loads(payload)


def output_events(messages):
    return [json.loads(base64.b64decode(json.loads(payload)["bytes"]))["event"]
            for headers, payload in messages if headers.get(":event-type") == "chunk"]


def test_independently_signed_chain_is_answered_chunk_by_chunk(tls_emulator):
    status, messages = exchange(tls_emulator, sonic(["Hello first", "Hello second"]))
    assert status == "2 200"
    events = output_events(messages)
    assert all(headers.get(":message-type") == "event" for headers, _ in messages)
    names = [next(iter(event)) for event in events]
    assert names.count("completionStart") == 2 and names.count("completionEnd") == 2
    assert names.count("audioOutput") == 2 and names.count("usageEvent") == 2
    text = "".join(event["textOutput"]["content"] for event in events if "textOutput" in event)
    assert "first" in text and "second" in text
    assert text.index("first") < text.index("second")


def test_a_tampered_event_is_rejected(tls_emulator):
    status, messages = exchange(tls_emulator, sonic(["Hello first", "Hello second"]), tamper_first=True)
    assert status == "2 200"
    assert not any(headers.get(":event-type") == "chunk" for headers, _ in messages)
    headers, _ = messages[-1]
    assert headers[":message-type"] == "error"
    assert headers[":error-code"] == "InvalidSignatureException"
    assert ":chunk-signature" in headers[":error-message"]


def test_a_wrong_secret_is_refused_before_the_stream(tls_emulator):
    status, answer = exchange(tls_emulator, sonic(["Hello"]), secret="not-the-secret")
    assert status == "2 403"
    assert "signature" in answer["message"]


def test_a_text_model_is_refused_with_the_services_advice(tls_emulator):
    status, answer = exchange(tls_emulator, sonic(["Hello"]), model=CLAUDE)
    assert status == "2 400"
    assert "Use InvokeModelWithBidirectionalStream" not in answer["message"]
    assert "doesn't support InvokeModelWithBidirectionalStream" in answer["message"]
