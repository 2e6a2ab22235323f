"""Every shell script in the repository passes shellcheck."""

import shutil
import subprocess

import pytest

from harness import ROOT

SCRIPTS = sorted([ROOT / ".ci" / "run", *ROOT.glob("**/*.sh")],
                 key=str)
SCRIPTS = [p for p in SCRIPTS if "venv" not in p.parts and ".pulumi-state" not in p.parts]


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: .ci/run installs Debian's shellcheck"
    result = subprocess.run([shellcheck, "--external-sources", str(script)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_a_broken_script(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nrm -rf $1/*\n")
    result = subprocess.run(["shellcheck", str(bad)], capture_output=True, check=False)
    assert result.returncode != 0
