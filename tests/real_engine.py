"""The real Pulumi engine for the tests that need it (a CLI, the Python language host, the
provider plugins): ../shared/engine's, unpacked into ~/.cache/matra-infra/engine (see
/work/shared/engine/README.md on this project's machines), or a `pulumi` already on PATH.
A test runs it on a copy of the checkout (the CLI writes a salt into the stack file it
previews) with a throwaway file:// backend, nothing reaching a cloud.

(The real-engine tier of the main program brings its own helper, tests/engine.py; these
tests move to it when it lands.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import ROOT
from tools import cache_root

SKIP = {
    "venv",
    ".git",
    ".pulumi-state",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
}


def engine_bin() -> Path | None:
    """The directory of the engine's binaries, or None where there is no engine."""
    unpacked = cache_root() / "engine" / "bin"
    if (unpacked / "pulumi").exists():
        return unpacked
    found = shutil.which("pulumi")
    return Path(found).parent if found else None


def require_engine() -> Path:
    found = engine_bin()
    if found is None:
        pytest.skip(
            "no real Pulumi engine here (unpack ../shared/engine/engine.tar.xz into "
            "~/.cache/matra-infra)"
        )
    return found


@dataclass
class Workspace:
    """A copy of the checkout with a backend of its own."""

    root: Path
    env: dict[str, str]

    def pulumi(
        self,
        *args: str,
        cwd: str = ".",
        check: bool = True,
        stdin: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["pulumi", *args],
            cwd=self.root / cwd,
            env={**self.env, **(extra or {})},
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)}: exit {done.returncode}\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done


def workspace(tmp: Path, extra_path: Sequence[Path] = ()) -> Workspace:
    """Copy the checkout into ``tmp`` (its venv linked), with a file:// backend there."""
    engine = require_engine()
    root = tmp / "checkout"
    shutil.copytree(
        ROOT, root, ignore=lambda _, names: [n for n in names if n in SKIP], symlinks=True
    )
    (root / "venv").symlink_to(ROOT / "venv")
    state = tmp / "state"
    state.mkdir()
    env = {
        "PATH": os.pathsep.join([*map(str, extra_path), str(engine), os.environ["PATH"]]),
        "HOME": os.environ.get("HOME", str(tmp)),
        "PULUMI_HOME": str(tmp / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "real-engine-test",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true",
    }
    return Workspace(root, env)
