"""The program type-checks against the pinned provider SDKs' annotations: a wrong type
or a misspelt argument to any resource fails here, with no provider plugin needed."""

import subprocess
import sys

import pytest

from harness import ROOT

pytestmark = pytest.mark.typecheck


def mypy(*args):
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_program_type_checks():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_provider_argument_type_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pulumi_digitalocean as digitalocean\n"
        "digitalocean.LoadBalancerHealthcheckArgs(protocol='http', port='80')\n"
        "digitalocean.Droplet('d', image='ubuntu-24-04-x64', size='s-1vcpu-2gb',\n"
        "                     montoring=True)\n"
    )
    result = mypy("--follow-imports=silent", str(bad))
    assert result.returncode != 0
    assert (
        'Argument "port" to "LoadBalancerHealthcheckArgs" has incompatible type "str"'
        in result.stdout
    )
    assert 'bad.py:3: error: No overload variant of "Droplet" matches' in result.stdout
