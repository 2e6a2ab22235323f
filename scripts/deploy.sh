#!/usr/bin/env bash
# `make deploy STACK=<stack> RELEASE=<tag>` (RELEASE=rollback for a rollback): the deploy
# command fed from the stack's outputs in the backend you are logged in to. The outputs,
# secrets included, stay in this process and go to the command through a pipe: never a
# file, never a command line.
set -euo pipefail

# From make's environment (MATRA_STACK, MATRA_RELEASE) or the arguments.
stack=${1:-${MATRA_STACK:-}}
release=${2:-${MATRA_RELEASE:-}}
[[ -n $stack ]] || { echo "usage: scripts/deploy.sh STACK RELEASE" >&2; exit 2; }
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pulumi-cli.sh
. scripts/pulumi-cli.sh
stack_file "make deploy" "$stack" >/dev/null
if [[ -z $release ]]; then
    echo "make deploy: no RELEASE: give the image tag to deploy (RELEASE=3f9c2ab), or RELEASE=rollback" >&2
    exit 2
fi
if [[ $release == rollback ]]; then
    args=(--rollback)
else
    args=(--release "$release")
fi
make --silent --no-print-directory venv
use_pulumi_cli "make deploy"

if ! outputs=$(pulumi stack output --stack "$stack" --json --show-secrets); then
    echo "make deploy: could not read the outputs of stack $stack (above); log in to its backend (pulumi login) and try again" >&2
    exit 2
fi
printf '%s\n' "$outputs" | venv/bin/python -m deploy --outputs - "${args[@]}"
