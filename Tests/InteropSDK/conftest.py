"""Drives the real `bedrock-emulator` with AWS's own Bedrock Runtime client for Python.

`aws-sdk-bedrock-runtime` (smithy-python, asyncio) needs Python >= 3.12, so this suite
runs in the virtual environment `scripts/setup` creates (`.venv-sdk/`), not with the
system python that runs the boto3 suite in `Tests/Interop`. The emulator binary is found
as there: `swift build --show-bin-path`, or QUARRY_EMULATOR_BIN.
"""
import asyncio
import sys
from pathlib import Path

import pytest

from aws_sdk_bedrock_runtime import models
from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from smithy_aws_core.identity import StaticCredentialsResolver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "InteropSupport"))
from emulator_fixtures import clean_faults, running  # noqa: E402,F401
from emulator_process import CLAUDE, ROOT, EmulatorProcess, emulator_binary  # noqa: E402,F401


class Emulator(EmulatorProcess):
    """One running emulator process, with AWS SDK clients for it."""

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


@pytest.fixture(scope="session")
def emulator():
    yield from running(Emulator)


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
