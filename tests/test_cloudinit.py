"""The rendered cloud-init of every shipped stack: valid for `cloud-init schema` and
carrying the original server setup, brought up to date; no secret in it but each
droplet's own SSH host key."""

import functools

import pytest
import yaml

from cloud_init import schema_problems
from harness import GENERATED_KEYS, STACKS, is_secret_input, mock_private_key, plain, run_program
from matra_policies.types import DROPLET


def without_host_key(document):
    """The document with its ssh_keys (the one part that differs per droplet) taken out."""
    config = yaml.safe_load(document)
    config.pop("ssh_keys")
    return config


@pytest.fixture(scope="module", params=STACKS)
def user_data(request):
    run = run_program(request.param)
    assert run.error is None, run.error
    documents = [plain(d.inputs["userData"]) for d in run.api_droplets()]
    assert all(without_host_key(d) == without_host_key(documents[0]) for d in documents), (
        "every droplet of a stack gets the same user data but for its host key"
    )
    return request.param, documents[0], run


BROKEN = "#cloud-config\nruncmd: 5\nssh_pwauth: [1]\n"


@functools.cache
def schema_results() -> dict[str, str]:
    """cloud-init's verdict on every user data document the program renders (each
    stack's API droplets and its cache droplet, when it has one) and on a broken one,
    in one run of cloud-init."""
    documents = {"broken": BROKEN}
    for stack in STACKS:
        run = run_program(stack)
        documents[f"{stack} api"] = plain(run.api_droplets()[0].inputs["userData"])
        for droplet in run.of_type(DROPLET):
            if droplet.name == "cache-droplet":
                documents[f"{stack} cache"] = plain(droplet.inputs["userData"])
    return schema_problems(documents)


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_init_schema_accepts_it(stack):
    results = schema_results()
    documents = [name for name in results if name.startswith(f"{stack} ")]
    assert f"{stack} api" in documents
    for name in documents:
        assert results[name] == "", f"{name}: {results[name]}"


def test_cloud_init_schema_rejects_a_broken_document():
    """The check above can fail: a wrong type is caught."""
    assert "runcmd" in schema_results()["broken"]


def test_first_boot_only_users_the_host_key_sshd_and_ufw(user_data):
    """Docker, nginx and the app's contract come later, over SSH (test_host_setup.py)."""
    _, document, _ = user_data
    config = yaml.safe_load(document)
    assert set(config) == {
        "package_update", "package_upgrade", "packages", "disable_root", "ssh_pwauth",
        "ssh_deletekeys", "ssh_genkeytypes", "ssh_keys", "users", "write_files", "runcmd",
        "final_message",
    }  # fmt: skip
    assert [f["path"] for f in config["write_files"]] == ["/etc/ssh/sshd_config.d/60-matra.conf"]
    assert set(config["packages"]) == {
        "ca-certificates",
        "curl",
        "ufw",
        "unattended-upgrades",
        "gnupg",
    }
    for later in ("docker", "nginx", "/opt/matra"):
        assert later not in document, later


def test_admin_and_deploy_users_and_ssh_hardening(user_data):
    _, document, run = user_data
    config = yaml.safe_load(document)
    ops, deploy = config["users"]
    assert ops["name"] == "ops" and ops["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert ops["ssh_authorized_keys"] == [run.outputs["automationSshPublicKey"].value]
    # The deploy user has no key of its own here: HostSetup gives it one, runnable only
    # through the deploy entry point.
    assert deploy["name"] == "deploy" and "sudo" not in deploy
    assert "ssh_authorized_keys" not in deploy
    assert ops["lock_passwd"] is True and deploy["lock_passwd"] is True
    assert config["disable_root"] is True and config["ssh_pwauth"] is False
    sshd = {f["path"]: f for f in config["write_files"]}["/etc/ssh/sshd_config.d/60-matra.conf"]
    assert "PermitRootLogin no" in sshd["content"]
    assert "PasswordAuthentication no" in sshd["content"]
    assert "AllowUsers ops deploy" in sshd["content"]


def test_ufw_allows_ssh_http_https_only(user_data):
    _, document, _ = user_data
    commands = [" ".join(c) for c in yaml.safe_load(document)["runcmd"] if c[0] == "ufw"]
    assert commands == [
        "ufw default deny incoming",
        "ufw default allow outgoing",
        "ufw allow OpenSSH",
        "ufw allow 80/tcp",
        "ufw allow 443/tcp",
        "ufw --force enable",
    ]


def test_no_secret_material_in_user_data_but_the_droplets_own_host_key(user_data):
    _, _, run = user_data
    for droplet in run.api_droplets():
        assert is_secret_input(droplet.inputs["userData"]), "user data holds a private key"
        document = plain(droplet.inputs["userData"])
        assert document.count("PRIVATE KEY-----") == 2  # one key: BEGIN and END
        config = yaml.safe_load(document)
        assert config["ssh_keys"]["ed25519_private"] == mock_private_key(f"{droplet.name}-host-key")
        for name in GENERATED_KEYS:
            assert mock_private_key(name).splitlines()[1] not in document


def test_the_host_key_is_installed_alone_and_the_images_keys_deleted(user_data):
    _, _, run = user_data
    for droplet in run.api_droplets():
        config = yaml.safe_load(plain(droplet.inputs["userData"]))
        assert config["ssh_deletekeys"] is True and config["ssh_genkeytypes"] == ["ed25519"]
        assert set(config["ssh_keys"]) == {"ed25519_private", "ed25519_public"}
        assert config["ssh_keys"]["ed25519_public"].startswith("ssh-ed25519 AAAA")
