"""The components taking their children (issue 24) changes nothing in a running stack, as
the real engine plans it: each shipped stack is brought to the state an update of main
before the move (47412ba) would have left (tests/engine_state.py, that commit's own
program, `git archive`), then today's program is previewed against that state with
`--diff`. Every resource it had is followed by its alias: nothing is created but the new
components themselves, nothing deleted, nothing replaced; what changes in place are host
commands whose scripts changed since (re-run, never a droplet)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from engine import ROOT, Workspace, project_files
from engine_state import EXCLUDED, deploy_without_cloud

pytestmark = pytest.mark.engine

BASELINE = "47412ba"
NEW_COMPONENTS = {"matra:index:ApiHost", "matra:index:Ingress"}
IN_PLACE = {"command:remote:Command"}
"""What may change in place: a host command whose script changed runs again."""


def baseline_tree(target: Path) -> Path:
    """The repository at ``BASELINE`` (needs the clone's history: a shallow clone says so)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BASELINE], cwd=ROOT, capture_output=True, check=False
    )
    assert archive.returncode == 0, (
        f"git archive {BASELINE}: {archive.stderr.decode().strip()} (a shallow clone? "
        "`git fetch --unshallow`)"
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def put_program(workspace: Workspace, source: Path, files: list[str]) -> None:
    """The workspace's copy of the project becomes ``files`` of ``source``; the stacks'
    encryption salts (what `pulumi stack init` wrote for the state's secrets) stay."""
    salts = {}
    for stack_file in workspace.repo.glob("Pulumi.*.yaml"):
        salt = (yaml.safe_load(stack_file.read_text()) or {}).get("encryptionsalt")
        if salt:
            salts[stack_file.name] = salt
    for entry in workspace.repo.iterdir():
        if entry.name != "venv":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for name in files:
        target = workspace.repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target, follow_symlinks=False)
    for name, salt in salts.items():
        stack_file = workspace.repo / name
        document = yaml.safe_load(stack_file.read_text()) or {}
        document["encryptionsalt"] = salt
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_moving_resources_into_components_creates_deletes_and_replaces_nothing(stack, tmp_path):
    base = baseline_tree(tmp_path / "baseline")
    workspace = Workspace(tmp_path / "engine")
    put_program(workspace, base, [str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()])
    deploy_without_cloud(workspace, stack)
    before = workspace.resources(stack)

    put_program(workspace, ROOT, project_files(ROOT))
    found = workspace.preview(stack, "--diff", *EXCLUDED, pack=False)
    assert found.ok, found.explain()
    ops = found.ops()
    created = {urn for urn, op in ops.items() if op == "create"}
    assert {urn.split("::")[2].rpartition("$")[2] for urn in created} <= NEW_COMPONENTS, created
    gone = {urn: op for urn, op in ops.items() if "delete" in op or "replace" in op}
    assert not gone, f"{stack}: {gone}"
    updated = {urn for urn, op in ops.items() if op == "update"}
    assert {urn.split("::")[2].rpartition("$")[2] for urn in updated} <= IN_PLACE, updated
    # ...and of a command, only its script (the host files changed since): never its
    # connection or its triggers.
    for urn in updated:
        assert set(found.steps[urn].get("diffs") or []) <= {"create"}, (urn, found.steps[urn])
    # Every resource of the old state is one of today's (under its alias), unchanged or
    # changed in place; the Atlas cluster is excluded from every plan (engine_state.py).
    kept = {urn.rpartition("::")[2] for urn, op in ops.items() if op in ("same", "update")}
    missing = sorted(before - kept - {"atlas-cluster"})
    assert all(name.startswith("default_") for name in missing), missing
