# shellcheck shell=sh
# What every host script shares (host/functions.sh in matra-infra): sourced by the scripts
# beside it, never run. Matra-infra delivers it with each script (matra/hostfiles.py).

# Wait until first boot (cloud-init) is done: the users, packages and /opt/matra exist.
# A failed first boot (exit 1) stops here, rather than delivering onto a broken host;
# exit 2 (recoverable: warnings) goes on.
wait_for_first_boot() {
    if command -v cloud-init >/dev/null 2>&1; then
        boot=0
        cloud-init status --wait >/dev/null 2>&1 || boot=$?
        if [ "$boot" -eq 1 ]; then
            echo "first boot (cloud-init) failed on this host: see /var/log/cloud-init-output.log" >&2
            exit 1
        fi
    fi
}

# is_installed PACKAGE: whether dpkg holds PACKAGE installed.
is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# apt_get ARGS...: apt-get as root, never asking, waiting up to 5 minutes for the lock of
# another apt run (unattended-upgrades on a fresh droplet). Every apt-get of the host
# scripts goes through here.
apt_get() {
    sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@"
}

# put_file PATH MODE OWNER [GROUP]: write stdin to PATH atomically; the temporary file has
# its final owner, group and mode before any content lands in it, so nothing is ever
# readable by more than it should be, and an interrupted run leaves the old file in place.
# put_file_changed is then "yes" if the content differs from what PATH held before.
put_file_tmp=""
# shellcheck disable=SC2034 # read by the scripts that care whether a file changed
put_file_changed=""
trap '[ -z "$put_file_tmp" ] || sudo rm -f "$put_file_tmp"' EXIT
put_file() {
    put_file_tmp=$(sudo mktemp "$(dirname "$1")/.matra.XXXXXX")
    sudo chown "$3:${4:-$3}" "$put_file_tmp"
    sudo chmod "$2" "$put_file_tmp"
    sudo tee "$put_file_tmp" >/dev/null
    # shellcheck disable=SC2034 # see above
    if sudo cmp -s "$put_file_tmp" "$1"; then put_file_changed=""; else put_file_changed=yes; fi
    sudo mv -f "$put_file_tmp" "$1"
    put_file_tmp=""
}
