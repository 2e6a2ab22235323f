"""Every shell script in the repository passes shellcheck: the files as they are (among
them every shell file under host/, the hosts' scripts), and each command the program runs
on a host (matra/hostfiles.py: a host script with its files and parameters), for every
variant. Every file under host/ is a shell script checked here or the deploy entry point
(Python: ruff and mypy check it)."""

import shutil
import subprocess

import pytest

from contracts import CONTRACT
from harness import ROOT
from matra.cache import redis_configure_script
from matra.hostfiles import HOST_DIR, HostStep, host_command
from matra.hosts import certbot_removal_script, certbot_script, delivery_script
from matra.observability import log_forwarding_script, new_relic_script
from matra.settings import LogDestination

SCRIPTS = sorted([ROOT / ".ci" / "run", *ROOT.glob("**/*.sh")], key=str)
SCRIPTS = [p for p in SCRIPTS if "venv" not in p.parts and ".pulumi-state" not in p.parts]
PYTHON_ON_HOSTS = {"matra_deploy.py"}


def shellcheck(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("shellcheck")
    assert found, "shellcheck is not installed: .ci/run installs Debian's shellcheck"
    return subprocess.run([found, *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck(script):
    result = shellcheck("--external-sources", str(script))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_under_host_is_shellchecked_or_the_python_entry_point():
    files = {p.name for p in HOST_DIR.iterdir() if p.is_file()}
    checked = {p.name for p in SCRIPTS if p.parent == HOST_DIR}
    assert files - checked == PYTHON_ON_HOSTS


COMMANDS = {
    "certbot-setup": lambda: certbot_script(
        hostname="api.dev.matra.io",
        email="ops@matra.io",
        acme_directory_url="https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    "certbot-remove": certbot_removal_script,
    "deliver-file .env": lambda: delivery_script(
        dest="/opt/matra/.env", mode="0600", owner="deploy", dir_mode="0750"
    ),
    "redis-configure": lambda: redis_configure_script("10.10.0.5"),
    "host-setup": lambda: CONTRACT.setup_script("ssh-ed25519 AAAAC3Nz deploy"),
    "log-forwarding to Papertrail": lambda: log_forwarding_script(
        LogDestination("logs5.papertrailapp.com", 12345)
    ),
    "log-forwarding off": lambda: log_forwarding_script(None),
    "newrelic-agent with a key": lambda: new_relic_script(enabled=True),
    "newrelic-agent without": lambda: new_relic_script(enabled=False),
}


def test_every_host_script_a_step_runs_is_among_the_commands_here():
    """host/'s scripts are run by a step (checked here as their commands), installed by
    host setup, or sourced (functions.sh)."""
    run = {HostStep.read(make()).script for make in COMMANDS.values()}
    setup = HostStep.read(COMMANDS["host-setup"]())
    installed = set(setup.files) - {setup.script, "functions.sh"}
    scripts = {p.name for p in HOST_DIR.glob("*.sh")} - {"functions.sh"}
    # release-bootstrap.sh needs no file and no parameter: it is its step's command as is.
    assert scripts - run - installed == {"release-bootstrap.sh"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_host_command_passes_shellcheck(name, tmp_path):
    command = tmp_path / "command.sh"
    command.write_text(COMMANDS[name]())
    result = shellcheck(str(command))
    assert result.returncode == 0, result.stdout


def test_a_host_command_runs_its_script_with_its_parameters_files_and_stdin(tmp_path):
    """The command as a host's shell runs it: the parameters in the script's environment
    (quoted: nothing in them runs), the files beside it, stdin passed on, the script's exit
    status the command's, and nothing left behind."""
    command = delivery_script(
        dest=str(tmp_path / "out" / "it's $(touch pwned)"),
        mode="0600",
        owner="nobody",
        dir_mode="0700",
    )
    (tmp_path / "out").mkdir()
    fake = tmp_path / "bin"
    fake.mkdir()
    # sudo as the test's user (no root here: no chown), and a first boot that is done.
    (fake / "sudo").write_text('#!/bin/sh\n[ "$1" = chown ] || exec "$@"\n')
    (fake / "cloud-init").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("sudo", "cloud-init"):
        (fake / tool).chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"PATH": f"{fake}:/usr/bin:/bin", "TMPDIR": str(scratch), "HOME": str(tmp_path)}
    for shell in ("bash", "dash"):
        ran = subprocess.run(
            [shell, "-c", command],
            input="SECRET=1\n",
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert (tmp_path / "out" / "it's $(touch pwned)").read_text() == "SECRET=1\n"
        assert not (tmp_path / "pwned").exists()
        assert list(scratch.iterdir()) == []
    failing = host_command("deliver-file.sh", params={"MATRA_DEST": "/x"})
    ran = subprocess.run(
        ["sh", "-c", failing], env=env, capture_output=True, text=True, check=False
    )
    assert ran.returncode != 0 and "MATRA_MODE: is not set" in ran.stderr
    assert list(scratch.iterdir()) == []


def test_a_host_command_is_refused_before_it_could_break_on_a_host():
    with pytest.raises(ValueError, match="parameter 'dest'"):
        host_command("deliver-file.sh", params={"dest": "/x"})
    with pytest.raises(ValueError, match="one line only"):
        host_command("deliver-file.sh", params={"MATRA_DEST": "/x\n/y"})
    with pytest.raises(ValueError, match="holds a line MATRA_HOST_FILE"):
        host_command("deliver-file.sh", files={"x.conf": "a\nMATRA_HOST_FILE\n"})
    with pytest.raises(ValueError, match="over the 122880 a host's shell takes"):
        host_command("deliver-file.sh", files={"big": "x" * 200_000 + "\n"})


def test_shellcheck_catches_a_broken_script(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nrm -rf $1/*\n")
    assert shellcheck(str(bad)).returncode != 0
