"""The emulator's S3 as boto3 and the AWS CLI's transfers use it: listing with a
delimiter (folders), HeadObject and HeadBucket, and ranged GETs (multipart downloads)."""
import io
import os
import tempfile

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Emulator, running


@pytest.fixture(scope="module")
def s3():
    for emulator in running(Emulator):
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
        yield boto3.client("s3", endpoint_url=emulator.endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test", config=config)


def test_delimiter_rolls_keys_up_into_common_prefixes(s3):
    s3.create_bucket(Bucket="folders")
    keys = ["a/1.txt", "a/2.txt", "a/b/3.txt", "c/4.txt", "top.txt", "z.txt"]
    for key in keys:
        s3.put_object(Bucket="folders", Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket="folders", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["top.txt", "z.txt"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "c/"]
    assert listed["KeyCount"] == 4 and listed["Delimiter"] == "/"
    inside = s3.list_objects_v2(Bucket="folders", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in inside["Contents"]] == ["a/1.txt", "a/2.txt"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["a/b/"]
    # One entry a page: each prefix and key exactly once, in order, across pages.
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="folders", Delimiter="/", PaginationConfig={"PageSize": 1}):
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen == ["a/", "c/", "top.txt", "z.txt"]
    # Without a delimiter every key is listed.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="folders")["Contents"]] == sorted(keys)


def test_head_object_and_head_bucket(s3):
    s3.create_bucket(Bucket="heads")
    put = s3.put_object(Bucket="heads", Key="k.json", Body=b'{"a": 1}', ContentType="application/json")
    head = s3.head_object(Bucket="heads", Key="k.json")
    assert head["ContentLength"] == 8
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "application/json"
    assert head["AcceptRanges"] == "bytes"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="heads", Key="nope")
    assert missing.value.response["Error"]["Code"] == "404"
    s3.head_bucket(Bucket="heads")
    with pytest.raises(ClientError) as no_bucket:
        s3.head_bucket(Bucket="no-such-bucket")
    assert no_bucket.value.response["Error"]["Code"] == "404"


def test_ranged_get_and_a_multipart_download(s3):
    s3.create_bucket(Bucket="ranges")
    body = bytes(range(256)) * 40  # 10,240 bytes
    s3.put_object(Bucket="ranges", Key="blob", Body=body)
    part = s3.get_object(Bucket="ranges", Key="blob", Range="bytes=2-5")
    assert part["Body"].read() == body[2:6]
    assert part["ContentRange"] == "bytes 2-5/10240"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket="ranges", Key="blob", Range="bytes=-3")["Body"].read() == body[-3:]
    assert s3.get_object(Bucket="ranges", Key="blob", Range="bytes=10000-")["Body"].read() == body[10000:]
    assert s3.get_object(Bucket="ranges", Key="blob", Range="bytes=10200-99999")["Body"].read() == body[10200:]
    with pytest.raises(ClientError) as past:
        s3.get_object(Bucket="ranges", Key="blob", Range="bytes=10240-")
    assert past.value.response["Error"]["Code"] == "InvalidRange"
    assert past.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    # boto3's transfer manager downloads a large object in ranged parts, as `aws s3 cp` does.
    out = io.BytesIO()
    s3.download_fileobj("ranges", "blob", out,
                        Config=TransferConfig(multipart_threshold=1024, multipart_chunksize=1024, max_concurrency=4))
    assert out.getvalue() == body
