"""Faults set through the admin API, as boto3 sees them."""
import time

import pytest
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ClientError, EventStreamError, ReadTimeoutError, ConnectionClosedError
from urllib3.exceptions import ProtocolError

from conftest import CLAUDE, user

ERRORS = {
    "AccessDeniedException": 403, "ConflictException": 400, "InternalServerException": 500,
    "ModelErrorException": 424, "ModelNotReadyException": 429, "ModelStreamErrorException": 424,
    "ModelTimeoutException": 408, "ResourceNotFoundException": 404, "ServiceQuotaExceededException": 400,
    "ServiceUnavailableException": 503, "ThrottlingException": 429, "ValidationException": 400,
}


@pytest.mark.parametrize("name,status", sorted(ERRORS.items()))
def test_every_service_error(emulator, client, name, status):
    emulator.fault(operation="Converse", error=name, times=1)
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=CLAUDE, messages=user("hi"))
    assert caught.value.response["Error"]["Code"] == name
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert client.converse(modelId=CLAUDE, messages=user("hi"))["stopReason"] == "end_turn"


def test_retry_after_header_and_boto3_retries(emulator):
    emulator.fault(operation="Converse", error="ThrottlingException", retry_after_ms=50, times=2)
    retrying = emulator.client(retries=3)
    response = retrying.converse(modelId=CLAUDE, messages=user("hi"))
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    emulator.fault(operation="Converse", error="ThrottlingException", retry_after_ms=250, times=1)
    with pytest.raises(ClientError) as caught:
        emulator.client().converse(modelId=CLAUDE, messages=user("hi"))
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-retry-after"] == "250"


def test_rules_match_model_region_and_operation(emulator, client):
    emulator.fault(model="amazon.nova-lite-v1:0", error="ModelNotReadyException")
    emulator.fault(region="eu-west-1", error="ServiceUnavailableException")
    emulator.fault(operation="CountTokens", error="AccessDeniedException")
    assert client.converse(modelId=CLAUDE, messages=user("hi"))
    with pytest.raises(ClientError, match="ModelNotReadyException"):
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=user("hi"))
    with pytest.raises(ClientError, match="ServiceUnavailableException"):
        emulator.client(region="eu-west-1").converse(modelId=CLAUDE, messages=user("hi"))
    with pytest.raises(ClientError, match="AccessDeniedException"):
        client.count_tokens(modelId=CLAUDE, input={"converse": {"messages": user("hi")}})


def test_probability_with_seed_is_reproducible(emulator, client):
    def run():
        emulator.admin("DELETE", "faults")
        emulator.fault(operation="Converse", error="ThrottlingException", probability=0.5, seed=7)
        outcomes = []
        for _ in range(20):
            try:
                client.converse(modelId=CLAUDE, messages=user("hi"))
                outcomes.append(True)
            except ClientError:
                outcomes.append(False)
        return outcomes
    first, second = run(), run()
    assert first == second
    assert 0 < first.count(False) < 20


def test_latency_before_headers(emulator, client):
    emulator.fault(operation="Converse", latency_ms=400, times=1)
    started = time.monotonic()
    client.converse(modelId=CLAUDE, messages=user("hi"))
    assert time.monotonic() - started >= 0.4


def test_stall_times_out_the_client(emulator):
    emulator.fault(operation="Converse", stall=True, times=1)
    with pytest.raises(ReadTimeoutError):
        emulator.client(read_timeout=1).converse(modelId=CLAUDE, messages=user("hi"))


def test_reset_breaks_the_connection(emulator, client):
    emulator.fault(operation="Converse", reset=True, times=1)
    with pytest.raises((ConnectionClosedError, ProtocolError, ConnectionResetError)) as caught:
        client.converse(modelId=CLAUDE, messages=user("hi"))
    assert caught.value is not None
    # Only that connection is reset; the emulator keeps serving.
    assert client.converse(modelId=CLAUDE, messages=user("hi"))["stopReason"] == "end_turn"


def test_stream_exception_after_events(emulator, client):
    emulator.fault(operation="ConverseStream", stream="exception", after_events=3, exception="throttlingException")
    events = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(modelId=CLAUDE, messages=user("hello"))["stream"]:
            events.append(event)
    assert len(events) == 3
    assert caught.value.response["Error"]["Code"] == "throttlingException"


def test_stream_model_stream_error_default(emulator, client):
    emulator.fault(operation="InvokeModelWithResponseStream", stream="exception", after_events=1)
    body = '{"inputText": "hi"}'
    with pytest.raises(EventStreamError) as caught:
        list(client.invoke_model_with_response_stream(modelId="amazon.titan-text-express-v1", body=body)["body"])
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_stream_corrupt_crc(emulator, client):
    emulator.fault(operation="ConverseStream", stream="corrupt_crc", after_events=2)
    with pytest.raises(ChecksumMismatch):
        list(client.converse_stream(modelId=CLAUDE, messages=user("hello"))["stream"])


def test_stream_truncate(emulator, client):
    emulator.fault(operation="ConverseStream", stream="truncate", after_events=2)
    events = []
    with pytest.raises(Exception) as caught:
        for event in client.converse_stream(modelId=CLAUDE, messages=user("hello"))["stream"]:
            events.append(event)
    assert len(events) == 2
    assert not isinstance(caught.value, AssertionError)


def test_stream_close_without_message_stop(emulator, client):
    emulator.fault(operation="ConverseStream", stream="close")
    events = list(client.converse_stream(modelId=CLAUDE, messages=user("hello"))["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and "contentBlockDelta" in names
    assert "messageStop" not in names and "metadata" not in names


def test_stream_drip(emulator, client):
    emulator.fault(operation="ConverseStream", stream="drip", drip_ms=40)
    started = time.monotonic()
    events = list(client.converse_stream(modelId=CLAUDE, messages=user("hi"))["stream"])
    assert time.monotonic() - started >= 0.04 * (len(events) - 1)


def test_times_and_seconds_expire_rules(emulator, client):
    emulator.fault(operation="Converse", error="ThrottlingException", times=2)
    emulator.fault(operation="CountTokens", error="ThrottlingException", seconds=0.3)
    for _ in range(2):
        with pytest.raises(ClientError):
            client.converse(modelId=CLAUDE, messages=user("hi"))
    client.converse(modelId=CLAUDE, messages=user("hi"))
    time.sleep(0.35)
    client.count_tokens(modelId=CLAUDE, input={"converse": {"messages": user("hi")}})


def test_admin_api_needs_its_token_and_validates_rules(emulator):
    status, body = emulator.admin("GET", "faults", token="wrong")
    assert status == 403 and "x-quarry-admin-token" in body["message"]
    status, body = emulator.admin("POST", "faults", {"operation": "Converse"})
    assert status == 400 and "needs one effect" in body["message"]
    status, body = emulator.admin("POST", "faults", {"error": "NoSuchException"})
    assert status == 400 and "unknown error" in body["message"]
    status, body = emulator.admin("POST", "faults", {"error": "ThrottlingException", "stall": True})
    assert status == 400 and "exactly one effect" in body["message"]
    status, body = emulator.admin("POST", "faults", {"stream": "drip"})
    assert status == 400 and "drip_ms" in body["message"]
    fault_id = emulator.fault(operation="Converse", latency_ms=1)
    status, body = emulator.admin("GET", "faults")
    assert [f["id"] for f in body["faults"]] == [fault_id]
    status, _ = emulator.admin("DELETE", "faults/" + fault_id)
    assert status == 200


def test_requests_are_recorded(emulator, client):
    emulator.admin("DELETE", "requests")
    client.converse(modelId=CLAUDE, messages=user("hi"))
    status, body = emulator.admin("GET", "requests")
    assert status == 200
    [entry] = body["requests"]
    assert entry["operation"] == "Converse" and entry["model"] == CLAUDE
    assert entry["region"] == "us-east-1" and entry["status"] == 200 and entry["principal"] == "test"
    assert entry["input_tokens"] > 0


def test_stream_unmodelled_error_frame(emulator, client):
    # AWS's front end ends a stream with a `:message-type: error` frame
    # (`:error-code`, `:error-message`); botocore raises it as an EventStreamError.
    emulator.fault(operation="ConverseStream", stream="exception", after_events=2, exception="InternalFailure")
    events = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(modelId=CLAUDE, messages=user("hello"))["stream"]:
            events.append(event)
    assert len(events) == 2
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert "unknown error" in caught.value.response["Error"]["Message"]
