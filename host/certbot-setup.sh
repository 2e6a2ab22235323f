#!/bin/sh
# CertbotSetup (host/certbot-setup.sh in matra-infra): the lone droplet's certificate
# (stacks without a load balancer), obtained with certbot over HTTP-01 and served by nginx
# on 443. Re-runnable: a valid certificate is kept (--keep-until-expiring), every file is
# rewritten with the same content, nginx reloads only after `nginx -t` passes. Renewal is
# certbot's own timer; the deploy hook reloads nginx on each new certificate. No secret is
# involved.
#
# Parameters, in the environment: MATRA_HOSTNAME, MATRA_EMAIL, MATRA_ACME_SERVER (the ACME
# directory) and MATRA_ISSUE_CERTIFICATE (true, or false to only write the site); beside
# this script, nginx-tls-site.conf (matra/templates/nginx-tls-site.conf.j2, rendered).
set -eu
here=$(dirname "$0")
# shellcheck source=functions.sh source-path=SCRIPTDIR
. "$here/functions.sh"

hostname=${MATRA_HOSTNAME:?is not set}
email=${MATRA_EMAIL:?is not set}
acme_server=${MATRA_ACME_SERVER:?is not set}
issue_certificate=${MATRA_ISSUE_CERTIFICATE:-true}

# One certificate lineage per hostname: a new hostname gets its own, never an edit of
# the old one (which certbot would only do after an interactive confirmation).
cert_name=$hostname
renewal=/etc/letsencrypt/renewal/$cert_name.conf
webroot=/var/www/letsencrypt
site=/etc/nginx/sites-available/matra-tls
hook=/etc/letsencrypt/renewal-hooks/deploy/matra-reload-nginx

wait_for_first_boot

if ! is_installed certbot; then
    apt_get install -y certbot
fi

sudo install -d -m 0755 /etc/letsencrypt /etc/letsencrypt/renewal-hooks \
    /etc/letsencrypt/renewal-hooks/deploy "$webroot" /etc/nginx/sites-available \
    /etc/nginx/sites-enabled

printf '#!/bin/sh\n# Installed by matra-infra: reload nginx on each new certificate.\nsystemctl reload nginx\n' \
    | put_file "$hook" 0755 root

put_file "$site" 0644 root <"$here/nginx-tls-site.conf"

if [ "$issue_certificate" = true ]; then
    set -- certonly --non-interactive --agree-tos --email "$email" \
        --server "$acme_server" --cert-name "$cert_name" -d "$hostname" \
        --keep-until-expiring --webroot -w "$webroot"
    # A valid certificate is kept, unless another ACME directory issued it (say Let's
    # Encrypt staging, before the stack moved to production): then replace it now.
    if sudo test -f "$renewal" && ! sudo grep -qxF "server = $acme_server" "$renewal"; then
        set -- "$@" --force-renewal --break-my-certs
    fi
    sudo certbot "$@"
    sudo systemctl enable --now certbot.timer
fi

# Serve TLS once a certificate exists.
if sudo test -f "/etc/letsencrypt/live/$cert_name/fullchain.pem"; then
    sudo ln -sfn "$site" /etc/nginx/sites-enabled/matra-tls
    # nginx lives in /usr/sbin, which a non-interactive SSH session may lack on PATH.
    if sudo sh -c 'command -v nginx' >/dev/null 2>&1; then
        sudo nginx -t
        sudo systemctl reload nginx
    fi
fi
echo "certbot-setup: done for $hostname (http-01)"
