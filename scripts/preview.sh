#!/usr/bin/env bash
# `make preview STACK=<stack>`: pulumi preview of one stack with the policy pack and the
# stack's policy config, on a local file backend. Sets up what it needs: the virtualenv,
# and a Pulumi CLI of the pinned SDK's version when none is on PATH.
#
# The CLI rewrites Pulumi.<stack>.yaml when it creates or previews a stack on this
# backend (it adds the local passphrase's encryptionsalt and re-quotes values). The
# committed file is put back afterwards, so a local preview leaves the checkout clean.
set -euo pipefail

stack=${1:?usage: scripts/preview.sh STACK}
cd "$(dirname "$0")/.."

# 1. The stack name, before anything slow.
# shellcheck source=scripts/pulumi-cli.sh
. scripts/pulumi-cli.sh
config=$(stack_file "make preview" "$stack")

# 2. The virtualenv the program (and the policy pack) run in.
make --silent --no-print-directory venv

# 3. A Pulumi CLI of the version the pinned SDK belongs to.
use_pulumi_cli "make preview"

# 4. The preview, on a file backend inside the checkout: the user's own login is never
# touched. The passphrase only protects this local preview state.
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-matra-local-preview}
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
