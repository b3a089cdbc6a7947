"""Auth failures, injected faults and stream faults, as AWS's Python SDK sees them."""
import pytest

from aws_sdk_bedrock_runtime import models
from smithy_aws_event_stream.exceptions import ChecksumMismatch
from smithy_core.exceptions import CallError

from conftest import CLAUDE, run, user


def converse(client, text="hi"):
    return client.converse(models.ConverseInput(model_id=CLAUDE, messages=user(text)))


def test_wrong_secret_is_refused(emulator):
    async def body(client):
        with pytest.raises(CallError) as caught:
            await converse(client)
        return caught.value
    error = run(emulator, body, secret="not-the-secret")
    assert "status: 403" in str(error) and "InvalidSignatureException" in str(error)
    assert "not-the-secret" not in str(error)


def test_unknown_access_key_is_refused(emulator):
    async def body(client):
        with pytest.raises(CallError) as caught:
            await converse(client)
        return caught.value
    error = run(emulator, body, key="AKIAUNKNOWNKEY000000")
    assert "status: 403" in str(error) and "UnrecognizedClientException" in str(error)


@pytest.mark.parametrize("name,error_type", [
    ("ThrottlingException", models.ThrottlingException),
    ("ServiceUnavailableException", models.ServiceUnavailableException),
    ("AccessDeniedException", models.AccessDeniedException),
    ("ModelErrorException", models.ModelErrorException),
])
def test_injected_fault_is_the_modeled_exception(emulator, name, error_type):
    emulator.fault(operation="Converse", error=name, times=1)

    async def body(client):
        with pytest.raises(error_type) as caught:
            await converse(client)
        after = await converse(client)
        return caught.value, after
    error, after = run(emulator, body)
    assert error.message
    assert after.stop_reason == "end_turn"


def test_stream_exception_after_events(emulator):
    emulator.fault(operation="ConverseStream", stream="exception", after_events=3,
                   exception="throttlingException")

    async def body(client):
        stream = await client.converse_stream(models.ConverseStreamInput(model_id=CLAUDE, messages=user("hello")))
        events = []
        async with stream:
            with pytest.raises(Exception) as caught:
                async for event in stream.output_stream:
                    events.append(event)
        return events, caught.value
    events, error = run(emulator, body)
    assert len(events) == 3
    assert isinstance(error, models.ThrottlingException), repr(error)


def test_stream_model_stream_error_default(emulator):
    emulator.fault(operation="InvokeModelWithResponseStream", stream="exception", after_events=1)
    from test_sdk_operations import claude_body

    async def body(client):
        stream = await client.invoke_model_with_response_stream(
            models.InvokeModelWithResponseStreamInput(model_id=CLAUDE, body=claude_body("hi")))
        chunks = []
        async with stream:
            with pytest.raises(Exception) as caught:
                async for event in stream.output_stream:
                    chunks.append(event)
        return chunks, caught.value
    chunks, error = run(emulator, body)
    assert len(chunks) == 1
    assert isinstance(error, models.ModelStreamErrorException), repr(error)


def test_stream_corrupt_crc_is_detected(emulator):
    emulator.fault(operation="ConverseStream", stream="corrupt_crc", after_events=2)

    async def body(client):
        stream = await client.converse_stream(models.ConverseStreamInput(model_id=CLAUDE, messages=user("hello")))
        events = []
        async with stream:
            with pytest.raises(Exception) as caught:
                async for event in stream.output_stream:
                    events.append(event)
        return events, caught.value
    events, error = run(emulator, body)
    assert len(events) == 2
    assert isinstance(error, ChecksumMismatch), repr(error)


def test_stream_unmodelled_error_frame(emulator):
    emulator.fault(operation="ConverseStream", stream="exception", after_events=2, exception="InternalFailure")

    async def body(client):
        stream = await client.converse_stream(models.ConverseStreamInput(model_id=CLAUDE, messages=user("hello")))
        events = []
        async with stream:
            with pytest.raises(Exception) as caught:
                async for event in stream.output_stream:
                    events.append(event)
        return events, caught.value
    events, error = run(emulator, body)
    assert len(events) == 2
    assert "InternalFailure" in repr(error) + str(error), repr(error)
