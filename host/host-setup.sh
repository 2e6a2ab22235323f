#!/bin/sh
# HostSetup (host/host-setup.sh in matra-infra): everything an API host runs besides its
# first boot, over SSH and re-runnable, so a change here replaces no droplet: Docker and
# the compose plugin, nginx in front of the app's two slots, the host contract in
# /opt/matra (docker-compose.yml, the release record), the deploy entry point, and the
# deploy user locked down to it. No secret in here: the registry credentials and the
# app's .env arrive afterwards, on stdin.
#
# Parameters, in the environment: MATRA_ADMIN_USER, MATRA_DEPLOY_USER and
# MATRA_DEPLOY_KEY (the deploy user's one public key). Beside this script, the files it
# installs: matra_deploy.py, matra-deploy-gate.sh, docker-compose.sh, install-docker.sh
# (host/), docker.py (matra_data/: the release grammar the deploy entry point shares with
# the deploy command), and deploy.env, docker-compose.yml and nginx-site.conf, made from the stack's
# settings (matra/hostsetup.py).
set -eu
here=$(dirname "$0")
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$here/functions.sh"

admin_user=${MATRA_ADMIN_USER:?is not set}
deploy_user=${MATRA_DEPLOY_USER:?is not set}
deploy_key=${MATRA_DEPLOY_KEY:?is not set}
# MATRA_LOCK_WAIT: how long this waits for a deploy in flight, the deploy's own wait.
# shellcheck source=/dev/null
. "$here/deploy.env"
lock_wait=$MATRA_LOCK_WAIT

wait_for_first_boot

# Docker CE and the compose plugin, from Docker's apt repository (its key pinned by
# fingerprint), once.
if ! command -v docker >/dev/null 2>&1; then
    sh "$here/install-docker.sh"
fi
sudo systemctl enable --now docker >/dev/null 2>&1 || true
if ! sudo sh -c 'command -v nginx' >/dev/null 2>&1; then
    apt_get install -y nginx
fi

# Operators run docker by hand (they are root through sudo anyway); the deploy user
# never does: its key reaches only the deploy entry point.
sudo usermod --append --groups docker "$admin_user"
if id -nG "$deploy_user" | tr ' ' '\n' | grep -qx docker; then
    sudo gpasswd --delete "$deploy_user" docker >/dev/null
fi

# /etc/matra holds deploy.env (public: the gate and the shim read it) and, for root and
# the docker group only, the registry's credentials.
lib=/usr/local/lib/matra-deploy
sudo install -d -m 0755 -o root -g root /opt/matra /etc/ssh/authorized_keys /var/www/letsencrypt \
    /var/lib/matra-deploy /etc/nginx/matra /etc/matra "$lib" "$lib/matra_data"
sudo install -d -m 0750 -o root -g docker /etc/matra/docker

# One change at a time on this host: what follows waits for a deploy in flight (and for
# one of the entry point before this one), up to lock_wait seconds. The lock is a plain
# file anyone may read: holding it needs no write access (flock).
lock=/var/lib/matra-deploy/deploy.lock
sudo touch "$lock"
sudo chmod 0644 "$lock"
exec 9<"$lock"
if ! flock -n 9; then
    echo "host-setup: waiting for the deploy in progress on this host (up to ${lock_wait}s)"
    if ! flock -w "$lock_wait" 9; then
        echo "host-setup: a deploy held this host for over ${lock_wait}s; nothing changed, run pulumi up again" >&2
        exit 1
    fi
fi
if [ -e /run/matra-deploy.lock ]; then
    exec 8</run/matra-deploy.lock
    flock -w "$lock_wait" 8
fi

put_file /etc/matra/deploy.env 0644 root <"$here/deploy.env"
# The deploy entry point and the package it imports, in a directory of their own; the
# command's name links there (Python looks for imports beside the link's target). The
# link is made aside and renamed over the name: a deploy that starts meanwhile finds one.
put_file "$lib/matra_deploy.py" 0755 root <"$here/matra_deploy.py"
put_file "$lib/matra_data/docker.py" 0644 root <"$here/docker.py"
printf '"""matra-infra matra_data/, what matra-deploy shares with the deploy command."""\n' \
    | put_file "$lib/matra_data/__init__.py" 0644 root
link=$(sudo mktemp -u /usr/local/sbin/.matra.XXXXXX)
sudo ln -s "$lib/matra_deploy.py" "$link"
sudo mv -Tf "$link" /usr/local/sbin/matra-deploy
put_file /usr/local/sbin/matra-deploy-gate 0755 root <"$here/matra-deploy-gate.sh"
put_file /usr/local/bin/docker-compose 0755 root <"$here/docker-compose.sh"
put_file /opt/matra/docker-compose.yml 0644 root <"$here/docker-compose.yml"
printf '# Interpolation variables for docker-compose.yml come from matra-deploy.\n' \
    | put_file /opt/matra/compose.env 0644 root

# The deploy user: one key, in a file it can't edit, and one command (sshd ForceCommand).
printf '%s\n' "$deploy_key" | put_file "/etc/ssh/authorized_keys/$deploy_user" 0644 root
sudoers=$(sudo mktemp)
printf '%s ALL=(root) NOPASSWD: /usr/local/sbin/matra-deploy\n' "$deploy_user" | sudo tee "$sudoers" >/dev/null
sudo visudo -c -q -f "$sudoers"
sudo rm -f "$sudoers"
printf '%s ALL=(root) NOPASSWD: /usr/local/sbin/matra-deploy\n' "$deploy_user" \
    | put_file /etc/sudoers.d/matra-deploy 0440 root
put_file /etc/ssh/sshd_config.d/61-matra-deploy.conf 0644 root <<SSHD
# Managed by matra-infra (HostSetup): the deploy key runs matra-deploy-gate and nothing else.
# sshd closes a deploy's session whose client stops answering its keepalives; the run
# itself ends sooner, when the deploy command's heartbeat stops (host/matra_deploy.py).
Match User $deploy_user
    AuthorizedKeysFile /etc/ssh/authorized_keys/%u
    ForceCommand /usr/local/sbin/matra-deploy-gate
    ClientAliveInterval 5
    ClientAliveCountMax 3
    PermitTTY no
    AllowTcpForwarding no
    AllowStreamLocalForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
Match all
SSHD
if [ -n "$put_file_changed" ]; then
    sudo sshd -t
    sudo systemctl try-reload-or-restart ssh.service
fi

# nginx in front of the app: port 80 for the load balancer's traffic and health check
# (and ACME HTTP-01 on a lone droplet), proxied to the slot /etc/nginx/matra/upstream.conf
# names. The entry point writes that file, and alone reads it: here it only makes sure
# there is one (a host set up before keeps the slot it serves; this lock is held).
sudo /usr/local/sbin/matra-deploy upstream
put_file /etc/nginx/sites-available/matra 0644 root <"$here/nginx-site.conf"
sudo ln -sfn /etc/nginx/sites-available/matra /etc/nginx/sites-enabled/matra
sudo rm -f /etc/nginx/sites-enabled/default
sudo nginx -t -q
sudo systemctl reload-or-restart nginx
sudo rm -f /etc/nginx/matra-upstream.conf

# The lock goes before the entry point takes it: a release that runs with another compose
# file or .env than these starts again with them, beside itself (health-gated, watched).
exec 9<&- 8<&-
sudo /usr/local/sbin/matra-deploy refresh

echo "host-setup: done"
