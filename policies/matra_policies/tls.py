"""TLS rules: a load balancer's HTTPS listener terminates TLS with a certificate, or
passes it through to droplets that each hold their own; and in a stack with a load
balancer no remote command carries a DigitalOcean token (DigitalOcean can't scope a
token to one record: on a host, it can rewrite every DNS zone of the account)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .common import flag, stack_rule
from .types import DROPLET, LOAD_BALANCER, REMOTE_COMMAND

TLS_PROTOCOLS = ("https", "http2", "http3")
# DigitalOcean's token formats (personal access, OAuth, refresh) and the two ways a host
# script hands one to certbot's DigitalOcean plugin or to doctl.
DIGITALOCEAN_TOKEN = re.compile(
    r"\bdo[opr]_v1_[0-9a-f]{64}\b|dns_digitalocean_token|--dns-digitalocean|DIGITALOCEAN_(ACCESS_)?TOKEN"
)
COMMAND_FIELDS = ("create", "update", "delete", "stdin", "environment")
# A script that obtains a certificate with certbot (not one that merely names certbot, as
# the removal script does).
OBTAINS_CERTIFICATE = re.compile(
    r"\bcertbot\b[\s\S]*?(\bcertonly\b|--nginx\b)|\bcertonly\b[\s\S]*\bcertbot\b"
)


def _known(resource: Any, key: str) -> Any:
    """A property, or None while the engine doesn't know it yet (a preview)."""
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return None


def _texts(value: Any) -> Iterator[str]:
    """Every string inside a property value, maps' keys and lists' items included (the
    policy server hands nested values as Mapping and Sequence proxies); parts the engine
    doesn't know yet are skipped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in value:
            yield str(key)
            try:
                item = value[key]
            except UnknownValueError:
                continue
            yield from _texts(item)
    elif isinstance(value, Sequence):
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                continue
            yield from _texts(item)


def _depends_on(command: Any, resource: Any) -> bool:
    return any(
        dep.urn == resource.urn for deps in command.property_dependencies.values() for dep in deps
    )


def _targets(balancer: Any, droplets: Iterable[Any]) -> list[Any]:
    """The droplets a load balancer sends traffic to: by its tag or by id."""
    tag = _known(balancer, "dropletTag")
    ids = _known(balancer, "dropletIds") or []
    return [
        d
        for d in droplets
        if (tag and tag in (_known(d, "tags") or [])) or (_known(d, "id") in ids)
    ]


@stack_rule("digitalocean-loadbalancer-tls-termination", Severity.HIGH)
def tls_termination(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every HTTPS listener of a load balancer terminates TLS with a certificate, or passes it
    through (tlsPassthrough) to droplets that each obtain their own (a certbot command runs on
    every target droplet)."""
    droplets = [r for r in args.resources if r.resource_type == DROPLET]
    certbots = [
        c
        for c in args.resources
        if c.resource_type == REMOTE_COMMAND
        and OBTAINS_CERTIFICATE.search(_known(c, "create") or "")
    ]
    for balancer in (r for r in args.resources if r.resource_type == LOAD_BALANCER):
        for rule in _known(balancer, "forwardingRules") or []:
            protocol = (rule.get("entryProtocol") or "").lower()
            port = int(rule.get("entryPort") or 443)
            if (
                protocol not in TLS_PROTOCOLS
                or rule.get("certificateName")
                or rule.get("certificateId")
            ):
                continue
            if not rule.get("tlsPassthrough"):
                flag(
                    report,
                    balancer,
                    f"serves {protocol} on port {port} with no certificate",
                    "set certificateName to a digitalocean.Certificate (type lets_encrypt) for "
                    "the API hostname",
                )
                continue
            bare = sorted(
                d.name
                for d in _targets(balancer, droplets)
                if not any(_depends_on(c, d) for c in certbots)
            )
            if bare:
                flag(
                    report,
                    balancer,
                    f"passes TLS through on port {port} to droplets with no certificate of "
                    f"their own ({', '.join(bare)})",
                    "terminate TLS at the balancer (certificateName), or give every target "
                    "droplet its own certificate",
                )


@stack_rule("digitalocean-no-token-on-balanced-hosts", Severity.CRITICAL, types=LOAD_BALANCER)
def no_token_on_hosts(args: StackValidationArgs, report: ReportViolation) -> None:
    """In a stack with a load balancer (which holds the certificate), no remote command carries
    a DigitalOcean token to a host: not in its script, stdin or environment."""
    for command in (r for r in args.resources if r.resource_type == REMOTE_COMMAND):
        carried = [
            field
            for field in COMMAND_FIELDS
            if any(DIGITALOCEAN_TOKEN.search(text) for text in _texts(_known(command, field)))
        ]
        if carried:
            flag(
                report,
                command,
                f"carries a DigitalOcean token to its host (in {', '.join(carried)})",
                "drop the token: behind the load balancer, TLS needs no DNS access on any "
                "host (the balancer's certificate is issued and renewed by DigitalOcean)",
            )


POLICIES = [tls_termination, no_token_on_hosts]
