# shellcheck shell=bash
# Sourced by scripts/preview.sh and scripts/deploy.sh (from the checkout's root).
#
#   stack_file WHO STACK   prints Pulumi.STACK.yaml; or one line naming the stacks, exit 1
#   use_pulumi_cli WHO     a Pulumi CLI on PATH: the one there (a one-line warning when it
#                          is not the pinned version), else the pinned one from the cache,
#                          else the pinned one installed there by Pulumi's installer
# WHO starts each message ("make preview").

stack_file() {
    local who=$1 stack=$2 file stacks=()
    if [[ ! -f Pulumi.$stack.yaml ]]; then
        for file in Pulumi.*.yaml; do stacks+=("${file#Pulumi.}"); done
        echo "$who: no stack $stack (no Pulumi.$stack.yaml); the stacks are: ${stacks[*]%.yaml}" >&2
        return 1
    fi
    echo "Pulumi.$stack.yaml"
}

use_pulumi_cli() {
    local who=$1 want installer_url cli_root have installer log reason
    # The version the pinned SDK belongs to (they are released together).
    want=$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' requirements.txt)
    # Pulumi's documented installer; PULUMI_INSTALLER_URL may name a mirror of it.
    installer_url=${PULUMI_INSTALLER_URL:-https://get.pulumi.com}
    cli_root=${XDG_CACHE_HOME:-$HOME/.cache}/matra-infra/pulumi-$want
    if command -v pulumi >/dev/null 2>&1; then
        have=$(pulumi version 2>/dev/null || true)
        if [[ ${have#v} != "$want" ]]; then
            echo "$who: using the pulumi CLI on PATH (${have:-unknown version}); this project pins $want (requirements.txt)" >&2
        fi
    elif [[ -x $cli_root/bin/pulumi ]]; then
        PATH=$cli_root/bin:$PATH
    else
        echo "$who: installing the Pulumi CLI $want into $cli_root with Pulumi's installer ($installer_url)"
        installer=$(mktemp)
        log=$(mktemp)
        if ! curl -fsSL --connect-timeout 10 --max-time 120 "$installer_url" -o "$installer" 2>"$log" \
            || ! sh "$installer" --version "$want" --install-root "$cli_root" --no-edit-path --silent >>"$log" 2>&1 \
            || [[ ! -x $cli_root/bin/pulumi ]]; then
            reason=$(grep -v '^\s*$' "$log" | tail -n 1)
            rm -f "$installer" "$log"
            echo "$who: could not install the Pulumi CLI $want (${reason:-no pulumi binary after the installer ran}); install it by hand (curl -fsSL https://get.pulumi.com | sh -s -- --version $want) and run $who again" >&2
            exit 1
        fi
        rm -f "$installer" "$log"
        PATH=$cli_root/bin:$PATH
    fi
    export PATH PULUMI_SKIP_UPDATE_CHECK=true
}
