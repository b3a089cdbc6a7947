"""Batch inference against the emulator with AWS's own Bedrock control-plane client for
Python, `aws-sdk-bedrock` (smithy-python): model invocation jobs created, read, listed
and stopped. The job inputs and outputs live in the emulator's S3, reached with requests
signed by `aws-sdk-signers` (the same family's standalone SigV4 signer, S3's rules):
there is no smithy-python S3 client on PyPI, so boto3's suite (Tests/Interop) covers S3's
own client."""
import asyncio
import hashlib
import http.client
import io
import json
import time
from urllib.parse import quote, urlsplit

import pytest

aws_sdk_bedrock = pytest.importorskip(
    "aws_sdk_bedrock", reason="aws-sdk-bedrock is not installed in .venv-sdk: run scripts/setup")
from aws_sdk_bedrock import models  # noqa: E402
from aws_sdk_bedrock.client import AsyncBedrockClient  # noqa: E402
from aws_sdk_bedrock.config import AsyncBedrockConfig  # noqa: E402
from aws_sdk_signers import URI, AWSCredentialIdentity, AWSRequest, Field, Fields, SigV4Signer  # noqa: E402
from smithy_aws_core.identity import StaticCredentialsResolver  # noqa: E402

from conftest import CLAUDE, Emulator, running  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/BatchRole"
TERMINAL = {"Completed", "PartiallyCompleted", "Failed", "Stopped"}


@pytest.fixture(scope="module")
def batch_emulator(tmp_path_factory):
    config = tmp_path_factory.mktemp("batch") / "emulator.json"
    config.write_text(json.dumps({"batch_step_seconds": 0.05, "batch_minimum_records": 3, "latency_per_token_ms": 0}))
    yield from running(Emulator, "--config", str(config))


class S3:
    """Path-style S3 requests to the emulator, signed by aws-sdk-signers with S3's rules
    (scope `s3`, the path signed as sent, `x-amz-content-sha256`)."""

    def __init__(self, endpoint, secret="test"):
        parts = urlsplit(endpoint)
        self.host, self.port = parts.hostname, parts.port
        self.identity = AWSCredentialIdentity(access_key_id="test", secret_access_key=secret)

    def send(self, method, path, query="", body=b""):
        request = AWSRequest(
            destination=URI(scheme="http", host=self.host, port=self.port, path=path, query=query or None),
            method=method, body=io.BytesIO(body),
            fields=Fields([Field(name="host", values=[f"{self.host}:{self.port}"])]))
        signed = SigV4Signer().sign(request=request, identity=self.identity, properties={
            "region": "us-east-1", "service": "s3", "uri_encode_path": False, "content_checksum_enabled": True})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            headers = {field.name: field.as_string() for field in signed.fields}
            connection.request(method, path + (f"?{query}" if query else ""), body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def put(self, bucket, key, body):
        return self.send("PUT", f"/{bucket}/{quote(key)}", body=body)

    def get(self, bucket, key):
        return self.send("GET", f"/{bucket}/{quote(key)}")


def record(index, text):
    return {"recordId": f"r{index:04d}", "modelInput": {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 40,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}}


async def bedrock(emulator):
    config = await AsyncBedrockConfig.resolve(
        endpoint_uri=emulator.endpoint, region="us-east-1",
        aws_credentials_identity_resolver=StaticCredentialsResolver(),
        aws_access_key_id="test", aws_secret_access_key="test", retry_mode="standard", max_attempts=1)
    return AsyncBedrockClient(config=config)


def run(emulator, body):
    async def main():
        client = await bedrock(emulator)
        try:
            return await body(client)
        finally:
            await client.close()
    return asyncio.run(main())


def job_input(name, bucket, key="in.jsonl", **extra):
    return models.CreateModelInvocationJobInput(
        job_name=name, role_arn=ROLE, model_id=CLAUDE,
        input_data_config=models.ModelInvocationJobInputDataConfigS3InputDataConfig(
            value=models.ModelInvocationJobS3InputDataConfig(s3_uri=f"s3://{bucket}/{key}", s3_input_format="JSONL")),
        output_data_config=models.ModelInvocationJobOutputDataConfigS3OutputDataConfig(
            value=models.ModelInvocationJobS3OutputDataConfig(s3_uri=f"s3://{bucket}/out/")),
        **extra)


async def wait(client, arn, timeout=30):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = await client.get_model_invocation_job(models.GetModelInvocationJobInput(job_identifier=arn))
        if not seen or seen[-1] != job.status:
            seen.append(job.status)
        if job.status in TERMINAL:
            return seen, job
        await asyncio.sleep(0.01)
    raise AssertionError(f"job never ended: {seen}")


def prepare(emulator, bucket, count):
    s3 = S3(emulator.endpoint)
    assert s3.send("PUT", f"/{bucket}")[0] == 200
    lines = "".join(json.dumps(record(i, f"Summarise document {i}")) + "\n" for i in range(count)).encode()
    status, headers, _ = s3.put(bucket, "in.jsonl", lines)
    assert status == 200
    assert headers["ETag"] == f'"{hashlib.md5(lines).hexdigest()}"'
    return s3


def test_create_get_list_and_outputs(batch_emulator):
    s3 = prepare(batch_emulator, "sdk-batch", 12)

    async def body(client):
        created = await client.create_model_invocation_job(job_input("sdk-job-1", "sdk-batch"))
        seen, job = await wait(client, created.job_arn)
        listed = await client.list_model_invocation_jobs(models.ListModelInvocationJobsInput(
            name_contains="sdk-job", status_equals="Completed"))
        return created, seen, job, listed

    created, seen, job, listed = run(batch_emulator, body)
    assert created.job_arn.startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
    assert job.status == "Completed", job.message
    order = ["Submitted", "Validating", "Scheduled", "InProgress", "Completed"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert (job.total_record_count, job.success_record_count, job.error_record_count) == (12, 12, 0)
    assert job.job_name == "sdk-job-1" and job.model_id == CLAUDE and job.role_arn == ROLE
    assert job.input_data_config.value.s3_uri == "s3://sdk-batch/in.jsonl"
    assert job.submit_time <= job.end_time
    assert created.job_arn in [summary.job_arn for summary in listed.invocation_job_summaries]

    job_id = created.job_arn.rsplit("/", 1)[1]
    status, _, out = s3.get("sdk-batch", f"out/{job_id}/in.jsonl.out")
    assert status == 200
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [line["recordId"] for line in lines] == [f"r{i:04d}" for i in range(12)]
    assert all(line["modelOutput"]["content"][0]["text"] for line in lines)
    status, _, listing = s3.send("GET", "/sdk-batch", query=f"list-type=2&prefix={quote('out/' + job_id + '/', safe='')}")
    assert status == 200
    assert b"<Key>out/" + job_id.encode() + b"/manifest.json.out</Key>" in listing


def test_stop_and_errors(batch_emulator):
    prepare(batch_emulator, "sdk-stop", 5)

    async def body(client):
        created = await client.create_model_invocation_job(job_input("sdk-stop", "sdk-stop"))
        await client.stop_model_invocation_job(models.StopModelInvocationJobInput(job_identifier=created.job_arn))
        seen, job = await wait(client, created.job_arn)
        errors = {}
        for name, call in [
            ("stop-again", client.stop_model_invocation_job(
                models.StopModelInvocationJobInput(job_identifier=created.job_arn))),
            ("unknown", client.get_model_invocation_job(models.GetModelInvocationJobInput(job_identifier="abcdefabcdef"))),
            ("bad-name", client.create_model_invocation_job(job_input("bad name", "sdk-stop"))),
        ]:
            try:
                await call
            except Exception as error:  # the SDK's modelled errors
                errors[name] = error
        return seen, job, errors

    seen, job, errors = run(batch_emulator, body)
    assert job.status == "Stopped"
    assert type(errors["stop-again"]).__name__ == "ValidationException"
    assert type(errors["unknown"]).__name__ == "ResourceNotFoundException"
    assert type(errors["bad-name"]).__name__ == "ValidationException"


def test_client_request_token_is_idempotent(batch_emulator):
    prepare(batch_emulator, "sdk-token", 4)

    async def body(client):
        first = await client.create_model_invocation_job(job_input("sdk-token", "sdk-token", client_request_token="t-1"))
        again = await client.create_model_invocation_job(job_input("sdk-token", "sdk-token", client_request_token="t-1"))
        await wait(client, first.job_arn)
        return first, again

    first, again = run(batch_emulator, body)
    assert first.job_arn == again.job_arn


def test_s3_signature_checked(batch_emulator):
    prepare(batch_emulator, "sdk-signed", 3)
    status, _, body = S3(batch_emulator.endpoint, secret="wrong").get("sdk-signed", "in.jsonl")
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
