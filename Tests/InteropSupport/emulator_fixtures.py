"""The pytest pieces both interop suites share (the suites' conftest files import them).

`running` starts an emulator for a fixture and always stops it; `clean_faults` clears
the session emulator's fault rules before each test that uses it, so no test sees
another's faults.
"""
import pytest


def running(emulator_class, *args):
    """Yields one `emulator_class` process on a free port (`args` added) and stops it."""
    process = emulator_class("--port", "0", *args)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def clean_faults(request):
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").admin("DELETE", "faults")
    yield
