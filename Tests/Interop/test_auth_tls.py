"""Authentication, regions, TLS and quotas, as boto3 sees them."""
import json
import time

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import CLAUDE, Emulator, running, user


def error_of(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response


def test_wrong_secret_is_rejected_like_aws(emulator):
    response = error_of(lambda: emulator.client(secret="wrong").converse(modelId=CLAUDE, messages=user("hi")))
    assert response["Error"]["Code"] == "InvalidSignatureException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Message"].startswith("The request signature we calculated does not match")


def test_unknown_access_key(emulator):
    response = error_of(lambda: emulator.client(key="AKIAUNKNOWNKEY000000").converse(modelId=CLAUDE, messages=user("hi")))
    assert response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_request(emulator):
    client = boto3.client("bedrock-runtime", endpoint_url=emulator.endpoint, region_name="us-east-1",
                          config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    response = error_of(lambda: client.converse(modelId=CLAUDE, messages=user("hi")))
    assert response["Error"]["Code"] == "MissingAuthenticationTokenException"


def test_signed_region_selects_the_emulated_region(emulator):
    emulator.admin("DELETE", "requests")
    emulator.client(region="eu-west-1").converse(modelId=CLAUDE, messages=user("hi"))
    _, body = emulator.admin("GET", "requests")
    assert body["requests"][-1]["region"] == "eu-west-1"
    response = error_of(lambda: emulator.client(region="ap-south-1").converse(modelId=CLAUDE, messages=user("hi")))
    assert response["Error"]["Code"] == "InvalidSignatureException"


def test_every_streaming_operation_verifies_signatures(emulator):
    response = error_of(lambda: emulator.client(secret="nope").converse_stream(modelId=CLAUDE, messages=user("hi")))
    assert response["Error"]["Code"] == "InvalidSignatureException"


@pytest.fixture(scope="module")
def tls_emulator():
    yield from running(Emulator, "--tls")


def test_tls_with_the_generated_ca(tls_emulator):
    assert tls_emulator.endpoint.startswith("https://127.0.0.1:")
    assert tls_emulator.ca_file
    client = tls_emulator.client()
    answer = client.converse(modelId=CLAUDE, messages=user("over TLS"))
    assert "over TLS" in answer["output"]["message"]["content"][0]["text"]
    events = list(client.converse_stream(modelId=CLAUDE, messages=user("stream over TLS"))["stream"])
    assert "metadata" in events[-1]


def test_tls_is_verified(tls_emulator):
    untrusting = boto3.client("bedrock-runtime", endpoint_url=tls_emulator.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test",
                              config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(Exception) as caught:
        untrusting.converse(modelId=CLAUDE, messages=user("hi"))
    assert "SSL" in type(caught.value).__name__ or "certificate" in str(caught.value).lower()


def test_requests_per_minute_quota():
    limited = Emulator("--port", "0", "--quota-rpm", "3")
    try:
        client = limited.client()
        for _ in range(3):
            client.converse(modelId=CLAUDE, messages=user("hi"))
        response = error_of(lambda: client.converse(modelId=CLAUDE, messages=user("hi")))
        assert response["Error"]["Code"] == "ThrottlingException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
        client.converse(modelId="amazon.nova-lite-v1:0", messages=user("other models have their own window"))
        limited.client(region="us-west-2").converse(modelId=CLAUDE, messages=user("other regions too"))
    finally:
        limited.stop()


def test_tokens_per_minute_quota():
    limited = Emulator("--port", "0", "--quota-tpm", "20")
    try:
        client = limited.client()
        client.converse(modelId=CLAUDE, messages=user("a prompt that uses enough tokens to fill the window"))
        response = error_of(lambda: client.converse(modelId=CLAUDE, messages=user("hi")))
        assert response["Error"]["Code"] == "ThrottlingException"
        assert "tokens" in response["Error"]["Message"]
    finally:
        limited.stop()


def curl(emulator, *extra):
    import shutil
    import subprocess
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    body = json.dumps({"messages": user("via curl")})
    result = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_version} %{http_code}",
                             "--aws-sigv4", "aws:amz:us-east-1:bedrock", "--user", "test:test",
                             "-H", "content-type: application/json", "-d", body, *extra,
                             emulator.endpoint + "/model/amazon.titan-text-express-v1/converse"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    payload, status = result.stdout.rsplit("\n", 1)
    return payload, status


def test_http2_over_tls_via_alpn_with_curls_own_sigv4(tls_emulator):
    payload, status = curl(tls_emulator, "--http2", "--cacert", tls_emulator.ca_file)
    assert status == "2 200", payload
    assert "via curl" in json.loads(payload)["output"]["message"]["content"][0]["text"]


def test_http1_over_tls_still_served(tls_emulator):
    payload, status = curl(tls_emulator, "--http1.1", "--cacert", tls_emulator.ca_file)
    assert status == "1.1 200", payload


@pytest.mark.parametrize("host", ["LOCALHOST:{port}", "localhost:{port}", "  127.0.0.1:{port}  ", "127.0.0.2:{port}",
                                  "[::1]:{port}"])
def test_host_set_by_the_caller_before_signing(emulator, host):
    # botocore signs a caller-set Host as sent (any case, padded, another loopback
    # name); AWS accepts such a request, so the emulator must too. (Names that are not
    # loopback, or a missing port, are the emulator's Host check's to refuse.)
    port = emulator.endpoint.rsplit(":", 1)[1]
    client = emulator.client()

    def set_host(request, **_):
        request.headers["Host"] = host.format(port=port)
    client.meta.events.register("before-sign.bedrock-runtime.Converse", set_host)
    client.meta.events.register("before-sign.bedrock-runtime.ConverseStream", set_host)
    assert client.converse(modelId=CLAUDE, messages=user("hi"))["stopReason"] == "end_turn"
    assert list(client.converse_stream(modelId=CLAUDE, messages=user("hi"))["stream"])
