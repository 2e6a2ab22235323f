"""Every shell script in the repository passes shellcheck: the files as they are (among
them the hosts' deploy side, host/*.sh), and each script template
(matra/templates/*.sh.j2) rendered the way the program renders it, for every
variant."""

import shutil
import subprocess

import pytest

from contracts import CONTRACT
from harness import ROOT
from matra.hosts import certbot_script, delivery_script
from matra.observability import log_forwarding_script, new_relic_script
from matra.rendering import TEMPLATE_DIR, render
from matra.settings import LogDestination

SCRIPTS = sorted([ROOT / ".ci" / "run", *ROOT.glob("**/*.sh")], key=str)
SCRIPTS = [p for p in SCRIPTS if "venv" not in p.parts and ".pulumi-state" not in p.parts]


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: .ci/run installs Debian's shellcheck"
    result = subprocess.run(
        [shellcheck, "--external-sources", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


RENDERED = {
    "certbot-setup": lambda: certbot_script(
        hostname="api.dev.matra.io",
        email="ops@matra.io",
        acme_directory_url="https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    "certbot-remove": lambda: render("certbot-remove.sh.j2"),
    "deliver-file .env": lambda: delivery_script(
        dest="/opt/matra/.env", mode="0600", owner="deploy", dir_mode="0750"
    ),
    "redis-configure": lambda: render("redis-configure.sh.j2", private_ip="10.10.0.5"),
    "install-docker": lambda: render("install-docker.sh.j2"),
    "host-setup": lambda: CONTRACT.setup_script("ssh-ed25519 AAAAC3Nz deploy"),
    "log-forwarding to Papertrail": lambda: log_forwarding_script(
        LogDestination("logs5.papertrailapp.com", 12345)
    ),
    "log-forwarding off": lambda: log_forwarding_script(None),
    "newrelic-agent with a key": lambda: new_relic_script(enabled=True),
    "newrelic-agent without": lambda: new_relic_script(enabled=False),
}


def test_every_script_template_is_rendered_here():
    templates = {p.name for p in TEMPLATE_DIR.glob("*.sh.j2") if not p.name.startswith("_")}
    covered = {name.split()[0] + ".sh.j2" for name in RENDERED}
    assert templates == covered


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_rendered_script_passes_shellcheck(name, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text(RENDERED[name]())
    result = subprocess.run(
        ["shellcheck", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_shellcheck_catches_a_broken_script(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nrm -rf $1/*\n")
    result = subprocess.run(["shellcheck", str(bad)], capture_output=True, check=False)
    assert result.returncode != 0
