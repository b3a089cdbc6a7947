"""The real `bedrock-emulator` executable as a test peer, for both interop suites.

The binary is found with `swift build --show-bin-path` (built first when missing), or
taken from QUARRY_EMULATOR_BIN. Each emulator prints one JSON line with its endpoint
once it is listening. Standard library only: the boto3 suite runs it with the system
python and the AWS SDK suite with the Python 3.12 virtual environment.
"""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The model most interop tests call.
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


class EmulatorProcess:
    """One running emulator process, what it printed, and its admin API."""

    def __init__(self, *args):
        self.process = subprocess.Popen([emulator_binary(), *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
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
            raise RuntimeError("bedrock-emulator did not print its endpoint: " + self.process.stderr.read())
        self.endpoint = info["endpoint"]
        self.admin_token = info["admin_token"]
        self.ca_file = info.get("ca_file")
        self.regions = info["regions"]

    def admin(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint + "/_quarry/" + path, data=data, method=method,
                                         headers={"x-quarry-admin-token": token or self.admin_token,
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
