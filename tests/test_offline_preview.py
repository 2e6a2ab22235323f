"""scripts/offline_preview.py: what a pull request that can read no environment (a fork's,
Dependabot's) previews. On the real engine (tests/engine.py): a new stack on a
throwaway backend, dummy keys, the program and the policy pack as users run them, the
report built from its events; the checkout left as it was. And the stack file's secrets
provider and encrypted values left out of the copy it previews."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine import require_engine
from harness import ROOT
from offline_preview import sanitise
from preview_report import load


@pytest.mark.engine
def test_a_stack_previews_offline_on_the_real_engine_clean_with_the_pack(tmp_path):
    """What a pull request from a fork or from Dependabot previews must pass on a shipped
    stack: its required check `previews` depends on it."""
    engine = Path(require_engine()).parent
    stack_file = ROOT / "Pulumi.dev.yaml"
    before = hashlib.sha256(stack_file.read_bytes()).hexdigest()
    events, errors = tmp_path / "preview.jsonl", tmp_path / "preview.err"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PULUMI_", "DIGITALOCEAN_", "MONGODB_ATLAS_", "AWS_"))
    }
    env.update(
        PATH=f"{engine}{os.pathsep}{os.environ['PATH']}",
        PULUMI_HOME=str(tmp_path / "pulumi-home"),
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "offline_preview.py"),
            "--stack",
            "dev",
            "--events",
            str(events),
            "--stderr",
            str(errors),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.stdout.startswith(f"offline_preview: dev: exit code {done.returncode}; no state")
    report = load("dev", done.returncode, events, errors)
    # The engine ran the program and the pack: every resource of a new dev stack planned,
    # the pack's report there, and the exit code agrees with it.
    assert report.result in ("succeeded", "failed"), report.errors
    assert report.counts.get("create", 0) == len(report.changes) + 1 > 40  # + the stack itself
    assert {c.type for c in report.changes} >= {
        "digitalocean:index/droplet:Droplet",
        "digitalocean:index/firewall:Firewall",
    }
    assert report.violations, "the pack ran"
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    assert (
        (done.returncode == 0)
        == (report.result == "succeeded")
        == (not mandatory and not report.errors)
    )
    assert hashlib.sha256(stack_file.read_bytes()).hexdigest() == before


def test_the_copy_leaves_out_the_real_backends_secrets_provider_and_encrypted_values(tmp_path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": "v1:abc:def",
                "config": {
                    "matra-infra:dropletCount": 3,
                    "matra-infra:appSecretEnv": {"secure": "v1:xyz"},
                    "matra-infra:alerts": {
                        "slack": [{"secure": "v1:uvw"}],
                        "email": "ops@matra.io",
                    },
                },
            }
        )
    )
    assert sanitise(stack_file) == ["matra-infra:alerts", "matra-infra:appSecretEnv"]
    assert yaml.safe_load(stack_file.read_text()) == {"config": {"matra-infra:dropletCount": 3}}
