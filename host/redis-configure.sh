#!/bin/sh
# The cache droplet's redis-server (host/redis-configure.sh in matra-infra; redisMode
# droplet): bind it to the VPC address, set the password read from stdin, start it. The
# password never appears on a command line or in user data. Idempotent: a second run
# leaves the same state.
#
# Parameter, in the environment: MATRA_PRIVATE_IP (the droplet's VPC address).
set -eu
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$(dirname "$0")/functions.sh"

private_ip=${MATRA_PRIVATE_IP:?is not set}
conf=/etc/redis/matra.conf

# First boot installs redis-server; wait for it.
wait_for_first_boot

password=""
IFS= read -r password || true
if [ -z "$password" ]; then
    echo "redis-configure: expected the password on stdin" >&2
    exit 1
fi

{
    echo "# Managed by matra-infra (Pulumi): rewritten by every configure run."
    echo "bind $private_ip 127.0.0.1"
    echo "protected-mode yes"
    echo "port 6379"
    printf 'requirepass "%s"\n' "$password"
} | put_file "$conf" 0640 redis
# redis.conf is readable by redis alone (640 redis:redis): look with sudo, or the line
# would be appended again on every run.
if ! sudo grep -qxF "include $conf" /etc/redis/redis.conf; then
    echo "include $conf" | sudo tee -a /etc/redis/redis.conf >/dev/null
fi
sudo systemctl enable redis-server >/dev/null 2>&1
sudo systemctl restart redis-server
