"""Starts the real `bedrock-emulator` executable for the interop suite and stops it.

The binary is found with `swift build --show-bin-path` (built first when missing), or
taken from QUARRY_EMULATOR_BIN. Each emulator prints one JSON line with its endpoint
once it is listening.
"""
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "InteropSupport"))
from emulator_fixtures import clean_faults, running  # noqa: E402,F401
from emulator_process import CLAUDE, ROOT, EmulatorProcess, emulator_binary  # noqa: E402,F401


class Emulator(EmulatorProcess):
    """One running emulator process, with boto3 clients for it."""

    def client(self, region="us-east-1", key="test", secret="test", retries=1, read_timeout=10, **kwargs):
        config = Config(retries={"total_max_attempts": retries, "mode": "standard"}, read_timeout=read_timeout,
                        connect_timeout=5)
        return boto3.client("bedrock-runtime", endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=key, aws_secret_access_key=secret, config=config,
                            verify=self.ca_file if self.ca_file else None, **kwargs)


@pytest.fixture(scope="session")
def emulator():
    yield from running(Emulator)


@pytest.fixture
def client(emulator):
    return emulator.client()



def user(text):
    return [{"role": "user", "content": [{"text": text}]}]
