"""command-remote-host-key-pinned on the real engine: a preview fails a command that
connects without a host key where it can tell (its address known), defers one whose
connection is unknown until the update, and the update itself stops a key-less command
before it dials, while a pinned one goes on to dial.

The program (tests/engine_programs/host_key) reaches 127.0.0.1:<port>, where the test
listens: whether the command's provider ever dialed is what the listener saw."""

from __future__ import annotations

import socket
import threading

import pytest

from engine import ROOT, Workspace

pytestmark = pytest.mark.engine

PROGRAM = ROOT / "tests" / "engine_programs" / "host_key"
RULE = "command-remote-host-key-pinned"


class Listener:
    """Accepts on a free loopback port and counts who connected (then hangs up)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()
        self._thread.join(timeout=5)


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def workspace(tmp_path, port: int, *, pinned: bool, known: bool) -> Workspace:
    space = Workspace(tmp_path, PROGRAM)
    space.configure("check", {"pinned": pinned, "knownAtPreview": known, "port": port})
    space.set_secret("check", "loginKey", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return space


def test_a_preview_fails_a_command_without_a_host_key(tmp_path, listener):
    preview = workspace(tmp_path, listener.port, pinned=False, known=True).preview("check")
    assert not preview.ok
    assert [e["policyName"] for e in preview.mandatory] == [RULE]
    assert "'probe': connects without checking the host's SSH key" in preview.explain()
    assert listener.accepted == 0


def test_a_preview_defers_a_connection_unknown_until_the_update(tmp_path, listener):
    preview = workspace(tmp_path, listener.port, pinned=False, known=False).preview("check")
    assert preview.ok, preview.explain()
    (deferred,) = [e for e in preview.policy_events if e["policyName"] == RULE]
    assert deferred["enforcementLevel"] == "advisory"
    assert "value at .connection.host can't be known during preview" in deferred["message"]


def test_the_update_stops_a_command_without_a_host_key_before_it_dials(tmp_path, listener):
    # Its connection was unknown in the preview; the update analyzes it again, known now.
    space = workspace(tmp_path, listener.port, pinned=False, known=False)
    up = space.up("check")
    assert not up.ok
    assert [e["policyName"] for e in up.mandatory] == [RULE]
    assert listener.accepted == 0
    assert "probe" not in space.resources("check")


def test_the_update_runs_a_pinned_command(tmp_path, listener):
    up = workspace(tmp_path, listener.port, pinned=True, known=False).up("check")
    assert up.mandatory == []
    assert listener.accepted >= 1  # it dialed (the listener is no sshd: the command fails)
    assert not up.ok
