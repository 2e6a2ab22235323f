"""`pulumi preview` of a shipped stack with no credential at all: a new stack on a
throwaway local backend, dummy cloud keys, the policy pack. What a pull request that can
read no environment (one from a fork, or Dependabot's) previews: the program as users
run it, the providers' own checks and the pack, but not the diff against the real state.

    venv/bin/python scripts/offline_preview.py --stack prod --events preview.jsonl \\
        --stderr preview.err

The checkout is copied first (its Pulumi.<stack>.yaml gets a salt from this backend, the
real one is left alone), and the stack file's encrypted values are left out: they can
only be read with the stack's passphrase. Exit status: the preview's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SKIP = {
    "venv",
    ".git",
    ".pulumi-state",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
}
STACK_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")
"""A stack file's secrets provider: the real backend's, useless on a throwaway one."""
DUMMY = {
    "PULUMI_CONFIG_PASSPHRASE": "offline-preview",
    "DIGITALOCEAN_TOKEN": "offline-preview",
    "MONGODB_ATLAS_PUBLIC_KEY": "offline-preview",
    "MONGODB_ATLAS_PRIVATE_KEY": "offline-preview",
    "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
}


def _secure(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_secure(v) for v in value)
    return False


def sanitise(stack_file: Path) -> list[str]:
    """Rewrite a copy of the stack file for a throwaway backend: no secrets provider, no
    encrypted value. Returns the keys left out."""
    data = yaml.safe_load(stack_file.read_text()) or {}
    for key in STACK_KEYS:
        data.pop(key, None)
    config = data.get("config") or {}
    left_out = sorted(key for key, value in config.items() if _secure(value))
    for key in left_out:
        del config[key]
    stack_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return left_out


def copy_project(target: Path) -> None:
    shutil.copytree(
        ROOT, target, ignore=lambda _, names: [n for n in names if n in SKIP], symlinks=True
    )
    (target / "venv").symlink_to(ROOT / "venv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--events", required=True, type=Path)
    parser.add_argument("--stderr", required=True, type=Path)
    args = parser.parse_args(argv)
    if not (ROOT / f"Pulumi.{args.stack}.yaml").is_file():
        print(
            f"offline_preview: --stack {args.stack}: no Pulumi.{args.stack}.yaml", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="matra-offline-") as tmp:
        project, state = Path(tmp) / "project", Path(tmp) / "state"
        copy_project(project)
        state.mkdir()
        left_out = sanitise(project / f"Pulumi.{args.stack}.yaml")
        env = {**os.environ, **DUMMY, "PULUMI_BACKEND_URL": f"file://{state}"}
        env.pop("PULUMI_ACCESS_TOKEN", None)
        init = subprocess.run(
            ["pulumi", "stack", "init", args.stack, "--non-interactive"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            args.stderr.write_text(init.stderr)
            args.events.write_text("")
            print(f"offline_preview: pulumi stack init {args.stack} failed", file=sys.stderr)
            return init.returncode
        policy = [f"--policy-pack-config=policies/config/{args.stack}.json"]
        if not (project / "policies" / "config" / f"{args.stack}.json").is_file():
            policy = []
        with args.events.open("w") as events, args.stderr.open("w") as errors:
            done = subprocess.run(
                [
                    "pulumi",
                    "preview",
                    "--stack",
                    args.stack,
                    "--non-interactive",
                    "--json",
                    "--policy-pack",
                    "policies",
                    *policy,
                ],
                cwd=project,
                env=env,
                stdout=events,
                stderr=errors,
                check=False,
            )
    print(
        f"offline_preview: {args.stack}: exit code {done.returncode}; no state, dummy cloud "
        f"keys; left out (encrypted): {', '.join(left_out) or 'nothing'}"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
