#!/bin/bash
# /usr/local/sbin/matra-deploy-gate: the deploy user's only command (its sshd
# ForceCommand; host/matra-deploy-gate.sh in matra-infra). It reads what the client asked
# for (SSH_ORIGINAL_COMMAND) and lets through exactly one of
#   deploy REF [WATCH ID] | check REF | rollback | status | result ID
# (REF a release: a tag, or TAG@sha256:<64 hex>; WATCH whole seconds; ID 16 hex digits),
# run as root through matra-deploy (one sudoers rule); anything else is refused. No shell,
# no docker, no files: a leaked deploy key deploys a release that is in the registry, and
# nothing more. Standard input goes through untouched: it is the deploy command's session.
set -euo pipefail

# MATRA_REF_PATTERN (a tag's grammar, the deploy command's) comes from host setup.
# shellcheck source=/dev/null
. /etc/matra/deploy.env
ref="^${MATRA_REF_PATTERN}(@sha256:[0-9a-f]{64})?$"
watch='^[0-9]{1,5}$'
id='^[0-9a-f]{16}$'

refuse() {
    echo "matra-deploy: refused: the deploy key runs only: deploy REF [WATCH ID] | check REF | rollback | status | result ID" >&2
    exit 2
}

# The words of the first line only, split on blanks; nothing is expanded or evaluated.
read -r -a words <<<"${SSH_ORIGINAL_COMMAND:-}" || true
case "${words[0]:-} ${#words[@]}" in
    "deploy 2" | "check 2")
        [[ ${words[1]} =~ $ref ]] || refuse
        exec sudo -n /usr/local/sbin/matra-deploy "${words[0]}" "${words[1]}"
        ;;
    "deploy 4")
        [[ ${words[1]} =~ $ref && ${words[2]} =~ $watch && ${words[3]} =~ $id ]] || refuse
        exec sudo -n /usr/local/sbin/matra-deploy deploy "${words[1]}" "${words[2]}" "${words[3]}"
        ;;
    "result 2")
        [[ ${words[1]} =~ $id ]] || refuse
        exec sudo -n /usr/local/sbin/matra-deploy result "${words[1]}"
        ;;
    "rollback 1" | "status 1")
        exec sudo -n /usr/local/sbin/matra-deploy "${words[0]}"
        ;;
    *) refuse ;;
esac
