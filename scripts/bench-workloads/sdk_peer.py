#!/usr/bin/env python3
"""aws-sdk-bedrock-runtime side of Quarry's benchmark (scripts/bench): the client of
the page Quarry reimplements (smithy-python, asyncio, aiohttp), driven the way its
documentation drives it. Runs with .venv-sdk's Python 3.12. Prints one JSON object.

  sdk_peer.py ENDPOINT seq N | conc N IN_FLIGHT | stream | stream_text | streams N | cold
"""
import asyncio
import json
import os
import sys
import time

from aws_sdk_bedrock_runtime import models
from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from smithy_aws_core.identity import StaticCredentialsResolver

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def messages():
    return [models.Message(role="user", content=[models.ContentBlockText(value="hi")])]


def cpu():
    t = os.times()
    return t.user + t.system


async def client(endpoint):
    config = await AsyncBedrockRuntimeConfig.resolve(
        endpoint_uri=endpoint, region="us-east-1", aws_credentials_identity_resolver=StaticCredentialsResolver(),
        aws_access_key_id="test", aws_secret_access_key="test", retry_mode="standard", max_attempts=1)
    return AsyncBedrockRuntimeClient(config=config)


async def converse(c):
    return await c.converse(models.ConverseInput(model_id=MODEL, messages=messages()))


async def main():
    endpoint, workload = sys.argv[1], sys.argv[2]
    c = await client(endpoint)
    try:
        if workload in ("seq", "conc"):
            n = int(sys.argv[3])
            in_flight = int(sys.argv[4]) if workload == "conc" else 1
            await converse(c)  # warm-up: connection, config
            gate = asyncio.Semaphore(in_flight)

            async def one():
                async with gate:
                    await converse(c)
            c0, w0 = cpu(), time.perf_counter()
            if workload == "seq":
                for _ in range(n):
                    await converse(c)
            else:
                await asyncio.gather(*(one() for _ in range(n)))
            c1, w1 = cpu(), time.perf_counter()
            out = {"requests": n, "seconds": w1 - w0, "cpu_ms_per_request": (c1 - c0) * 1000 / n, "rps": n / (w1 - w0)}
        elif workload == "stream":
            w0 = time.perf_counter()
            events = 0
            stream = await c.converse_stream(models.ConverseStreamInput(model_id=MODEL, messages=messages()))
            async with stream:
                async for _ in stream.output_stream:
                    events += 1
            w1 = time.perf_counter()
            out = {"events": events, "seconds": w1 - w0, "events_per_second": events / (w1 - w0)}
        elif workload == "stream_text":
            # The user's loop: read each text delta's text (issue 22). One stream read
            # whole first (not measured), as for boto3 and Quarry.
            async def read_texts():
                events, n = 0, 0
                stream = await c.converse_stream(models.ConverseStreamInput(model_id=MODEL, messages=messages()))
                async with stream:
                    async for ev in stream.output_stream:
                        events += 1
                        if isinstance(ev, models.ConverseStreamOutputContentBlockDelta) and \
                                isinstance(ev.value.delta, models.ContentBlockDeltaText):
                            n += len(ev.value.delta.value)
                return events, n

            await read_texts()
            c0, w0 = cpu(), time.perf_counter()
            events, n = await read_texts()
            c1, w1 = cpu(), time.perf_counter()
            out = {"events": events, "text_bytes": n, "seconds": w1 - w0, "events_per_second": events / (w1 - w0),
                   "cpu_us_per_event": (c1 - c0) * 1e6 / events}
        elif workload == "cold":
            # One call from a fresh process: scripts/bench times the whole process.
            await converse(c)
            out = {"requests": 1}
        elif workload == "streams":
            # N ConverseStreams at once on the one event loop (peak RSS is what scripts/bench reads).
            n = int(sys.argv[3])

            async def one():
                count = 0
                stream = await c.converse_stream(models.ConverseStreamInput(
                    model_id=MODEL, messages=messages(), inference_config=models.InferenceConfiguration(max_tokens=40)))
                async with stream:
                    async for _ in stream.output_stream:
                        count += 1
                return count
            w0 = time.perf_counter()
            counts = await asyncio.gather(*(one() for _ in range(n)))
            w1 = time.perf_counter()
            out = {"streams": n, "events": sum(counts), "seconds": w1 - w0}
        else:
            raise SystemExit(f"unknown workload {workload}")
    finally:
        await c.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
