import gc
import sys

import pytest

# Kept because it shortens the fast tier (`pytest -m fast -q` on 2 cores, timed with
# farm-bench with and without it in turns; issue 24's closing note has the figures): every
# worker imports the whole program, the pack and the tests, and pytest rewrites each test
# module's asserts. Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's
# does) every run would compile all of it again: 1.07x the tier's cpu time without this.
sys.dont_write_bytecode = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives no real test host and runs no real engine is in
    the fast tier."""
    slow = ("host", "engine")
    for item in items:
        if not any(item.get_closest_marker(marker) for marker in slow):
            item.add_marker(pytest.mark.fast)


def pytest_collection_finish(session: pytest.Session) -> None:
    # Kept because it shortens the fast tier (measured as above): a worker holds the
    # provider SDKs (hundreds of thousands of objects) and makes a great many short-lived
    # ones per program run; each full collection would walk the SDKs again. Frozen once
    # collected, they are left out: 1.30x the tier's cpu time without this. (The raised
    # collector thresholds that came with it made no difference once this is done.)
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
