#!/usr/bin/env bash
# The Debian packages the tests drive: validators (cloud-init's schema check, shellcheck)
# and the real parts of the test hosts (sshd, sudo, iproute2 for network namespaces,
# nginx, curl, certbot, redis-server; for the deploy tests Docker's engine, a registry
# with htpasswd for its users, and HAProxy as the load balancer; systemd's journald,
# rsyslog with its TLS driver, gnupg and apt-utils for the log forwarding and New Relic
# agent tests: a signed apt repository of the test's own). Installs what is missing
# when run as root (never starting the packages' own daemons: the tests start theirs
# inside test hosts); otherwise names what is missing and the command that installs it.
set -euo pipefail

packages=(
    cloud-init shellcheck python3-venv
    openssh-server openssh-client sudo iproute2 nginx curl certbot
    python3-certbot-dns-digitalocean redis-server
    docker.io docker-registry haproxy apache2-utils
    systemd rsyslog rsyslog-gnutls gnupg apt-utils
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "make test: missing Debian packages the tests drive: ${missing[*]}; install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "make test: installing the Debian packages the tests drive (validators and the test hosts' real daemons, not started): ${missing[*]}"
# policy-rc.d keeps the packages from starting their daemons on this machine.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
