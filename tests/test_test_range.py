"""The test range survives a killed run: a test process killed with its hosts and the
rig's hub up (SIGKILL: no teardown runs) leaves namespaces, veths, cgroups and the hub's
address behind; the next process to start a host removes them first, and never what a
live process holds. (CI once failed every deploy test because a killed run on the same
machine had left the hub's address on lo.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rig import HUB_ADDRESS

pytestmark = pytest.mark.host

TESTS = Path(__file__).parent

# A process that starts a test host and the hub, says which namespace it got, and waits.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from rig import Hub
    from testhost import NamespaceHost
    hub = Hub().start()
    host = NamespaceHost().start()
    print(host.netns, flush=True)
    time.sleep(600)
    """
)
# A process that enters the range as a test run does and prints what it removed.
ENTRANT = "import testhost; print(testhost.enter_test_range())"


def python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, **kwargs
    )


def namespaces() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def hub_on_lo() -> bool:
    shown = subprocess.run(
        ["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=True
    )
    return f"inet {HUB_ADDRESS}/32" in shown.stdout


def entrant() -> str:
    done = python(ENTRANT)
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 0
    return out


def test_what_a_killed_run_left_is_removed_and_a_live_runs_hosts_are_not():
    holder = python(HOLDER)
    try:
        assert holder.stdout is not None
        name = holder.stdout.readline().strip()
        assert name in namespaces() and hub_on_lo()

        # Alive, its host and the hub are its own: the next process leaves them.
        assert entrant().strip() == "[]"
        assert name in namespaces() and hub_on_lo()

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert name in namespaces() and hub_on_lo(), "SIGKILL left nothing to sweep"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()

    swept = entrant()
    assert f"namespace {name}" in swept and f"address {HUB_ADDRESS}/32 on lo" in swept
    assert name not in namespaces() and not hub_on_lo()
    veths = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f" mth{name.removeprefix('matra-test-')}@" not in veths
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert "unreachable 10.251.0.0/16" not in routes
