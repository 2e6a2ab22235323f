#!/bin/sh
# Log forwarding (host/log-forwarding.sh in matra-infra), over SSH and re-runnable: with a
# destination, rsyslog (and its TLS driver) sends the journal, the host's syslog and the
# app's container output alike, to Papertrail over TLS, through a disk-assisted queue, so
# an unreachable Papertrail never holds up a container or journald; without one, an
# earlier forwarding is taken away and the logs stay on the host. Nothing secret in here.
#
# The forwarding configuration, when there is a destination: rsyslog-forwarding.conf
# beside this script (matra/templates/rsyslog-forwarding.conf.j2, rendered); none there,
# no forwarding.
set -eu
here=$(dirname "$0")
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$here/functions.sh"

forwarding=$here/rsyslog-forwarding.conf
conf=/etc/rsyslog.d/60-matra-forwarding.conf

wait_for_first_boot

if [ ! -e "$forwarding" ]; then
    if sudo test -e "$conf"; then
        sudo rm -f "$conf"
        sudo systemctl restart rsyslog
        echo "log-forwarding: stopped; logs stay on this host"
    else
        echo "log-forwarding: none; logs stay on this host"
    fi
    exit 0
fi

missing=""
for package in rsyslog rsyslog-gnutls; do
    if ! is_installed "$package"; then
        missing="$missing $package"
    fi
done
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086 # one word per package
    apt_get install -y $missing
fi

put_file "$conf" 0644 root <"$forwarding"
if [ -z "$put_file_changed" ]; then
    echo "log-forwarding: unchanged"
    exit 0
fi
# A configuration rsyslog refuses is taken away again: the host keeps logging locally.
if ! check=$(sudo rsyslogd -N1 2>&1); then
    sudo rm -f "$conf"
    sudo systemctl restart rsyslog
    echo "log-forwarding: rsyslog refused the forwarding configuration: $(printf '%s\n' "$check" | grep -i error | head -n 1)" >&2
    exit 1
fi
sudo systemctl restart rsyslog
echo "log-forwarding: on"
