#!/usr/bin/env bash
# Build the Go tools the tests use (tests/tools.env names them and their versions) into
# ${XDG_CACHE_HOME:-$HOME/.cache}/matra-infra/<name>-<version>/, outside the checkout. A
# tool already built there is kept. Needs Go and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=tests/tools.env
. tests/tools.env
cache=${XDG_CACHE_HOME:-$HOME/.cache}/matra-infra

if ! command -v go >/dev/null 2>&1; then
    echo "make test-tools: no go on PATH; the tests need tools built from the Go module proxy (https://go.dev/dl/)" >&2
    exit 1
fi

# built NAME VERSION: whether <cache>/NAME-VERSION is complete.
built() { [[ -e $cache/$1-$2/.complete ]]; }

# Pebble (Let's Encrypt's test ACME server) and its DNS stand-in; the real-host test
# obtains a certificate from it. Its test certificates come from the module source.
if ! built pebble "$PEBBLE_VERSION"; then
    dir=$cache/pebble-$PEBBLE_VERSION
    echo "make test-tools: building Pebble $PEBBLE_VERSION into $dir"
    GOBIN=$dir/bin GOFLAGS=-mod=mod go install \
        "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
        "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION"
    rm -rf "$dir/certs"
    cp -R "$(go env GOMODCACHE)/github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION/test/certs" "$dir/certs"
    chmod -R u+w "$dir/certs"
    touch "$dir/.complete"
fi

# The docker compose CLI plugin: `go install` refuses the module (its go.mod has exclude
# directives), so its source is downloaded and built as the main module, as compose's
# own Makefile does.
if ! built compose "$COMPOSE_VERSION"; then
    dir=$cache/compose-$COMPOSE_VERSION
    module=github.com/docker/compose/${COMPOSE_VERSION%%.*}
    echo "make test-tools: building docker compose $COMPOSE_VERSION into $dir (a few minutes)"
    src=$(cd /tmp && go mod download -json "$module@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    work=$(mktemp -d)
    cp -R "$src/." "$work/"
    chmod -R u+w "$work"
    mkdir -p "$dir/bin"
    (cd "$work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
        -ldflags "-w -s -X $module/internal.Version=$COMPOSE_VERSION" \
        -o "$dir/bin/docker-compose" ./cmd)
    rm -rf "$work"
    touch "$dir/.complete"
fi

# busybox-static, unpacked from Debian's package (installing it would remove busybox).
if ! built busybox "$BUSYBOX_VERSION"; then
    dir=$cache/busybox-$BUSYBOX_VERSION
    echo "make test-tools: fetching Debian's busybox-static into $dir"
    work=$(mktemp -d)
    (cd "$work" && apt-get download busybox-static >/dev/null 2>&1) || {
        echo "make test-tools: apt-get download busybox-static failed; run apt-get update (as root) and try again" >&2
        rm -rf "$work"
        exit 1
    }
    mkdir -p "$dir/bin"
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
    cp "$work/x/bin/busybox" "$dir/bin/busybox"
    rm -rf "$work"
    touch "$dir/.complete"
fi

# actionlint: checks every workflow (tests/test_actionlint.py), with the shellcheck on
# PATH over every run: block.
if ! built actionlint "$ACTIONLINT_VERSION"; then
    dir=$cache/actionlint-$ACTIONLINT_VERSION
    echo "make test-tools: building actionlint $ACTIONLINT_VERSION into $dir"
    GOBIN=$dir/bin GOFLAGS=-mod=mod go install \
        "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
    touch "$dir/.complete"
fi
