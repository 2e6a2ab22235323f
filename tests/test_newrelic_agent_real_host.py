"""The New Relic agent script on a real test host, over real SSH, against a stand-in for
New Relic's download site that the test runs on this machine's side of the host's link:
HTTPS with a certificate from the test's own CA, a signing key of the test's own, and an
apt repository signed with it that holds a `newrelic-infra` package built here.

The script is the one the program renders, with that site and that key's fingerprint in
place of New Relic's: a key with another fingerprint is refused before apt trusts it; the
right one installs the agent from the signed repository with the license key in a file
only root reads (it arrives on stdin); without a key, the agent goes."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from matra.observability import new_relic_script
from testca import issue, make_ca
from testhost import NamespaceHost

pytestmark = pytest.mark.host

SITE = "downloads.newrelic.test"
LICENSE = "eu01xx0123456789abcdef0123456789abcdNRAL"
CONFIG = "/etc/newrelic-infra.yml"
KEYRING = "/etc/apt/keyrings/newrelic-infra.asc"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        list(args), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{args[0]}: {result.stderr}"
    return result.stdout


def signed_repository(work: Path) -> tuple[Path, str]:
    """New Relic's download layout with a package of our own in a repository signed by a
    key of our own: (the site's root, the key's fingerprint). gpg's agent, which signing
    starts, is stopped again."""
    gnupg = {"GNUPGHOME": str(work / "gnupg")}
    (work / "gnupg").mkdir(mode=0o700)
    try:
        return _signed_repository(work, gnupg)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **gnupg}, check=False)


def _signed_repository(work: Path, gnupg: dict[str, str]) -> tuple[Path, str]:
    run(
        "gpg", "--batch", "--passphrase", "", "--quick-gen-key",
        "matra test repository <repository@matra.test>", "ed25519", "sign", "never",
        cwd=work, env=gnupg,
    )  # fmt: skip
    listing = run("gpg", "--with-colons", "--list-keys", cwd=work, env=gnupg)
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line[:4] == "fpr:")
    site = work / "site" / "infrastructure_agent"
    (site / "gpg").mkdir(parents=True)
    armored = run("gpg", "--armor", "--export", fingerprint, cwd=work, env=gnupg)
    (site / "gpg" / "newrelic-infra.gpg").write_text(armored)

    package = work / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "usr" / "bin").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: newrelic-infra\nVersion: 1.0.0-test\nArchitecture: all\n"
        "Maintainer: matra test <repository@matra.test>\n"
        "Description: stand-in for New Relic's infrastructure agent\n"
    )
    agent = package / "usr" / "bin" / "newrelic-infra"
    agent.write_text("#!/bin/sh\necho stand-in agent\n")
    agent.chmod(0o755)
    codename = run("sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME", cwd=work).strip()
    arch = run("dpkg", "--print-architecture", cwd=work).strip()
    repo = site / "linux" / "apt"
    (repo / "pool" / "main").mkdir(parents=True)
    run(
        "dpkg-deb", "--root-owner-group", "--build", str(package),
        str(repo / "pool" / "main" / "newrelic-infra_1.0.0-test_all.deb"), cwd=work,
    )  # fmt: skip
    dist = repo / "dists" / codename
    (dist / "main" / f"binary-{arch}").mkdir(parents=True)
    packages = run("apt-ftparchive", "packages", "pool", cwd=repo)
    (dist / "main" / f"binary-{arch}" / "Packages").write_text(packages)
    release = run(
        "apt-ftparchive",
        "-o", f"APT::FTPArchive::Release::Codename={codename}",
        "-o", f"APT::FTPArchive::Release::Suite={codename}",
        "-o", "APT::FTPArchive::Release::Components=main",
        "-o", f"APT::FTPArchive::Release::Architectures={arch}",
        "release", ".",
        cwd=dist,
    )  # fmt: skip
    (dist / "Release").write_text(release)
    run("gpg", "--batch", "--yes", "--clearsign", "-o", "InRelease", "Release", cwd=dist, env=gnupg)
    return work / "site", fingerprint


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    needed = ("gpg", "apt-ftparchive", "dpkg-deb", "openssl")
    missing = [tool for tool in needed if not shutil.which(tool)]
    missing += NamespaceHost.missing_tools()
    assert not missing, f"missing {missing}: .ci/run installs them (scripts/test-deps.sh)"
    assert os.geteuid() == 0, "the test host needs root (network and mount namespaces)"
    work = tmp_path_factory.mktemp("newrelic")
    ca = make_ca(work)
    certificate, key = issue(work, "site", SITE)
    root, fingerprint = signed_repository(work)
    host = NamespaceHost(extra_ca=ca)
    server = None
    try:
        host.start()
        handler = functools.partial(QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer((host.gateway, 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        hosts_line = f"{host.gateway} {SITE}"
        assert host.ssh(f"echo '{hosts_line}' | sudo tee -a /etc/hosts").returncode == 0
        downloads = f"https://{SITE}:{server.server_address[1]}/infrastructure_agent"
        yield host, downloads, fingerprint
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        host.stop()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def agent(host, downloads, fingerprint, *, enabled=True, license_key=LICENSE):
    script = new_relic_script(enabled=enabled, downloads=downloads, fingerprint=fingerprint)
    assert license_key not in script
    stdin = f"license_key: {license_key}\n" if enabled else ""
    return host.ssh(script, stdin, timeout=300)


def installed(host) -> bool:
    status = host.ssh("dpkg-query -W -f='${Status}' newrelic-infra")
    return "ok installed" in status.stdout


def test_a_signing_key_with_another_fingerprint_is_refused_before_apt_trusts_it(rig):
    host, downloads, _ = rig
    other = "0123456789ABCDEF0123456789ABCDEF01234567"
    result = agent(host, downloads, other)
    assert result.returncode == 1
    assert f"is not New Relic's ({other})" in result.stderr
    assert not installed(host)
    for path in (KEYRING, "/etc/apt/sources.list.d/newrelic-infra.list"):
        assert host.ssh(f"sudo test -e {path}").returncode != 0


def test_the_agent_installs_from_the_signed_repository_the_key_in_a_root_only_file(rig):
    host, downloads, fingerprint = rig
    first = agent(host, downloads, fingerprint)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().splitlines()[-1] == "newrelic-agent: installed"
    assert installed(host)
    assert host.stat(CONFIG) == "600 root root"
    assert host.read(CONFIG) == f"license_key: {LICENSE}\n"
    assert host.ssh(f"cat {CONFIG}").returncode != 0  # not for the ops user without sudo
    assert host.stat(KEYRING) == "644 root root"
    source = host.read("/etc/apt/sources.list.d/newrelic-infra.list")
    assert "signed-by=/etc/apt/keyrings/newrelic-infra.asc" in source and downloads in source
    again = agent(host, downloads, fingerprint)
    assert again.stdout.strip().splitlines()[-1] == "newrelic-agent: unchanged"
    rotated = "eu01xx9999999999abcdef0123456789abcdNRAL"
    changed = agent(host, downloads, fingerprint, license_key=rotated)
    assert changed.stdout.strip().splitlines()[-1] == "newrelic-agent: new license key"
    assert host.read(CONFIG) == f"license_key: {rotated}\n"
    assert host.stat(CONFIG) == "600 root root"


def test_without_a_license_key_the_agent_goes(rig):
    host, downloads, fingerprint = rig
    if not installed(host):
        assert agent(host, downloads, fingerprint).returncode == 0
    removed = agent(host, downloads, fingerprint, enabled=False)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip().splitlines()[-1] == "newrelic-agent: removed (no license key set)"
    assert not installed(host)
    for path in (CONFIG, KEYRING):
        assert host.ssh(f"sudo test -e {path}").returncode != 0
    none = agent(host, downloads, fingerprint, enabled=False)
    assert none.stdout.strip().splitlines()[-1] == "newrelic-agent: none (no license key set)"
