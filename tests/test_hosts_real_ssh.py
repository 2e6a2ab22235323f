"""Host delivery and the certbot script, run twice over real SSH against a real test
host (sshd in a network namespace on this machine), asserting the files, modes and
owners they leave; then the whole certificate request against Pebble on the host's
loopback, with nginx serving the certificate."""

import os
import shutil

import pytest

from matra.cache import redis_configure_script
from matra.hosts import certbot_removal_script, certbot_script, delivery_script
from matra.hostsetup import env_file
from matra.rendering import render
from testhost import NamespaceHost, PebbleAcme, wait_for_port

pytestmark = pytest.mark.host

ENV = env_file(
    mongodb_uri="mongodb+srv://matra-api:Pw1@matra-prod.ab1cd.mongodb.net/matra"
    "?retryWrites=true&w=majority",
    redis_url="rediss://default:Pw2@private-cache.db.ondigitalocean.com:25061",
    plain=[("NODE_ENV", "production")],
    secret_lines="SENTRY_DSN=https://k@s.io/1\n",
)
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


def test_host_is_reached_over_ssh_as_the_ops_user(host):
    result = host.ssh("id -un; sudo -n id -un")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ops", "root"]


def test_env_file_delivered_with_mode_and_owner_twice(host):
    script = delivery_script(dest="/opt/matra/.env", mode="0600", owner="deploy", dir_mode="0750")
    run_twice(host, script, ENV)
    assert host.stat("/opt/matra/.env") == "600 deploy deploy"
    assert host.stat("/opt/matra") == "750 deploy deploy"
    assert host.read("/opt/matra/.env") == ENV
    leftovers = host.ssh("sudo find /opt/matra -name '.matra.*'")
    assert leftovers.stdout == ""
    # The deploy job's user reads its .env and cannot become root.
    as_deploy = host.ssh("cat /opt/matra/.env; sudo -n true", user="deploy")
    assert as_deploy.stdout == ENV and as_deploy.returncode != 0


def test_a_changed_env_replaces_the_file_in_place(host):
    script = delivery_script(dest="/opt/matra/.env", mode="0600", owner="deploy", dir_mode="0750")
    changed = ENV + "FEATURE_FLAG=on\n"
    assert host.ssh(script, changed).returncode == 0
    assert host.read("/opt/matra/.env") == changed
    assert host.stat("/opt/matra/.env") == "600 deploy deploy"
    assert host.ssh(script, ENV).returncode == 0


def test_nothing_is_delivered_onto_a_host_whose_first_boot_failed(host):
    script = delivery_script(dest="/opt/matra/never", mode="0600", owner="deploy", dir_mode="0750")
    assert host.ssh("sudo touch /etc/matra-test-first-boot-failed").returncode == 0
    try:
        result = host.ssh(script, "content")
    finally:
        host.ssh("sudo rm -f /etc/matra-test-first-boot-failed")
    assert result.returncode == 1
    assert "first boot (cloud-init) failed on this host" in result.stderr
    assert host.ssh("sudo test -e /opt/matra/never").returncode != 0


def test_registry_credentials_for_the_deploy_users_docker(host):
    script = delivery_script(
        dest="/home/deploy/.docker/config.json", mode="0600", owner="deploy", dir_mode="0700"
    )
    run_twice(host, script, DOCKER_CONFIG)
    assert host.stat("/home/deploy/.docker/config.json") == "600 deploy deploy"
    assert host.stat("/home/deploy/.docker") == "700 deploy deploy"
    assert host.read("/home/deploy/.docker/config.json") == DOCKER_CONFIG


def test_operator_keys_replace_the_ops_users_authorized_keys_and_keep_it_working(host):
    automation = (host.work / "ops.pub").read_text()
    keys = automation + "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator alice@laptop\n"
    script = delivery_script(
        dest="/home/ops/.ssh/authorized_keys", mode="0600", owner="ops", dir_mode="0700"
    )
    run_twice(host, script, keys)
    assert host.stat("/home/ops/.ssh/authorized_keys") == "600 ops ops"
    assert host.read("/home/ops/.ssh/authorized_keys") == keys
    assert host.ssh("true").returncode == 0  # the automation key still logs in


def test_redis_configure_binds_the_private_address_with_the_password_twice(host):
    """The cache droplet's configure step (redisMode droplet), run twice: one include
    line, a redis-only config file, and a server that wants the password."""
    password = "Pw0123456789abcdefghijklmnopqrstuvwxyzAB"
    script = redis_configure_script(host.address)
    run_twice(host, script, password)
    assert host.stat("/etc/redis/matra.conf") == "640 redis redis"
    conf = host.read("/etc/redis/matra.conf")
    assert f"bind {host.address} 127.0.0.1" in conf
    assert f'requirepass "{password}"' in conf
    includes = host.ssh("sudo grep -cxF 'include /etc/redis/matra.conf' /etc/redis/redis.conf")
    assert includes.stdout.strip() == "1"
    wait_for_port(host, 6379)
    ask = ["redis-cli", "-h", host.address, "--no-auth-warning"]
    assert "NOAUTH" in host.netns_exec(*ask, "ping").stdout
    assert host.netns_exec(*ask, "-a", password, "ping").stdout.strip() == "PONG"


def certbot_unissued():
    """The lone droplet's certbot script, short of asking an ACME server."""
    return certbot_script(
        hostname="api.matra.io",
        email="ops@matra.io",
        acme_directory_url="https://acme-staging-v02.api.letsencrypt.org/directory",
        issue_certificate=False,
    )


def test_certbot_setup_lays_down_its_site_and_hook_idempotently_and_needs_no_secret(host):
    paths = (
        "/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx",
        "/etc/nginx/sites-available/matra-tls",
    )
    first = run_twice(host, certbot_unissued(), "")
    assert "certbot-setup: done for api.matra.io (http-01)" in first[0].stdout
    snapshot = host.snapshot(*paths)
    assert host.ssh(certbot_unissued()).returncode == 0
    assert host.snapshot(*paths) == snapshot
    assert host.stat("/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx") == "755 root root"
    assert "systemctl reload nginx" in host.read(
        "/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx"
    )
    site = host.read("/etc/nginx/sites-available/matra-tls")
    assert host.stat("/etc/nginx/sites-available/matra-tls") == "644 root root"
    assert "server_name api.matra.io;" in site
    assert "ssl_certificate /etc/letsencrypt/live/api.matra.io/fullchain.pem;" in site
    assert "proxy_pass http://matra_app;" in site
    assert "proxy_set_header Host $host;" in site
    assert host.stat("/var/www/letsencrypt") == "755 root root"
    # No certificate yet, so the TLS site is not enabled (nginx -t would fail).
    assert host.ssh("test -e /etc/nginx/sites-enabled/matra-tls").returncode != 0
    assert host.ssh("sudo test -e /etc/letsencrypt/digitalocean.ini").returncode != 0


# Behind the load balancer: what an earlier per-droplet DNS-01 setup left (the token, a
# certificate lineage and its renewal, the TLS site, certbot and its DigitalOcean plugin)
# is taken away. A host of its own: its packages are purged (inside the test host's
# overlay of /usr and /var, never on this machine).

LEFTOVERS = r"""set -e
sudo install -d -m 0755 /etc/letsencrypt/live/api.matra.io /etc/letsencrypt/renewal
printf 'dns_digitalocean_token = %s\n' "$(cat)" \
    | sudo tee /etc/letsencrypt/digitalocean.ini >/dev/null
sudo chmod 0600 /etc/letsencrypt/digitalocean.ini
sudo openssl req -x509 -newkey ed25519 -nodes -days 1 -subj /CN=api.matra.io \
    -keyout /etc/letsencrypt/live/api.matra.io/privkey.pem \
    -out /etc/letsencrypt/live/api.matra.io/fullchain.pem 2>/dev/null
echo 'authenticator = dns-digitalocean' \
    | sudo tee /etc/letsencrypt/renewal/api.matra.io.conf >/dev/null
sudo tee /etc/nginx/sites-available/matra-tls >/dev/null <<'SITE'
server {
    listen 127.0.0.1:443 ssl;
    server_name api.matra.io;
    ssl_certificate /etc/letsencrypt/live/api.matra.io/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/api.matra.io/privkey.pem;
    return 200 "tls\n";
}
SITE
sudo ln -sfn /etc/nginx/sites-available/matra-tls /etc/nginx/sites-enabled/matra-tls
sudo rm -f /etc/nginx/sites-enabled/default
sudo nginx -t 2>/dev/null && sudo nginx
"""


@pytest.fixture(scope="module")
def balanced_host():
    test_host = NamespaceHost().start()
    try:
        yield test_host
    finally:
        test_host.stop()


def test_certbot_removal_takes_away_the_token_certificates_site_and_certbot(balanced_host):
    host = balanced_host
    laid = host.ssh(LEFTOVERS, TOKEN)
    assert laid.returncode == 0, laid.stdout + laid.stderr
    wait_for_port(host, 443)
    assert host.read("/etc/letsencrypt/digitalocean.ini") == f"dns_digitalocean_token = {TOKEN}\n"

    script = certbot_removal_script()
    first = host.ssh(script)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[-1] == (
        "certbot-remove: removed: dns-token tls-site certificates certbot"
    )
    for path in (
        "/etc/letsencrypt",
        "/etc/nginx/sites-available/matra-tls",
        "/etc/nginx/sites-enabled/matra-tls",
    ):
        assert host.ssh(f"sudo test -e {path}").returncode != 0, path
    assert host.ssh("sudo grep -rl dop_v1_ /etc /opt /home /var/lib 2>/dev/null").stdout == ""
    for package in ("certbot", "python3-certbot-dns-digitalocean"):
        status = host.ssh(f"dpkg-query -W -f='${{Status}}' {package}").stdout
        assert "ok installed" not in status, (package, status)
    # nginx reloaded without the TLS site: nothing answers on 443 any more, 80 still serves.
    assert host.netns_exec("curl", "-sk", "https://127.0.0.1/").returncode != 0

    again = host.ssh(script)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "certbot-remove: removed: nothing"
    # The purge happened inside the test host's overlay: this machine keeps certbot.
    assert shutil.which("certbot") is not None


# The full certificate request: Pebble (Let's Encrypt's test ACME server) on the test
# host's loopback, nginx serving the cloud-init site, certbot over HTTP-01.


@pytest.fixture(scope="module")
def acme_host():
    acme = PebbleAcme()
    test_host = NamespaceHost(extra_ca=acme.ca).start()
    try:
        acme.start(test_host)
        yield test_host, acme
    finally:
        test_host.stop()


def _host_nginx(host):
    """Lay down nginx as HostSetup does (its site, the upstream on slot a's port), start it,
    and an app on that port (once)."""
    if host.ssh("test -e /etc/nginx/sites-enabled/matra").returncode == 0:
        return
    site = render("nginx-site.conf.j2", server_name="api.matra.io", health_path="/healthz")
    steps = (
        "sudo install -d -m 0755 /var/www/letsencrypt /opt/app /opt/matra /etc/nginx/matra && "
        "sudo tee /etc/nginx/sites-available/matra >/dev/null && "
        "echo 'server 127.0.0.1:8080;' | sudo tee /etc/nginx/matra/upstream.conf >/dev/null && "
        "sudo ln -sf /etc/nginx/sites-available/matra /etc/nginx/sites-enabled/matra && "
        "sudo rm -f /etc/nginx/sites-enabled/default && sudo nginx -t && sudo nginx && "
        "echo ok | sudo tee /opt/app/healthz >/dev/null && "
        "sudo sh -c 'cd /opt/app && nohup python3 -m http.server 8080 --bind 127.0.0.1 "
        ">/dev/null 2>&1 &'"
    )
    result = host.ssh(steps, site)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for_port(host, 8080)


def test_certbot_gets_a_certificate_and_nginx_serves_it(acme_host):
    host, acme = acme_host
    _host_nginx(host)
    plain_http = host.netns_exec("curl", "-sS", "http://127.0.0.1/healthz")
    assert plain_http.stdout == "ok\n", plain_http.stderr

    _request_http01(host, "api.matra.io", acme.directory_url)
    serial = _serial(host, "api.matra.io")

    https = _https_health(host, acme, "api.matra.io")
    assert https.returncode == 0 and https.stdout == "ok\n", https.stderr

    second = _request_http01(host, "api.matra.io", acme.directory_url)
    assert "not yet due for renewal" in second.stdout + second.stderr
    assert _serial(host, "api.matra.io") == serial
    renewal = host.read("/etc/letsencrypt/renewal/api.matra.io.conf")
    assert "server = https://localhost:14000/dir" in renewal
    assert "authenticator = webroot" in renewal
    assert host.stat("/etc/letsencrypt/live/api.matra.io/privkey.pem").endswith("root root")
    assert host.ssh("test -L /etc/nginx/sites-enabled/matra-tls").returncode == 0


def _request_http01(host, hostname, directory_url):
    """Run the certbot script for ``hostname`` (HTTP-01) over SSH; it must succeed."""
    result = host.ssh(
        certbot_script(hostname=hostname, email="ops@matra.io", acme_directory_url=directory_url)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _serial(host, name):
    result = host.ssh(f"sudo openssl x509 -noout -serial -in /etc/letsencrypt/live/{name}/cert.pem")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _https_health(host, acme, name):
    root = host.work / "pebble-root.pem"
    root.write_text(acme.root_certificate(host))
    return host.netns_exec(
        "curl",
        "-sS",
        "--cacert",
        str(root),
        "--resolve",
        f"{name}:443:127.0.0.1",
        f"https://{name}/healthz",
    )


def test_a_new_acme_directory_replaces_the_certificate(acme_host):
    """The stack moving from one ACME directory to another (staging -> production)
    re-runs the command (a trigger) and must not keep the old directory's certificate."""
    host, acme = acme_host
    _host_nginx(host)
    _request_http01(host, "api.matra.io", acme.directory_url)
    before = _serial(host, "api.matra.io")
    # The same Pebble under another directory URL is, to certbot, another ACME server.
    other = acme.directory_url.replace("localhost", "127.0.0.1")
    _request_http01(host, "api.matra.io", other)
    assert _serial(host, "api.matra.io") != before
    assert f"server = {other}" in host.read("/etc/letsencrypt/renewal/api.matra.io.conf")
    assert _https_health(host, acme, "api.matra.io").stdout == "ok\n"


def test_a_new_hostname_gets_its_own_certificate_and_site(acme_host):
    host, acme = acme_host
    _host_nginx(host)
    _request_http01(host, "api2.matra.io", acme.directory_url)
    site = host.read("/etc/nginx/sites-available/matra-tls")
    assert "server_name api2.matra.io;" in site
    assert "/etc/letsencrypt/live/api2.matra.io/fullchain.pem" in site
    https = _https_health(host, acme, "api2.matra.io")
    assert https.returncode == 0 and https.stdout == "ok\n", https.stderr
