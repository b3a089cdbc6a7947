"""Drives the real `bedrock-emulator` with AWS's own Bedrock Runtime client for Python.

`aws-sdk-bedrock-runtime` (smithy-python, asyncio) needs Python >= 3.12, so this suite
runs in the virtual environment `scripts/setup` creates (`.venv-sdk/`), not with the
system python that runs the boto3 suite in `Tests/Interop`. The emulator binary is found
as there: `swift build --show-bin-path`, or QUARRY_EMULATOR_BIN.
"""
import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from aws_sdk_bedrock_runtime import models
from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from smithy_aws_core.identity import StaticCredentialsResolver

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def emulator_binary():
    override = os.environ.get("QUARRY_EMULATOR_BIN")
    if override:
        return override
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    binary = Path(bin_dir) / "bedrock-emulator"
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "bedrock-emulator"], cwd=ROOT, check=True)
    return str(binary)


class Emulator:
    """One running emulator process and the endpoint it printed."""

    def __init__(self, *args):
        self.process = subprocess.Popen([emulator_binary(), *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + 30
        info = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                info = json.loads(line)
                break
        if info is None:
            self.process.kill()
            raise RuntimeError("bedrock-emulator did not print its endpoint")
        self.endpoint = info["endpoint"]
        self.admin_token = info["admin_token"]
        self.ca_file = info.get("ca_file")

    async def client(self, key="test", secret="test", region="us-east-1", transport=None):
        """An SDK client for this emulator with static keys and one attempt per call."""
        overrides = dict(endpoint_uri=self.endpoint, region=region,
                         aws_credentials_identity_resolver=StaticCredentialsResolver(),
                         aws_access_key_id=key, aws_secret_access_key=secret,
                         retry_mode="standard", max_attempts=1)
        if transport is not None:
            overrides["transport"] = transport
        config = await AsyncBedrockRuntimeConfig.resolve(**overrides)
        return AsyncBedrockRuntimeClient(config=config)

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint + "/_quarry/" + path, data=data, method=method,
                                         headers={"x-quarry-admin-token": self.admin_token,
                                                  "content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def fault(self, **rule):
        status, body = self.admin("POST", "faults", rule)
        assert status == 201, body
        return body["id"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def emulator():
    running = Emulator("--port", "0")
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def clean_faults(request):
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").admin("DELETE", "faults")
    yield


def run(emulator, body, **client_args):
    """Runs `body(client)` on a fresh event loop with a fresh client, and closes it."""
    async def main():
        client = await emulator.client(**client_args)
        try:
            return await body(client)
        finally:
            await client.close()
    return asyncio.run(main())


def user(text):
    return [models.Message(role="user", content=[models.ContentBlockText(value=text)])]
