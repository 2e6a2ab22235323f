"""Host delivery and the certbot script's non-ACME parts, run twice over real SSH
against a real test host (sshd in a network namespace on this machine), asserting the
files, modes and owners they leave."""

import os

import pytest

from components.hosts import certbot_script, delivery_script, env_file
from testhost import NamespaceHost

ENV = env_file(mongodb_uri="mongodb+srv://matra-api:Pw1@matra-prod.ab1cd.mongodb.net/matra"
                           "?retryWrites=true&w=majority",
               redis_url="rediss://default:Pw2@private-cache.db.ondigitalocean.com:25061",
               plain=[("NODE_ENV", "production")], secret_lines="SENTRY_DSN=https://k@s.io/1\n")
DOCKER_CONFIG = '{"auths":{"registry.digitalocean.com":{"auth":"dG9rZW46dG9rZW4="}}}'
TOKEN = "dop_v1_0123456789abcdef"


@pytest.fixture(scope="module")
def host():
    missing = NamespaceHost.missing_tools()
    assert not missing, f"missing {missing}: .ci/run installs them with apt-get"
    assert os.geteuid() == 0, "the test host needs root (network and mount namespaces)"
    test_host = NamespaceHost().start()
    try:
        yield test_host
    finally:
        test_host.stop()


def run_twice(host, script, stdin):
    results = [host.ssh(script, stdin) for _ in range(2)]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    return results


def test_host_is_reached_over_ssh_as_the_deploy_user(host):
    result = host.ssh("id -un; sudo -n id -un")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["deploy", "root"]


def test_env_file_delivered_with_mode_and_owner_twice(host):
    script = delivery_script(dest="/opt/matra/.env", mode="0600", owner="deploy",
                             dir_mode="0750")
    run_twice(host, script, ENV)
    assert host.stat("/opt/matra/.env") == "600 deploy deploy"
    assert host.stat("/opt/matra") == "750 deploy deploy"
    assert host.read("/opt/matra/.env") == ENV
    leftovers = host.ssh("sudo find /opt/matra -name '.delivery.*'")
    assert leftovers.stdout == ""


def test_a_changed_env_replaces_the_file_in_place(host):
    script = delivery_script(dest="/opt/matra/.env", mode="0600", owner="deploy",
                             dir_mode="0750")
    changed = ENV + "FEATURE_FLAG=on\n"
    assert host.ssh(script, changed).returncode == 0
    assert host.read("/opt/matra/.env") == changed
    assert host.stat("/opt/matra/.env") == "600 deploy deploy"
    assert host.ssh(script, ENV).returncode == 0


def test_registry_credentials_for_the_deploy_users_docker(host):
    script = delivery_script(dest="/home/deploy/.docker/config.json", mode="0600",
                             owner="deploy", dir_mode="0700")
    run_twice(host, script, DOCKER_CONFIG)
    assert host.stat("/home/deploy/.docker/config.json") == "600 deploy deploy"
    assert host.stat("/home/deploy/.docker") == "700 deploy deploy"
    assert host.read("/home/deploy/.docker/config.json") == DOCKER_CONFIG


def certbot(challenge):
    return certbot_script(hostname="api.matra.io", email="ops@matra.io",
                          acme_directory_url="https://acme-staging-v02.api.letsencrypt.org/"
                                             "directory",
                          challenge=challenge, app_port=8080, issue_certificate=False)


def test_certbot_dns01_token_lands_in_a_root_only_file_idempotently(host):
    paths = ("/etc/letsencrypt/digitalocean.ini",
             "/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx",
             "/etc/nginx/sites-available/matra-tls")
    host.ssh(certbot("dns-01"), TOKEN + "\n")
    first = host.snapshot(*paths)
    result = host.ssh(certbot("dns-01"), TOKEN + "\n")
    assert result.returncode == 0, result.stderr
    assert host.snapshot(*paths) == first
    assert host.stat("/etc/letsencrypt/digitalocean.ini") == "600 root root"
    assert host.read("/etc/letsencrypt/digitalocean.ini") == f"dns_digitalocean_token = {TOKEN}\n"
    assert host.stat("/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx") == \
        "755 root root"
    assert "systemctl reload nginx" in host.read(
        "/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx")
    site = host.read("/etc/nginx/sites-available/matra-tls")
    assert host.stat("/etc/nginx/sites-available/matra-tls") == "644 root root"
    assert "server_name api.matra.io;" in site
    assert "ssl_certificate /etc/letsencrypt/live/matra-api/fullchain.pem;" in site
    assert "proxy_pass http://127.0.0.1:8080;" in site
    assert "proxy_set_header Host $host;" in site
    # No certificate yet, so the TLS site is not enabled (nginx -t would fail).
    assert host.ssh("test -e /etc/nginx/sites-enabled/matra-tls").returncode != 0


def test_certbot_dns01_refuses_to_run_without_the_token(host):
    result = host.ssh(certbot("dns-01"), "")
    assert result.returncode == 1
    assert "expected the DigitalOcean DNS token on stdin" in result.stderr


def test_certbot_http01_needs_no_token(host):
    result = host.ssh(certbot("http-01"), "")
    assert result.returncode == 0, result.stderr
    assert host.stat("/var/www/letsencrypt") == "755 root root"
