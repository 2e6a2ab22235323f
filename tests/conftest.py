import atexit
import gc
import logging
import os
import sys

import pytest

# A test process holds the provider SDKs (hundreds of thousands of objects) and makes a
# great many short-lived ones per program run; the default collector thresholds make it
# walk them all again and again, a third of a run's time. Collect less often, and leave
# what collection imported out of the walk (pytest_collection_finish).
gc.set_threshold(100_000, 50, 100)

# Every worker imports the whole program, the pack and the tests. Without their bytecode
# cached (git ignores __pycache__), each compiles them again, and pytest rewrites every
# test module's asserts again: a second or more of each worker's start. An environment
# that sets PYTHONDONTWRITEBYTECODE (this machine's does) would force that on every run.
sys.dont_write_bytecode = False


def _leave_without_teardown() -> None:
    logging.shutdown()  # its own exit handler, registered before this one, would run after
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# An xdist worker has sent every report (over its channel: its exit status is not read)
# before it exits; what follows is the interpreter tearing down its heap (the SDKs and the
# runs' garbage: most of a second, while `pytest` waits for the worker to go). Registered
# at import, this runs after the exit handlers of everything imported later.
if os.environ.get("PYTEST_XDIST_WORKER"):
    atexit.register(_leave_without_teardown)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives no real test host and runs no real engine is in
    the fast tier."""
    slow = ("host", "engine")
    for item in items:
        if not any(item.get_closest_marker(marker) for marker in slow):
            item.add_marker(pytest.mark.fast)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Once a run that has real-engine tests: which engine, and each provider plugin whose
    version is not the SDK's pin (a property only the newer one knows would be refused)."""
    if not any(item.get_closest_marker("engine") for item in items):
        return []
    from engine import cli, engine_version, version_skew

    if cli() is None:
        return ["real engine: no pulumi CLI on PATH, the engine tests are skipped"]
    skew = version_skew()
    return [
        f"real engine: pulumi {engine_version()} ({cli()})",
        "provider plugins not at the SDK's pins: " + ("; ".join(skew) if skew else "none"),
    ]
