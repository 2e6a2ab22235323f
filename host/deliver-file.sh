#!/bin/sh
# Host delivery (host/deliver-file.sh in matra-infra): write stdin to a file on this host,
# atomically, with its mode, owner and group. The content (registry credentials, the
# app's .env, the ops user's keys) arrives on stdin over SSH: never on a command line,
# never in user data. Idempotent: the same input leaves the same file, and a new input
# replaces it in place (no droplet is replaced); then, if given, a command runs as root
# when the content changed, or every time (the .env's: the app starts again with it if it
# runs with another one, without downtime).
#
# Parameters, in the environment: MATRA_DEST, MATRA_MODE, MATRA_OWNER, MATRA_GROUP (the
# owner's if empty), MATRA_DIR_MODE (for the file's directory if it is missing),
# MATRA_AFTER (a command, or empty) and MATRA_AFTER_WHEN (changed or always).
set -eu
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$(dirname "$0")/functions.sh"

dest=${MATRA_DEST:?is not set}
mode=${MATRA_MODE:?is not set}
owner=${MATRA_OWNER:?is not set}
group=${MATRA_GROUP:-$owner}
dir_mode=${MATRA_DIR_MODE:?is not set}
after=${MATRA_AFTER:-}
after_when=${MATRA_AFTER_WHEN:-changed}

wait_for_first_boot
if ! sudo test -d "$(dirname "$dest")"; then
    sudo install -d -m "$dir_mode" -o "$owner" -g "$group" "$(dirname "$dest")"
fi
put_file "$dest" "$mode" "$owner" "$group"
echo "delivered $dest ($mode, $owner:$group)"
if [ -n "$after" ] && { [ "$after_when" = always ] || [ -n "$put_file_changed" ]; }; then
    sudo sh -c "$after"
fi
