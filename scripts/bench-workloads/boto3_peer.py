#!/usr/bin/env python3
"""boto3 side of Quarry's benchmark (scripts/bench): the same workloads Quarry runs,
driven the way a Python user drives them. Prints one JSON object.

  boto3_peer.py ENDPOINT seq N | conc N THREADS | stream | stream_text | streams N
"""
import json
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def client(endpoint, pool=10):
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(max_pool_connections=pool, retries={"max_attempts": 1, "mode": "standard"},
                      read_timeout=300))


def cpu():
    t = os.times()
    return t.user + t.system


def main():
    endpoint, workload = sys.argv[1], sys.argv[2]
    out = {}
    if workload == "seq":
        n = int(sys.argv[3])
        c = client(endpoint)
        c.converse(modelId=MODEL, messages=MESSAGES)  # warm-up: connection, models
        c0, w0 = cpu(), time.perf_counter()
        for _ in range(n):
            c.converse(modelId=MODEL, messages=MESSAGES)
        c1, w1 = cpu(), time.perf_counter()
        out = {"requests": n, "seconds": w1 - w0, "cpu_ms_per_request": (c1 - c0) * 1000 / n, "rps": n / (w1 - w0)}
    elif workload == "conc":
        n, threads = int(sys.argv[3]), int(sys.argv[4])
        c = client(endpoint, pool=threads)
        c.converse(modelId=MODEL, messages=MESSAGES)
        c0, w0 = cpu(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda _: c.converse(modelId=MODEL, messages=MESSAGES), range(n)))
        c1, w1 = cpu(), time.perf_counter()
        out = {"requests": n, "seconds": w1 - w0, "cpu_ms_per_request": (c1 - c0) * 1000 / n, "rps": n / (w1 - w0)}
    elif workload == "stream":
        c = client(endpoint)
        w0 = time.perf_counter()
        events = 0
        deltas = 0
        for ev in c.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
            events += 1
            if "contentBlockDelta" in ev:
                deltas += 1
        w1 = time.perf_counter()
        out = {"events": events, "deltas": deltas, "seconds": w1 - w0, "events_per_second": events / (w1 - w0)}
    elif workload == "stream_text":
        # The user's loop: read each text delta's text (issue 22). One stream read whole
        # first (not measured), as the Converse workloads make a first call: the
        # connection and first use are not the loop's cost.
        c = client(endpoint)

        def read_texts():
            events, n = 0, 0
            for ev in c.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
                events += 1
                delta = ev.get("contentBlockDelta")
                if delta is not None and "text" in delta["delta"]:
                    n += len(delta["delta"]["text"])
            return events, n

        read_texts()
        c0, w0 = cpu(), time.perf_counter()
        events, n = read_texts()
        c1, w1 = cpu(), time.perf_counter()
        out = {"events": events, "text_bytes": n, "seconds": w1 - w0, "events_per_second": events / (w1 - w0),
               "cpu_us_per_event": (c1 - c0) * 1e6 / events}
    elif workload == "streams":
        n = int(sys.argv[3])
        c = client(endpoint, pool=n)
        done = []
        lock = threading.Lock()

        def one(_):
            count = 0
            for ev in c.converse_stream(modelId=MODEL, messages=MESSAGES,
                                        inferenceConfig={"maxTokens": 40})["stream"]:
                count += 1
            with lock:
                done.append(count)

        w0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(one, range(n)))
        w1 = time.perf_counter()
        out = {"streams": len(done), "seconds": w1 - w0,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    else:
        sys.exit(f"unknown workload {workload}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
