#!/bin/sh
# /usr/local/bin/docker-compose (host/docker-compose.sh in matra-infra): the old command
# name, so the seed's `docker-compose pull && docker-compose up -d` in /opt/matra keeps
# working. There it acts on the release that serves now (its slot's project, port and
# image, from /opt/matra/current.env), and a command that changes something first waits
# for any deploy on the host (its lock), up to MATRA_LOCK_WAIT seconds: it never mixes
# with a deploy in flight. Anywhere else, or with MATRA_RELEASE set, it is plain
# `docker compose`.
set -eu
record=/opt/matra/current.env
if [ "$(pwd -P)" != /opt/matra ] || [ -n "${MATRA_RELEASE:-}" ] || [ ! -s "$record" ]; then
    exec docker compose "$@"
fi

# The subcommand: the first word that is not an option. Reading ones take no lock.
command=""
for word in "$@"; do
    case $word in
        -*) ;;
        *) command=$word; break ;;
    esac
done
case $command in
    config | events | images | logs | ls | port | ps | top | version | "") ;;
    *)
        # shellcheck source=/dev/null
        . /etc/matra/deploy.env
        lock=/var/lib/matra-deploy/deploy.lock
        exec 9<"$lock"
        if ! flock -n 9; then
            echo "docker-compose: waiting for the deploy in progress on this host (up to ${MATRA_LOCK_WAIT}s; sudo matra-deploy status says what it is)" >&2
            if ! flock -w "$MATRA_LOCK_WAIT" 9; then
                echo "docker-compose: the host stayed busy for over ${MATRA_LOCK_WAIT}s; nothing done" >&2
                exit 75
            fi
        fi
        ;;
esac
# Read under the lock: what serves now.
# shellcheck source=/dev/null
. "$record"
DOCKER_CONFIG=/etc/matra/docker
export DOCKER_CONFIG
exec docker compose --env-file "$record" --project-name "matra-$MATRA_SLOT" "$@"
