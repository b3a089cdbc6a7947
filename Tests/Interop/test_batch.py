"""Batch inference against the emulator, as boto3's `s3` and `bedrock` clients see it:
buckets and objects (path-style, S3's SigV4), model invocation jobs created, read,
listed and stopped, their lifecycle waited out and their outputs read back."""
import json
import tempfile
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import CLAUDE, Emulator, running

ROLE = "arn:aws:iam::123456789012:role/BatchRole"
TERMINAL = {"Completed", "PartiallyCompleted", "Failed", "Stopped"}
LIFECYCLE = ["Submitted", "Validating", "Scheduled", "InProgress", "Completed"]


@pytest.fixture(scope="module")
def batch_emulator():
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump({"batch_step_seconds": 0.05, "batch_minimum_records": 3, "latency_per_token_ms": 0}, config)
    yield from running(Emulator, "--config", config.name)


def clients(emulator):
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
    common = dict(endpoint_url=emulator.endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test", config=config)
    return boto3.client("s3", **common), boto3.client("bedrock", **common)


def record(index, text):
    return {"recordId": f"r{index:04d}", "modelInput": {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 40,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}}


def wait(bedrock, arn, timeout=30):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = bedrock.get_model_invocation_job(jobIdentifier=arn)
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in TERMINAL:
            return seen, job
        time.sleep(0.01)
    raise AssertionError(f"job never ended: {seen}")


def test_objects_put_get_list(batch_emulator):
    s3, _ = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-objects")
    keys = ["in/a.jsonl", "in/b c+d.jsonl", "in/deep/é.jsonl", "other/x"]
    for key in keys:
        s3.put_object(Bucket="interop-objects", Key=key, Body=key.encode() * 3, ContentType="application/jsonl")
    got = s3.get_object(Bucket="interop-objects", Key="in/b c+d.jsonl")
    assert got["Body"].read() == b"in/b c+d.jsonl" * 3
    assert got["ContentType"] == "application/jsonl"
    listed = s3.list_objects_v2(Bucket="interop-objects", Prefix="in/")
    assert [item["Key"] for item in listed["Contents"]] == sorted(keys[:3], key=lambda k: k.encode())
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="interop-objects", PaginationConfig={"PageSize": 1})
    assert [item["Key"] for page in pages for item in page.get("Contents", [])] == sorted(keys, key=lambda k: k.encode())
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="interop-objects", Key="in/none")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
    assert no_bucket.value.response["Error"]["Code"] == "NoSuchBucket"


def test_wrong_secret_is_refused_the_s3_way(batch_emulator):
    s3 = boto3.client("s3", endpoint_url=batch_emulator.endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="wrong", config=Config(retries={"total_max_attempts": 1},
                                                                   s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket="interop-objects")
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_job_lifecycle_and_outputs(batch_emulator):
    s3, bedrock = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-in")
    s3.create_bucket(Bucket="interop-out")
    records = [record(i, f"Summarise document {i}") for i in range(25)]
    s3.put_object(Bucket="interop-in", Key="batch/input.jsonl", Body="".join(json.dumps(r) + "\n" for r in records).encode())
    arn = bedrock.create_model_invocation_job(
        jobName="interop-job-1", roleArn=ROLE, modelId=CLAUDE, timeoutDurationInHours=24,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://interop-in/batch/input.jsonl", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://interop-out/results/"}})["jobArn"]
    seen, job = wait(bedrock, arn)
    assert job["status"] == "Completed", job.get("message")
    assert [LIFECYCLE.index(s) for s in seen] == sorted(LIFECYCLE.index(s) for s in seen)
    assert (job["totalRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (25, 25, 0)
    assert job["submitTime"] <= job["endTime"]
    job_id = arn.rsplit("/", 1)[1]
    out = s3.get_object(Bucket="interop-out", Key=f"results/{job_id}/input.jsonl.out")["Body"].read().decode()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["recordId"] for line in lines] == [r["recordId"] for r in records]
    assert all(line["modelOutput"]["content"][0]["text"] for line in lines)
    manifest = json.loads(s3.get_object(Bucket="interop-out", Key=f"results/{job_id}/manifest.json.out")["Body"].read())
    assert manifest["successRecordCount"] == 25 and manifest["errorRecordCount"] == 0
    listed = s3.list_objects_v2(Bucket="interop-out", Prefix=f"results/{job_id}/")
    assert sorted(item["Key"].rsplit("/", 1)[1] for item in listed["Contents"]) == ["input.jsonl.out", "manifest.json.out"]

    summaries = bedrock.list_model_invocation_jobs(nameContains="interop-job", statusEquals="Completed")["invocationJobSummaries"]
    assert arn in [s["jobArn"] for s in summaries]


def test_stop_and_errors(batch_emulator):
    s3, bedrock = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-stop")
    s3.put_object(Bucket="interop-stop", Key="in.jsonl", Body="".join(json.dumps(record(i, "x")) + "\n" for i in range(5)).encode())
    arn = bedrock.create_model_invocation_job(
        jobName="interop-stop", roleArn=ROLE, modelId=CLAUDE,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://interop-stop/in.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://interop-stop/out/"}})["jobArn"]
    bedrock.stop_model_invocation_job(jobIdentifier=arn)
    seen, job = wait(bedrock, arn)
    assert job["status"] == "Stopped"
    with pytest.raises(ClientError) as again:
        bedrock.stop_model_invocation_job(jobIdentifier=arn)
    assert again.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as unknown:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as invalid:
        bedrock.create_model_invocation_job(
            jobName="bad name", roleArn=ROLE, modelId=CLAUDE,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://interop-stop/in.jsonl"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://interop-stop/out/"}})
    assert invalid.value.response["Error"]["Code"] == "ValidationException"


def test_below_minimum_fails(batch_emulator):
    s3, bedrock = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-small")
    s3.put_object(Bucket="interop-small", Key="in.jsonl", Body=(json.dumps(record(1, "x")) + "\n").encode())
    arn = bedrock.create_model_invocation_job(
        jobName="interop-small", roleArn=ROLE, modelId=CLAUDE,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://interop-small/in.jsonl"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://interop-small/out/"}})["jobArn"]
    _, job = wait(bedrock, arn)
    assert job["status"] == "Failed"
    assert "at least 3" in job["message"]


def test_fault_rule_on_create(batch_emulator):
    _, bedrock = clients(batch_emulator)
    batch_emulator.fault(operation="CreateModelInvocationJob", error="ServiceQuotaExceededException", times=1)
    kwargs = dict(jobName="interop-faulted", roleArn=ROLE, modelId=CLAUDE,
                  inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://interop-small/in.jsonl"}},
                  outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://interop-small/out/"}})
    with pytest.raises(ClientError) as caught:
        bedrock.create_model_invocation_job(**kwargs)
    assert caught.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert bedrock.create_model_invocation_job(**kwargs)["jobArn"]
