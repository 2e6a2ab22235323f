"""TLS settings: how the API's certificate is obtained."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pulumi

from .reader import ConfigReader

TLS_CHALLENGES = ("http-01", "dns-01")
_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")


@dataclass(frozen=True)
class TlsSettings:
    challenge: str
    """http-01 (a lone droplet) or dns-01 (a fleet behind the load balancer)."""
    acme_directory_url: str
    email: str
    dns_token: pulumi.Output[str] | None
    """DigitalOcean token for DNS-01 (a secret); None where the challenge is http-01. A
    preview without the token (it runs no command) gets an empty secret."""


def read_tls(r: ConfigReader, load_balancer: bool) -> TlsSettings:
    tls = TlsSettings(
        challenge=r.choice("tlsChallenge", TLS_CHALLENGES),
        acme_directory_url=r.string(
            "acmeDirectoryUrl",
            "the https URL of an ACME directory, such as "
            "https://acme-v02.api.letsencrypt.org/directory",
            lambda v: bool(_HTTPS_URL.match(v)),
        ),
        email=r.string(
            "acmeEmail",
            "an e-mail address for the ACME account (expiry notices)",
            lambda v: bool(_EMAIL.match(v)),
        ),
        dns_token=r.secret("certbotDnsToken"),
    )
    challenge = tls.challenge
    dns01 = r.valid("tlsChallenge") and challenge == "dns-01"
    r.check(
        not (challenge == "http-01" and load_balancer),
        "tlsChallenge",
        f"dns-01 when {r.key('loadBalancer')} is true (behind the load balancer the ACME server's "
        "HTTP request lands on a random droplet)",
        given=("loadBalancer",),
    )
    r.check(
        challenge != "dns-01" or r.is_set("dnsZone"),
        "tlsChallenge",
        f"http-01 unless {r.key('dnsZone')} names the DigitalOcean DNS zone that certbot writes "
        "the TXT record to",
    )
    if not dns01:
        return replace(tls, dns_token=None)
    if tls.dns_token is None and not r.errors:
        message = (
            f"{r.key('certbotDnsToken')}: (missing) is not allowed; expected a secret "
            "DigitalOcean token with DNS write scope for the dns-01 challenge (set it with: "
            f"pulumi config set --secret {r.key('certbotDnsToken')} < token-file)"
        )
        if not pulumi.runtime.is_dry_run():
            r.errors.append(message)
        else:
            # A preview registers nothing on the hosts; `pulumi up` refuses without it.
            pulumi.log.warn(message + "; `pulumi up` will refuse to run without it")
            return replace(tls, dns_token=pulumi.Output.secret(""))
    return tls
