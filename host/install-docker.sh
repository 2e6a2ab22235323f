#!/bin/sh
# Docker CE and the compose plugin (host/install-docker.sh in matra-infra), from Docker's
# apt repository, as Docker documents it, with Docker's release key fetched over HTTPS and
# checked against its published fingerprint before apt trusts it. (A keyserver fetch
# would need port 11371, which the hosts' firewall rightly closes.) Host setup
# (host/host-setup.sh) runs it, over SSH, on a host without Docker. No parameters.
set -eu
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$(dirname "$0")/functions.sh"

fingerprint=9DC858229FC7DD38854AE2D88D81803C0EBFCD88
keyring=/etc/apt/keyrings/docker.asc

sudo install -m 0755 -d /etc/apt/keyrings
key=$(mktemp)
if ! curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg -o "$key"; then
    rm -f "$key"
    echo "install-docker: can't fetch Docker's release key from download.docker.com" >&2
    exit 1
fi
if ! gpg --show-keys --with-colons "$key" 2>/dev/null | grep -q "^fpr:*$fingerprint:"; then
    rm -f "$key"
    echo "install-docker: the key served is not Docker's ($fingerprint)" >&2
    exit 1
fi
sudo install -m 0644 "$key" "$keyring"
rm -f "$key"

codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] https://download.docker.com/linux/ubuntu $codename stable" \
    | put_file /etc/apt/sources.list.d/docker.list 0644 root
apt_get update
apt_get install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
