#!/bin/sh
# CertbotRemoval (host/certbot-remove.sh in matra-infra): on a droplet behind the load
# balancer (which holds the certificate), take away what an earlier per-droplet certbot
# setup left: the DigitalOcean DNS token, the certificates and their renewal, the TLS
# site, certbot itself. On a droplet that never had them, nothing changes. Re-runnable.
# No parameters.
set -eu
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$(dirname "$0")/functions.sh"

wait_for_first_boot

removed=""
if sudo test -e /etc/letsencrypt/digitalocean.ini; then
    # The token's only copy on this host; revoke the token itself in DigitalOcean.
    sudo shred -u /etc/letsencrypt/digitalocean.ini
    removed="$removed dns-token"
fi
if sudo test -e /etc/nginx/sites-enabled/matra-tls || sudo test -e /etc/nginx/sites-available/matra-tls; then
    sudo rm -f /etc/nginx/sites-enabled/matra-tls /etc/nginx/sites-available/matra-tls
    if sudo sh -c 'command -v nginx' >/dev/null 2>&1; then
        sudo nginx -t
        sudo systemctl try-reload-or-restart nginx
    fi
    removed="$removed tls-site"
fi
if sudo test -d /etc/letsencrypt; then
    # Certificates, keys, renewal configs and hooks: nothing left for a timer to renew.
    sudo rm -rf /etc/letsencrypt
    removed="$removed certificates"
fi
installed=""
for package in certbot python3-certbot-dns-digitalocean; do
    if is_installed "$package"; then
        installed="$installed $package"
    fi
done
if [ -n "$installed" ]; then
    sudo systemctl disable --now certbot.timer >/dev/null 2>&1 || true
    # Word splitting of $installed is intended: one argument per package.
    # shellcheck disable=SC2086
    apt_get purge -y $installed
    removed="$removed certbot"
fi
echo "certbot-remove: removed:${removed:- nothing}"
