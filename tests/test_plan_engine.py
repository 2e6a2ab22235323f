"""What update.yml relies on, tried on the real engine (tests/engine.py's CLI) with the CLI
the workflows would run, PULUMI_EXPERIMENTAL unset:

- `pulumi preview --refresh --save-plan F` then `pulumi up --plan F --refresh` applies the
  plan;
- when reality moves between the plan and the update (what a refresh reads differs, so
  the update would do something the plan did not say), `pulumi up --plan --refresh`
  fails and changes nothing;
- a plan file holds the stack's secrets encrypted, never in plain text;
- a preview needs no write access to a self-managed backend (so a read-only state key
  serves the previews), while an update does;
- drift.yml's check step, run as the runner runs it on this stack: clean when reality is
  what the state says, drift (the resource and property named, the secret not) when it
  moved, error when the check itself cannot run (a wrong passphrase);
- an update killed mid-way leaves its lock in the backend, the next `pulumi up` fails on
  it, scripts/lock_report.py names the killed update from that failure, and
  `pulumi cancel --yes` (docs/operations.md) clears it.

The stack is a small program of its own whose one resource (a dynamic provider) reads
"reality" from a file. The CLI's release ships the plugin dynamic providers run in
(pulumi-resource-pulumi-python, a script that starts `python -m pulumi.dynamic`); the
engine bundle here has none, so the test puts an equivalent on PATH."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import lock_report
from engine import require_engine
from harness import ROOT
from workflow_files import everything, named, run_script, step

pytestmark = pytest.mark.engine

PROGRAM = """
import json, pathlib, time
import pulumi
from pulumi.dynamic import (
    CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult,
)

REALITY = pathlib.Path(__file__).parent / "reality.json"


class Droplets(ResourceProvider):
    def create(self, props):
        REALITY.write_text(json.dumps({"size": props["size"]}))
        return CreateResult("droplet-1", {"size": props["size"]})

    def read(self, id_, props):
        return ReadResult(id_, json.loads(REALITY.read_text()))

    def diff(self, id_, olds, news):
        return DiffResult(changes=olds.get("size") != news.get("size"))

    def update(self, id_, olds, news):
        if news["size"] == "slow":
            time.sleep(120)  # an update long enough to be killed in
        REALITY.write_text(json.dumps({"size": news["size"]}))
        return UpdateResult({"size": news["size"]})


class Droplet(Resource):
    def __init__(self, name, size):
        super().__init__(Droplets(), name, {"size": size})


config = pulumi.Config()
Droplet("api-0", config.require("size"))
pulumi.export("token", config.require_secret("token"))
"""


@pytest.fixture
def stack(tmp_path):
    engine = Path(require_engine()).parent
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: plans\nruntime:\n  name: python\n  options:\n    virtualenv: {ROOT / 'venv'}\n"
    )
    (project / "__main__.py").write_text(PROGRAM)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    plugin = plugins / "pulumi-resource-pulumi-python"
    plugin.write_text(
        f'#!/bin/sh\nexec "{ROOT / "venv" / "bin" / "python"}" -u -m pulumi.dynamic "$@"\n'
    )
    plugin.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = {
        "PATH": os.pathsep.join([str(plugins), str(engine), os.environ["PATH"]]),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "plans",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    assert "PULUMI_EXPERIMENTAL" not in env

    def pulumi(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = run_in(project, env, ["pulumi", *args, "--non-interactive"])
        if check:
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    pulumi("stack", "init", "dev")
    pulumi("config", "set", "size", "small")
    pulumi("config", "set", "--secret", "token", "hunter2-token")
    pulumi("up", "--yes")
    yield pulumi, project, env


def run_in(
    project: Path, env: dict[str, str], command: list[str]
) -> subprocess.CompletedProcess[str]:
    """``command`` in ``project`` with ``env`` (and nothing else), its output captured;
    five minutes at most."""
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def reality(project: Path) -> str:
    return json.loads((project / "reality.json").read_text())["size"]


def test_an_update_applies_the_plan_its_preview_saved(stack):
    pulumi, project, _ = stack
    pulumi("config", "set", "size", "medium")
    pulumi("preview", "--refresh", "--save-plan", "plan.json")
    assert "hunter2-token" not in (project / "plan.json").read_text()
    pulumi("up", "--plan", "plan.json", "--refresh", "--yes")
    assert reality(project) == "medium"


def test_an_update_whose_world_moved_since_the_plan_fails_and_changes_nothing(stack):
    pulumi, project, _ = stack
    pulumi("preview", "--refresh", "--save-plan", "plan.json")  # nothing to do
    (project / "reality.json").write_text(json.dumps({"size": "large"}))  # resized by hand
    done = pulumi("up", "--plan", "plan.json", "--refresh", "--yes", check=False)
    assert done.returncode != 0
    assert "update is not allowed by the plan: this resource is constrained to same" in done.stdout
    assert reality(project) == "large"  # the update that would undo it did not run
    # Without --refresh the update would not even see it: update.yml refreshes.
    assert pulumi("up", "--plan", "plan.json", "--yes").returncode == 0
    assert reality(project) == "large"


def test_a_preview_needs_no_write_access_to_the_backend_and_an_update_does(stack, tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a read-only bind mount needs root and unshare")
    _, project, env = stack
    state = env["PULUMI_BACKEND_URL"].removeprefix("file://")
    script = (
        f"mount --bind {state} {state} && mount -o remount,bind,ro {state} && "
        "pulumi preview --refresh --non-interactive; echo preview=$?; "
        "pulumi up --yes --non-interactive; echo up=$?"
    )
    done = run_in(project, env, ["unshare", "--mount", "sh", "-c", script])
    assert "preview=0" in done.stdout, done.stdout[-2000:]
    assert "up=0" not in done.stdout and "read-only file system" in done.stdout + done.stderr


def test_a_killed_updates_lock_is_reported_and_pulumi_cancel_clears_it(stack, capsys):
    pulumi, project, env = stack
    pulumi("config", "set", "size", "slow")
    locks = Path(env["PULUMI_BACKEND_URL"].removeprefix("file://")) / ".pulumi" / "locks"
    killed = subprocess.Popen(
        ["pulumi", "up", "--yes", "--non-interactive"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(locks.rglob("*.json")):
            assert killed.poll() is None and time.monotonic() < deadline, "no lock was taken"
            time.sleep(0.1)
        time.sleep(2)  # well inside the update (its resource sleeps 120 s)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # a cancelled run, a lost runner
        killed.wait()
    (held,) = list(locks.rglob("*.json"))

    pulumi("config", "set", "size", "medium")
    blocked = pulumi("up", "--yes", check=False)
    assert blocked.returncode != 0
    stderr = project / "up.err"
    stderr.write_text(blocked.stderr)
    assert lock_report.main(["--stack", "dev", "--stderr", str(stderr)]) == 0
    out = capsys.readouterr().out
    (error,) = [line for line in out.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=dev is locked::dev is locked by 1 earlier update: ")
    assert f"(pid {killed.pid})" in error and "`pulumi cancel --stack dev --yes`" in error
    assert f"lock file: {held.as_uri()}" in out, out

    # Any other failure is not called a lock.
    other = project / "other.err"
    other.write_text("error: update failed\n")
    assert lock_report.main(["--stack", "dev", "--stderr", str(other)]) == 1
    assert capsys.readouterr().out == ""

    pulumi("cancel", "--stack", "dev", "--yes")
    assert not list(locks.rglob("*.json"))
    pulumi("up", "--yes")
    assert reality(project) == "medium"


def _drift_check(project: Path, env: dict[str, str], passphrase: str = "plans"):
    """drift.yml's check step for the stack dev, run with the real CLI in ``project``."""
    drift = named(everything(), "drift.yml")
    script = step(drift, "check", "check")["run"]
    if not (project / "scripts").exists():
        (project / "scripts").symlink_to(ROOT / "scripts")
    workflow_env = {k: str(v) for k, v in drift.data["env"].items()}
    done = run_script(
        script,
        {**env, **workflow_env, "STACK": "dev", "PULUMI_CONFIG_PASSPHRASE": passphrase},
        cwd=project,
        path=[Path(p) for p in env["PATH"].split(os.pathsep)],
    )
    return done


def test_the_drift_check_tells_clean_from_drift_from_a_check_that_could_not_run(stack):
    _, project, env = stack
    clean = _drift_check(project, env)
    assert clean.returncode == 0 and clean.outputs["status"] == "clean", clean.stdout[-2000:]

    (project / "reality.json").write_text(json.dumps({"size": "large"}))  # resized by hand
    drifted = _drift_check(project, env)
    assert drifted.returncode == 0 and drifted.outputs["status"] == "drift", drifted.stdout[-2000:]
    assert "api-0" in drifted.summary and "size" in drifted.summary
    assert "hunter2-token" not in drifted.stdout + drifted.summary
    assert reality(project) == "large"  # a check changes nothing

    broken = _drift_check(project, env, passphrase="not-the-passphrase")
    assert broken.outputs["status"] == "error", broken.stdout[-2000:]
