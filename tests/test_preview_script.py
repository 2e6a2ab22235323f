"""scripts/preview.sh (make preview): the stack name checked before anything slow, the
CLI on PATH used as is (a warning when its version is not the pinned one), the policy
pack and the stack's policy config passed, the committed stack file put back, and one
line when no CLI can be had."""

import os
import subprocess
import time

from fake_cli import recording_cli
from harness import ROOT

SCRIPT = ROOT / "scripts" / "preview.sh"


def preview(stack, tmp_path, path, **env):
    return subprocess.run(
        [str(SCRIPT), stack],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "PATH": path,
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            **env,
        },
    )


def fake_pulumi(tmp_path, version):
    """A `pulumi` of ``version`` that records every call; its preview rewrites the stack
    file, as the real CLI does on a file backend (the script puts it back)."""
    return recording_cli(
        tmp_path, version, 'if [ "$1" = preview ]; then echo "# rewritten" >> Pulumi.$3.yaml; fi\n'
    )


def test_an_unknown_stack_is_refused_at_once_in_one_line(tmp_path):
    started = time.monotonic()
    result = preview("qa", tmp_path, os.environ["PATH"])
    assert time.monotonic() - started < 2
    assert result.returncode == 1
    assert result.stderr == (
        "make preview: no stack qa (no Pulumi.qa.yaml); the stacks are: dev prod staging\n"
    )
    assert result.stdout == ""


def test_the_cli_on_path_previews_with_the_pack_and_the_stacks_config(tmp_path):
    stack_file = (ROOT / "Pulumi.prod.yaml").read_text()
    result = preview("prod", tmp_path, fake_pulumi(tmp_path, "3.272.0"))
    assert result.returncode == 0, result.stderr
    assert "make preview:" not in result.stderr  # the pinned version: no warning
    assert (tmp_path / "calls").read_text().splitlines() == [
        "stack select --create prod --non-interactive",
        "preview --stack prod --non-interactive --policy-pack policies "
        "--policy-pack-config policies/config/prod.json",
    ]
    assert (ROOT / "Pulumi.prod.yaml").read_text() == stack_file


def test_a_cli_of_another_version_is_used_with_a_one_line_warning(tmp_path):
    result = preview("dev", tmp_path, fake_pulumi(tmp_path, "3.200.0"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "make preview: using the pulumi CLI on PATH (v3.200.0); this project pins 3.272.0 "
        "(requirements.txt)\n"
    )


def test_without_a_cli_or_a_way_to_install_it_one_line_says_so(tmp_path):
    """The installer can't be fetched (a closed port stands for a machine offline)."""
    path = ":".join(p for p in os.environ["PATH"].split(":") if not os.path.exists(f"{p}/pulumi"))
    result = preview("dev", tmp_path, path, PULUMI_INSTALLER_URL="https://127.0.0.1:9/")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"make preview: installing the Pulumi CLI 3.272.0 into {tmp_path}/cache/matra-infra/"
        "pulumi-3.272.0 with Pulumi's installer (https://127.0.0.1:9/)"
    ]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("make preview: could not install the Pulumi CLI 3.272.0 (curl: ")
    assert lines[0].endswith(
        "install it by hand (curl -fsSL https://get.pulumi.com | sh -s -- --version 3.272.0) "
        "and run make preview again"
    )
    assert not (tmp_path / "cache" / "matra-infra" / "pulumi-3.272.0" / "bin").exists()
