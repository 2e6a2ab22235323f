#!/usr/bin/env bash
# `make preview STACK=<stack>`: pulumi preview of one stack on the local file backend,
# with the policy pack and the stack's policy config. Usage: scripts/preview.sh STACK
#
# The CLI rewrites Pulumi.<stack>.yaml when it creates or previews a stack on this
# backend (it adds the local passphrase's encryptionsalt and re-quotes values). The
# committed file is put back afterwards, so a local preview leaves the checkout clean.
set -euo pipefail

stack=${1:?usage: scripts/preview.sh STACK}
cd "$(dirname "$0")/.."

if ! command -v pulumi >/dev/null 2>&1; then
    echo "make preview: no pulumi CLI on PATH; install one (https://www.pulumi.com/docs/install/) and run this again" >&2
    exit 1
fi
config=Pulumi.$stack.yaml
if [[ ! -f $config ]]; then
    stacks=()
    for file in Pulumi.*.yaml; do stacks+=("${file#Pulumi.}"); done
    echo "make preview: no $config; the stacks are: ${stacks[*]%.yaml}" >&2
    exit 1
fi

state=${PULUMI_BACKEND_URL#file://}
mkdir -p "$state"
saved=$(mktemp)
cp "$config" "$saved"
trap 'cp "$saved" "$config"; rm -f "$saved"' EXIT

# A preview that only creates makes no call to Atlas; its provider still wants keys.
export MONGODB_ATLAS_PUBLIC_KEY=${MONGODB_ATLAS_PUBLIC_KEY:-preview-only}
export MONGODB_ATLAS_PRIVATE_KEY=${MONGODB_ATLAS_PRIVATE_KEY:-preview-only}

policy_config=()
if [[ -f policies/config/$stack.json ]]; then
    policy_config=(--policy-pack-config "policies/config/$stack.json")
fi
pulumi stack select --create "$stack" --non-interactive
pulumi preview --stack "$stack" --non-interactive --policy-pack policies "${policy_config[@]}"
