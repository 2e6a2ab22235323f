#!/bin/sh
# New Relic's infrastructure agent (host/newrelic-agent.sh in matra-infra), over SSH and
# re-runnable. With a license key (it arrives on stdin as the agent's configuration,
# written 0600 root before the agent is installed; never on a command line, never in user
# data), the agent comes from New Relic's apt repository, its signing key fetched over
# HTTPS and checked against the pinned fingerprint before apt trusts it, as Docker's is.
# Without one, nothing of New Relic stays on the host.
#
# Parameters, in the environment: MATRA_NEW_RELIC (yes: install and configure; no:
# remove), MATRA_NEW_RELIC_DOWNLOADS (New Relic's download site) and
# MATRA_NEW_RELIC_FINGERPRINT (its signing key's).
set -eu
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$(dirname "$0")/functions.sh"

enabled=${MATRA_NEW_RELIC:?is not set}
downloads=${MATRA_NEW_RELIC_DOWNLOADS:?is not set}
fingerprint=${MATRA_NEW_RELIC_FINGERPRINT:?is not set}
config=/etc/newrelic-infra.yml
keyring=/etc/apt/keyrings/newrelic-infra.asc
list=/etc/apt/sources.list.d/newrelic-infra.list

wait_for_first_boot

if [ "$enabled" != yes ]; then
    if is_installed newrelic-infra; then
        apt_get purge -y newrelic-infra >/dev/null
        echo "newrelic-agent: removed (no license key set)"
    else
        echo "newrelic-agent: none (no license key set)"
    fi
    sudo rm -f "$config" "$list" "$keyring"
    exit 0
fi

# The license key, from stdin to a file only root reads, before the agent exists.
put_file "$config" 0600 root
config_changed=$put_file_changed

if ! is_installed newrelic-infra; then
    sudo install -m 0755 -d /etc/apt/keyrings
    key=$(mktemp)
    if ! curl -fsSL --retry 5 "$downloads/gpg/newrelic-infra.gpg" -o "$key"; then
        rm -f "$key"
        echo "newrelic-agent: can't fetch New Relic's signing key from $downloads" >&2
        exit 1
    fi
    if ! gpg --show-keys --with-colons "$key" 2>/dev/null | grep -q "^fpr:*$fingerprint:"; then
        rm -f "$key"
        echo "newrelic-agent: the key served at $downloads/gpg/newrelic-infra.gpg is not New Relic's ($fingerprint)" >&2
        exit 1
    fi
    sudo install -m 0644 "$key" "$keyring"
    rm -f "$key"
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
    echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] $downloads/linux/apt $codename main" \
        | put_file "$list" 0644 root
    # This repository's lists alone: the host's own are as fresh as its first boot made them.
    apt_get update -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
        -o APT::Get::List-Cleanup=0 >/dev/null
    apt_get install -y newrelic-infra >/dev/null
    sudo systemctl enable --now newrelic-infra
    echo "newrelic-agent: installed"
elif [ -n "$config_changed" ]; then
    sudo systemctl restart newrelic-infra
    echo "newrelic-agent: new license key"
else
    echo "newrelic-agent: unchanged"
fi
