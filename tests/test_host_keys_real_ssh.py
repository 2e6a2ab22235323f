"""Pinned host keys on a real test host. The host's SSH key comes from the program's
rendered user data (cloud-init's ssh_keys), its known_hosts line from the same function
as the stack output sshKnownHosts. With that key the host scripts run; once sshd at the
same address presents another key, each script is refused before anything is sent, with
one line naming the host."""

import subprocess

import pytest
import yaml

from deploy.ssh import HostKeyMismatchError, SshClient, Target
from matra.cache import redis_configure_script
from matra.cloudinit import api_user_data
from matra.hosts import certbot_removal_script, certbot_script, delivery_script
from matra.ssh import known_hosts_line
from testhost import NamespaceHost

pytestmark = pytest.mark.host


def generated_host_key(tmp):
    """An ed25519 key in the OpenSSH format pulumi-tls produces."""
    path = tmp / "program-host-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(), (tmp / "program-host-key.pub").read_text().strip()


@pytest.fixture
def pinned(tmp_path_factory):
    """A test host whose sshd presents the key the program put in its user data, and the
    ops user's client trusting only the known_hosts line the program exports."""
    tmp = tmp_path_factory.mktemp("pinned")
    private, public = generated_host_key(tmp)
    user_data = yaml.safe_load(
        api_user_data(
            admin_user="ops",
            admin_key="ssh-ed25519 AAAAC3Nz ops",
            deploy_user="deploy",
            host_private_key=private,
            host_public_key=public,
        )
    )
    host = NamespaceHost(host_key=user_data["ssh_keys"]["ed25519_private"]).start()
    try:
        assert host.host_public_key() == user_data["ssh_keys"]["ed25519_public"] == public
        known_hosts = tmp / "known_hosts"
        known_hosts.write_text(known_hosts_line(["matra-prod-api-0", host.address], public) + "\n")
        client = SshClient(user="ops", key_file=host.work / "ops", known_hosts=known_hosts)
        yield host, client, Target("matra-prod-api-0", host.address)
    finally:
        host.stop()


SCRIPTS = {
    "delivery": lambda: delivery_script(
        dest="/opt/matra/.env", mode="0600", owner="deploy", dir_mode="0750"
    ),
    "certbot": lambda: certbot_script(
        hostname="api.t.io",
        email="ops@t.io",
        acme_directory_url="https://acme.example/dir",
        issue_certificate=False,
    ),
    "redis": lambda: redis_configure_script("127.0.0.1"),
    "certbot-remove": lambda: certbot_removal_script(),
}


def run_script(client, target, script, stdin=""):
    """A host script as pulumi-command runs it: the script to the shell, secrets on stdin."""
    return client.run(target, ["sh", "-c", script], stdin=stdin)


def test_with_the_pinned_key_the_host_scripts_run(pinned):
    host, client, target = pinned
    result = run_script(client, target, SCRIPTS["delivery"](), "MONGODB_URI=one\n")
    assert result.returncode == 0, result.stderr
    assert host.read("/opt/matra/.env") == "MONGODB_URI=one\n"
    result = run_script(client, target, SCRIPTS["certbot"]())
    assert result.returncode == 0, result.stderr


def test_another_key_at_the_same_address_is_refused_for_every_script(pinned):
    host, client, target = pinned
    delivered = run_script(client, target, SCRIPTS["delivery"](), "MONGODB_URI=one\n")
    assert delivered.returncode == 0, delivered.stderr
    pinned_key = client.known_hosts.read_text().split(" ", 1)[1].strip()
    assert host.rekey() != pinned_key  # the same address now answers with another key
    for name, script in SCRIPTS.items():
        with pytest.raises(HostKeyMismatchError) as refused:
            run_script(client, target, script(), "MONGODB_URI=two\n")
        message = str(refused.value)
        assert "\n" not in message, name
        assert message == (
            f"matra-prod-api-0 ({host.address}): its SSH host key is not the one in "
            "sshKnownHosts; refused to connect, nothing was sent"
        ), name
    # Nothing was sent: the .env still holds what the pinned host got.
    assert host.read("/opt/matra/.env") == "MONGODB_URI=one\n"
