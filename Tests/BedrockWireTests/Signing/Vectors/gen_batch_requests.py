"""Writes batch-requests.json: requests exactly as boto3's `s3` and `bedrock` clients
send them for batch inference (S3 PutObject/GetObject/ListObjectsV2 and the multipart
upload operations, path-style, and two virtual-hosted at a `localhost` endpoint; the
four model invocation job operations), signed at a fixed time.

Each case: `service` (the signing name), `method`, `url`, `headers` (as sent, in
order), `body_base64`, `timestamp`, `credentials`, `signature`. Run with boto3/botocore
1.43.11: `python3 gen_batch_requests.py`. Nothing is sent: a `before-send` hook
records the request and answers it locally.
"""
import base64
import datetime
import json
from pathlib import Path
from unittest import mock

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

TIMESTAMP = "20240620T123456Z"
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://127.0.0.1:4566"
ROLE = "arn:aws:iam::123456789012:role/BatchRole"
JOB = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghij12"


class Answer:
    """A local answer for each operation, so the client parses something valid."""

    def __init__(self):
        self.sent = None

    def __call__(self, request, **kwargs):
        self.sent = request
        body = b"{}"
        if "/model-invocation-job" in request.url and request.method == "POST" and not request.url.endswith("/stop"):
            body = json.dumps({"jobArn": JOB}).encode()
        elif "list-type=2" in request.url:
            body = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>'
                    b'<IsTruncated>false</IsTruncated></ListBucketResult>')
        elif "?uploads" in request.url and request.method == "POST":
            body = (b'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket>'
                    b'<Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>')
        elif "uploadId=" in request.url and request.method == "POST":
            body = (b'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket>'
                    b'<Key>k</Key><ETag>&quot;e-2&quot;</ETag></CompleteMultipartUploadResult>')
        elif "uploads" in request.url and request.method == "GET" and "uploadId=" not in request.url:
            body = (b'<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>b</Bucket>'
                    b'<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>')
        elif "uploadId=" in request.url and request.method == "GET":
            body = (b'<?xml version="1.0" encoding="UTF-8"?><ListPartsResult><Bucket>b</Bucket><Key>k</Key>'
                    b'<UploadId>u</UploadId><IsTruncated>false</IsTruncated></ListPartsResult>')
        elif "/model-invocation-job/" in request.url and request.method == "GET":
            body = json.dumps({"jobArn": JOB, "modelId": "m", "roleArn": ROLE, "submitTime": "2024-06-20T12:34:56Z",
                               "inputDataConfig": {}, "outputDataConfig": {}}).encode()
        raw = mock.Mock()
        raw.stream = lambda *a, **k: iter([body])
        return AWSResponse(request.url, 200, {}, raw)


def main():
    fixed = datetime.datetime.strptime(TIMESTAMP, "%Y%m%dT%H%M%SZ")
    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    common = dict(endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                  config=config)
    s3, bedrock = boto3.client("s3", **common), boto3.client("bedrock", **common)
    virtual = boto3.client("s3", endpoint_url="http://localhost:4566", region_name="us-east-1", aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET,
                           config=Config(s3={"addressing_style": "virtual"}, retries={"total_max_attempts": 1}))
    upload = "2~Xk.4Zq_9+/=a"  # an upload id with characters the query must encode
    parts = {"Parts": [{"PartNumber": 1, "ETag": '"5d41402abc4b2a76b9719d911017c592"'},
                       {"PartNumber": 2, "ETag": '"7d793037a0760186574b0282f2f435e7"'}]}
    calls = [
        ("s3-put-object", s3, "put_object", dict(Bucket="batch-in", Key="jobs/input 1+2=3.jsonl", Body=b'{"recordId":"1"}\n')),
        ("s3-put-object-dot-segments", s3, "put_object", dict(Bucket="batch-in", Key="a/./b//c.jsonl", Body=b"x")),
        ("s3-get-object", s3, "get_object", dict(Bucket="batch-out", Key="results/abcdefghij12/input.jsonl.out")),
        ("s3-list-objects-v2", s3, "list_objects_v2", dict(Bucket="batch-out", Prefix="results/abcdefghij12/", MaxKeys=10)),
        ("s3-create-multipart-upload", s3, "create_multipart_upload", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", ContentType="application/jsonl", ChecksumAlgorithm="CRC32")),
        ("s3-upload-part", s3, "upload_part", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", UploadId=upload, PartNumber=2, Body=b'{"recordId":"2"}\n')),
        ("s3-complete-multipart-upload", s3, "complete_multipart_upload", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", UploadId=upload, MultipartUpload=parts)),
        ("s3-abort-multipart-upload", s3, "abort_multipart_upload", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", UploadId=upload)),
        ("s3-list-parts", s3, "list_parts", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", UploadId=upload, MaxParts=100, PartNumberMarker=1)),
        ("s3-list-multipart-uploads", s3, "list_multipart_uploads", dict(
            Bucket="batch-in", Prefix="jobs/", MaxUploads=50, KeyMarker="jobs/a b", UploadIdMarker=upload)),
        ("s3-put-object-virtual-hosted", virtual, "put_object", dict(
            Bucket="batch-in", Key="jobs/input 1+2=3.jsonl", Body=b'{"recordId":"1"}\n')),
        ("s3-upload-part-virtual-hosted", virtual, "upload_part", dict(
            Bucket="batch-in", Key="jobs/big input.jsonl", UploadId=upload, PartNumber=1, Body=b"hello")),
        ("bedrock-create-model-invocation-job", bedrock, "create_model_invocation_job", dict(
            jobName="nightly-1", roleArn=ROLE, modelId="anthropic.claude-3-haiku-20240307-v1:0", clientRequestToken="token-1",
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://batch-in/jobs/"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://batch-out/results/"}})),
        ("bedrock-get-model-invocation-job", bedrock, "get_model_invocation_job", dict(jobIdentifier=JOB)),
        ("bedrock-list-model-invocation-jobs", bedrock, "list_model_invocation_jobs", dict(statusEquals="Completed", maxResults=5)),
        ("bedrock-stop-model-invocation-job", bedrock, "stop_model_invocation_job", dict(jobIdentifier=JOB)),
    ]
    cases = []
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        for case_id, client, operation, params in calls:
            answer = Answer()
            client.meta.events.register_first("before-send", answer)
            try:
                getattr(client, operation)(**params)
            except Exception:  # the local answer may not parse; the request is what is recorded
                pass
            client.meta.events.unregister("before-send", answer)
            request = answer.sent
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            if hasattr(body, "read"):
                body = body.read()
            headers = [[k, v.decode() if isinstance(v, bytes) else v] for k, v in request.headers.items()]
            authorization = dict(headers)["Authorization"]
            cases.append({
                "id": case_id, "service": "bedrock" if client is bedrock else "s3", "operation": operation,
                "method": request.method, "url": request.url, "headers": headers,
                "body_base64": base64.b64encode(body).decode(), "timestamp": TIMESTAMP,
                "credentials": {"access_key_id": KEY, "secret_access_key": SECRET},
                "signature": authorization.rsplit("Signature=", 1)[1],
            })
    out = Path(__file__).with_name("batch-requests.json")
    out.write_text(json.dumps({"generator": "gen_batch_requests.py", "botocore": __import__("botocore").__version__,
                               "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
