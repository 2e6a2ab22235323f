"""TLS settings: how a lone droplet (no load balancer) obtains its certificate. Behind a
load balancer the balancer holds a DigitalOcean-managed Let's Encrypt certificate and no
droplet runs certbot (see loadBalancer and dnsZone)."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import is_email, is_https_url
from .reader import ConfigReader


@dataclass(frozen=True)
class TlsSettings:
    acme_directory_url: str
    """The ACME directory certbot asks (lone droplet only)."""
    email: str
    """The ACME account's e-mail address (expiry notices)."""


def read_tls(r: ConfigReader) -> TlsSettings:
    balancer = (
        "TLS ends at the load balancer with a DigitalOcean-managed Let's Encrypt certificate, "
        "and a lone droplet gets its own with certbot over HTTP-01"
    )
    r.retired("tlsChallenge", balancer)
    r.retired(
        "certbotDnsToken",
        f"{balancer}, so no host holds a DNS token any more (revoke the token in the "
        "DigitalOcean control panel)",
    )
    return TlsSettings(
        acme_directory_url=r.string(
            "acmeDirectoryUrl",
            "the https URL of an ACME directory, such as "
            "https://acme-v02.api.letsencrypt.org/directory",
            is_https_url,
        ),
        email=r.string(
            "acmeEmail", "an e-mail address for the ACME account (expiry notices)", is_email
        ),
    )
