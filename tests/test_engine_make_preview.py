"""`make preview STACK=<stack>` as a user runs it, on the real engine: the README's
command, in a fresh copy of the repository (a git checkout of its own), with nothing set
but the engine on PATH. It passes the policy pack for every shipped stack and leaves the
checkout as it found it."""

from __future__ import annotations

import os
import subprocess

import pytest

from engine import Workspace
from harness import STACKS

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("engine-make-preview"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(workspace.repo)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "fresh clone"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return workspace


@pytest.mark.parametrize("stack", STACKS)
def test_make_preview_passes_with_the_pack_and_leaves_the_checkout_clean(checkout, stack):
    # What a user has set: the engine on PATH, nothing of the tests' own.
    env = {k: v for k, v in checkout.env.items() if not k.startswith(("PULUMI_", "MONGODB_"))}
    env = {k: v for k, v in env.items() if k != "DIGITALOCEAN_TOKEN"}
    env["HOME"] = os.environ["HOME"]
    done = subprocess.run(
        ["make", "preview", f"STACK={stack}"],
        cwd=checkout.repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Policies:" in output and "[mandatory]" not in output, output
    status = subprocess.run(
        ["git", "-C", str(checkout.repo), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "", f"make preview left the checkout changed:\n{status}"
