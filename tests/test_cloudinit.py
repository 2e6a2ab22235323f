"""The rendered cloud-init of every shipped stack: valid for `cloud-init schema` and
carrying the original server setup, brought up to date; no secret in it but each
droplet's own SSH host key."""

import shutil
import subprocess

import pytest
import yaml

from components.rendering import render
from harness import GENERATED_KEYS, STACKS, is_secret_input, mock_private_key, plain, run_program


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


def test_cloud_init_schema_accepts_it(user_data, tmp_path):
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "cloud-init is not installed: .ci/run installs Debian's cloud-init"
    stack, document, _ = user_data
    path = tmp_path / f"{stack}.yaml"
    path.write_text(document)
    result = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_cloud_init_schema_rejects_a_broken_document(tmp_path):
    """The check above can fail: a wrong type is caught."""
    path = tmp_path / "broken.yaml"
    path.write_text("#cloud-config\nruncmd: 5\nssh_pwauth: [1]\n")
    result = subprocess.run(
        ["cloud-init", "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


def test_docker_from_dockers_repository_with_a_pinned_key(user_data):
    _, document, _ = user_data
    config = yaml.safe_load(document)
    files = {f["path"]: f for f in config["write_files"]}
    installer = files["/usr/local/sbin/matra-install-docker"]
    assert installer["permissions"] == "0755"
    assert installer["content"] == render("install-docker.sh.j2")
    script = installer["content"]
    assert "curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg" in script
    assert "fingerprint=9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in script
    assert "signed-by=$keyring] https://download.docker.com/linux/ubuntu" in script
    for package in ("docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"):
        assert package in script
    # Docker installs before anything needs its group; apt sources via keyservers (port
    # 11371, closed by the firewall) are not used at all.
    assert config["runcmd"][0] == ["/usr/local/sbin/matra-install-docker"]
    assert "apt" not in config
    for package in ("nginx", "ufw", "gnupg", "curl"):
        assert package in config["packages"]


def test_docker_compose_shim_keeps_the_seed_deploy_working(user_data):
    _, document, _ = user_data
    files = {f["path"]: f for f in yaml.safe_load(document)["write_files"]}
    shim = files["/usr/local/bin/docker-compose"]
    assert shim["permissions"] == "0755"
    assert shim["content"] == '#!/bin/sh\nexec docker compose "$@"\n'


def test_admin_and_deploy_users_and_ssh_hardening(user_data):
    _, document, run = user_data
    config = yaml.safe_load(document)
    ops, deploy = config["users"]
    assert ops["name"] == "ops" and ops["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert ops["ssh_authorized_keys"] == [run.outputs["automationSshPublicKey"].value]
    assert deploy["name"] == "deploy" and "sudo" not in deploy
    assert deploy["ssh_authorized_keys"] == [run.outputs["deploySshPublicKey"].value]
    assert ops["lock_passwd"] is True and deploy["lock_passwd"] is True
    assert config["disable_root"] is True and config["ssh_pwauth"] is False
    sshd = {f["path"]: f for f in config["write_files"]}["/etc/ssh/sshd_config.d/60-matra.conf"]
    assert "PermitRootLogin no" in sshd["content"]
    assert "PasswordAuthentication no" in sshd["content"]
    assert "AllowUsers ops deploy" in sshd["content"]
    commands = [" ".join(map(str, c)) if isinstance(c, list) else c for c in config["runcmd"]]
    assert "usermod --append --groups docker deploy" in commands
    assert "install -d -m 0750 -o deploy -g deploy /opt/matra" in commands


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


def test_nginx_proxies_the_app_and_the_health_path(user_data):
    stack, document, _ = user_data
    files = {f["path"]: f for f in yaml.safe_load(document)["write_files"]}
    site = files["/etc/nginx/sites-available/matra"]["content"]
    assert "listen 80 default_server;" in site
    assert "location = /healthz {\n        proxy_pass http://127.0.0.1:8080;" in site
    assert "location / {\n        proxy_pass http://127.0.0.1:8080;" in site
    hostname = {
        "dev": "api.dev.matra.io",
        "staging": "api.staging.matra.io",
        "prod": "api.matra.io",
    }[stack]
    assert f"server_name {hostname};" in site


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
