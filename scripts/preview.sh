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
config=Pulumi.$stack.yaml
if [[ ! -f $config ]]; then
    stacks=()
    for file in Pulumi.*.yaml; do stacks+=("${file#Pulumi.}"); done
    echo "make preview: no stack $stack (no $config); the stacks are: ${stacks[*]%.yaml}" >&2
    exit 1
fi

# 2. The virtualenv the program (and the policy pack) run in.
make --silent --no-print-directory venv

# 3. A Pulumi CLI of the version the pinned SDK belongs to (they are released together).
want=$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' requirements.txt)
# Pulumi's documented installer; PULUMI_INSTALLER_URL may name a mirror of it.
installer_url=${PULUMI_INSTALLER_URL:-https://get.pulumi.com}
cli_root=${XDG_CACHE_HOME:-$HOME/.cache}/matra-infra/pulumi-$want
if command -v pulumi >/dev/null 2>&1; then
    have=$(pulumi version 2>/dev/null || true)
    if [[ ${have#v} != "$want" ]]; then
        echo "make preview: using the pulumi CLI on PATH (${have:-unknown version}); this project pins $want (requirements.txt)" >&2
    fi
elif [[ -x $cli_root/bin/pulumi ]]; then
    PATH=$cli_root/bin:$PATH
else
    echo "make preview: installing the Pulumi CLI $want into $cli_root with Pulumi's installer ($installer_url)"
    installer=$(mktemp)
    log=$(mktemp)
    trap 'rm -f "$installer" "$log"' EXIT
    if ! curl -fsSL --connect-timeout 10 --max-time 120 "$installer_url" -o "$installer" 2>"$log" \
        || ! sh "$installer" --version "$want" --install-root "$cli_root" --no-edit-path --silent >>"$log" 2>&1 \
        || [[ ! -x $cli_root/bin/pulumi ]]; then
        reason=$(grep -v '^\s*$' "$log" | tail -n 1)
        echo "make preview: could not install the Pulumi CLI $want (${reason:-no pulumi binary after the installer ran}); install it by hand (curl -fsSL https://get.pulumi.com | sh -s -- --version $want) and run make preview again" >&2
        exit 1
    fi
    rm -f "$installer" "$log"
    trap - EXIT
    PATH=$cli_root/bin:$PATH
fi
export PULUMI_SKIP_UPDATE_CHECK=true

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
