"""InvokeModelWithBidirectionalStream through the SDK's own duplex stream.

The SDK's default transport (aiohttp) has no HTTP/2, so the duplex stream needs its CRT
transport (`awscrt`, HTTP/2 over TLS via ALPN) against `bedrock-emulator --tls`, trusting
the CA file the emulator generated. The SDK signs each event (chained SigV4); the
emulator verifies the chain and answers every chunk. Only Nova Sonic is served over a
bidirectional stream: the chunks are events of its speech protocol.
"""
import json

import pytest

from aws_sdk_bedrock_runtime import models

from conftest import CLAUDE, Emulator, run, running

SONIC = "amazon.nova-sonic-v1:0"

crt_io = pytest.importorskip("awscrt.io", reason="awscrt is not installed; scripts/setup installs it")
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig  # noqa: E402


@pytest.fixture(scope="module")
def tls_emulator():
    yield from running(Emulator, "--tls")


def crt_transport(ca_file):
    """The SDK's CRT transport, HTTP/2 only, trusting only the emulator's CA."""
    transport = AWSCRTHTTPClient(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
    if ca_file:
        options = crt_io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        # The transport takes no TLS options; its one TLS context is replaced here.
        transport._tls_ctx = crt_io.ClientTlsContext(options)
    return transport


def chunk(event):
    return models.InvokeModelWithBidirectionalStreamInputChunk(
        value=models.BidirectionalInputPayloadPart(bytes_=json.dumps({"event": event}).encode()))


def sonic_events(texts):
    """A Nova Sonic session: one prompt, one user text content per item."""
    prompt = {"promptName": "p1"}
    events = [{"sessionStart": {"inferenceConfiguration": {"maxTokens": 200}}}, {"promptStart": prompt}]
    for index, text in enumerate(texts):
        name = {**prompt, "contentName": f"user-{index}"}
        events += [{"contentStart": {**name, "type": "TEXT", "role": "USER", "interactive": True}},
                   {"textInput": {**name, "content": text}}, {"contentEnd": name}]
    return events + [{"promptEnd": prompt}, {"sessionEnd": {}}]


def exchange(emulator, texts, model=SONIC, **client_args):
    async def body(client):
        stream = await client.invoke_model_with_bidirectional_stream(
            models.InvokeModelWithBidirectionalStreamOperationInput(model_id=model))
        received = []
        async with stream:
            for event in sonic_events(texts):
                await stream.input_stream.send(chunk(event))
            await stream.input_stream.close()
            _, output = await stream.await_output()
            async for event in output:
                received.append(event)
        return received
    return run(emulator, body, transport=crt_transport(emulator.ca_file), **client_args)


def test_duplex_stream_answers_every_chunk_in_order(tls_emulator):
    events = exchange(tls_emulator, ["Hello first", "Hello second"])
    assert all(isinstance(event, models.InvokeModelWithBidirectionalStreamOutputChunk) for event in events)
    outputs = [json.loads(event.value.bytes_)["event"] for event in events]
    names = [next(iter(output)) for output in outputs]
    assert names.count("completionStart") == 2 and names.count("completionEnd") == 2
    assert "audioOutput" in names
    text = "".join(o["textOutput"]["content"] for o in outputs if "textOutput" in o)
    assert text.index("first") < text.index("second")


def test_duplex_stream_with_a_wrong_secret_is_refused(tls_emulator):
    with pytest.raises(Exception) as caught:
        exchange(tls_emulator, ["Hello"], secret="not-the-secret")
    assert "status: 403" in str(caught.value) and "InvalidSignatureException" in str(caught.value), repr(caught.value)


def test_duplex_stream_refuses_a_text_model(tls_emulator):
    with pytest.raises(Exception) as caught:
        exchange(tls_emulator, ["Hello"], model=CLAUDE)
    assert "doesn't support InvokeModelWithBidirectionalStream" in str(caught.value), repr(caught.value)
