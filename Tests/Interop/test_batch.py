"""Batch inference against the emulator, as boto3's `s3` and `bedrock` clients see it:
buckets and objects (path-style, S3's SigV4), model invocation jobs created, read,
listed and stopped, their lifecycle waited out and their outputs read back."""
import hashlib
import io
import json
import socket
import tempfile
import time
from urllib.parse import urlsplit

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
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


# Multipart uploads and virtual-hosted addressing.

MIB = 1024 * 1024


def multipart_etag(parts):
    """S3's ETag for a multipart object: the MD5 of the parts' MD5s, "-", the count."""
    digest = hashlib.md5(b"".join(hashlib.md5(part).digest() for part in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def test_upload_fileobj_goes_multipart(batch_emulator, tmp_path):
    s3, _ = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-multipart")
    data = bytes(range(256)) * (12 * MIB // 256) + b"tail"
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=3)
    s3.upload_fileobj(io.BytesIO(data), "interop-multipart", "big/fileobj.bin", Config=config)
    got = s3.get_object(Bucket="interop-multipart", Key="big/fileobj.bin")
    assert got["Body"].read() == data
    chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    assert len(chunks) == 3
    assert got["ETag"] == multipart_etag(chunks)
    status, log = batch_emulator.admin("GET", "requests")
    assert status == 200
    operations = [entry.get("operation") for entry in log["requests"]]
    assert operations.count("UploadPart") >= 3 and "CompleteMultipartUpload" in operations

    path = tmp_path / "upload.bin"
    path.write_bytes(data[: 6 * MIB])
    s3.upload_file(str(path), "interop-multipart", "big/file.bin", Config=config)
    head = s3.list_objects_v2(Bucket="interop-multipart", Prefix="big/file.bin")["Contents"][0]
    assert head["Size"] == 6 * MIB
    assert head["ETag"] == multipart_etag([data[:5 * MIB], data[5 * MIB:6 * MIB]])
    assert s3.get_object(Bucket="interop-multipart", Key="big/file.bin")["Body"].read() == data[: 6 * MIB]
    # Below the threshold it is a plain PutObject, whose ETag is the body's MD5.
    s3.upload_fileobj(io.BytesIO(b"small"), "interop-multipart", "small", Config=config)
    assert s3.get_object(Bucket="interop-multipart", Key="small")["ETag"] == f'"{hashlib.md5(b"small").hexdigest()}"'


def test_multipart_rules_and_errors(batch_emulator):
    s3, _ = clients(batch_emulator)
    s3.create_bucket(Bucket="interop-mp-rules")
    s3.create_bucket(Bucket="interop-mp-other")
    upload = s3.create_multipart_upload(Bucket="interop-mp-rules", Key="k")["UploadId"]
    big, small = b"a" * (5 * MIB), b"b" * 10
    e1 = s3.upload_part(Bucket="interop-mp-rules", Key="k", UploadId=upload, PartNumber=1, Body=big)["ETag"]
    e2 = s3.upload_part(Bucket="interop-mp-rules", Key="k", UploadId=upload, PartNumber=2, Body=small)["ETag"]
    e3 = s3.upload_part(Bucket="interop-mp-rules", Key="k", UploadId=upload, PartNumber=3, Body=small)["ETag"]
    listed = s3.list_parts(Bucket="interop-mp-rules", Key="k", UploadId=upload)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [(1, 5 * MIB, e1), (2, 10, e2), (3, 10, e3)]

    def complete(parts, bucket="interop-mp-rules", key="k"):
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        return caught.value.response["Error"]["Code"]

    assert complete([(2, e2), (1, e1)]) == "InvalidPartOrder"
    assert complete([(1, e1), (1, e1)]) == "InvalidPartOrder"
    assert complete([(1, e1), (4, e2)]) == "InvalidPart"
    assert complete([(1, e2)]) == "InvalidPart"
    assert complete([(1, e1), (2, e2), (3, e3)]) == "EntityTooSmall"
    assert complete([(1, e1), (3, e3)], bucket="interop-mp-other") == "NoSuchUpload"
    assert complete([(1, e1), (3, e3)], key="other") == "NoSuchUpload"
    with pytest.raises(ClientError) as huge:
        s3.upload_part(Bucket="interop-mp-rules", Key="k", UploadId=upload, PartNumber=10001, Body=b"x")
    assert huge.value.response["Error"]["Code"] == "InvalidArgument"

    done = s3.complete_multipart_upload(Bucket="interop-mp-rules", Key="k", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 3, "ETag": e3}]})
    assert done["ETag"] == multipart_etag([big, small])
    assert s3.get_object(Bucket="interop-mp-rules", Key="k")["Body"].read() == big + small

    aborted = s3.create_multipart_upload(Bucket="interop-mp-rules", Key="gone")["UploadId"]
    s3.upload_part(Bucket="interop-mp-rules", Key="gone", UploadId=aborted, PartNumber=1, Body=b"x")
    # An abandoned upload is found by ListMultipartUploads (paginated) and aborted.
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket="interop-mp-rules",
                                                                PaginationConfig={"PageSize": 1})
    assert [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])] == [("gone", aborted)]
    s3.abort_multipart_upload(Bucket="interop-mp-rules", Key="gone", UploadId=aborted)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="interop-mp-rules")
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket="interop-mp-rules", Key="gone", UploadId=aborted)
    assert gone.value.response["Error"]["Code"] == "NoSuchUpload"


@pytest.fixture
def localhost_names(monkeypatch):
    """Resolves `*.localhost` to 127.0.0.1 for this test, as RFC 6761 says it should (this
    machine's resolver does not), so botocore's virtual-hosted requests reach the emulator."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def virtual_client(emulator, host="localhost"):
    port = emulator.endpoint.rsplit(":", 1)[1]
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "virtual"})
    return boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test", config=config)


@pytest.mark.parametrize("host", ["localhost", "s3.localhost"])
def test_virtual_hosted_addressing(batch_emulator, localhost_names, host):
    s3 = virtual_client(batch_emulator, host)
    bucket = "interop-virtual-" + host.split(".")[0]
    sent = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(urlsplit(request.url).netloc))
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b c.txt", Body=b"virtual")
    assert s3.get_object(Bucket=bucket, Key="a/b c.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="a/")["Contents"]] == ["a/b c.txt"]
    data = b"v" * (5 * MIB) + b"w" * 100
    s3.upload_fileobj(io.BytesIO(data), bucket, "multi", Config=TransferConfig(multipart_threshold=5 * MIB,
                                                                               multipart_chunksize=5 * MIB))
    assert s3.get_object(Bucket=bucket, Key="multi")["Body"].read() == data
    port = batch_emulator.endpoint.rsplit(":", 1)[1]
    assert set(sent) == {f"{bucket}.{host}:{port}"}
    # The same bucket path-style, through the usual client.
    path_style, _ = clients(batch_emulator)
    assert path_style.get_object(Bucket=bucket, Key="a/b c.txt")["Body"].read() == b"virtual"
    # A wrong secret is refused with the Host as signed.
    forger = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="wrong",
                          config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "virtual"}))
    with pytest.raises(ClientError) as caught:
        forger.get_object(Bucket=bucket, Key="a/b c.txt")
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
