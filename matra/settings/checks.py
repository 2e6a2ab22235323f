"""Checks on single values that several settings share."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$"
)
_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$")
_URL_PATH = re.compile(r"(/[A-Za-z0-9._~%+-]*)*")
_DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
_RFC1918 = tuple(
    ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)

DOCUMENTATION_NETWORKS: dict[str, str] = {
    "192.0.2.0/24": "RFC 5737",
    "198.51.100.0/24": "RFC 5737",
    "203.0.113.0/24": "RFC 5737",
    "2001:db8::/32": "RFC 3849",
}
"""Networks reserved for documentation and examples: no real host is ever in them, so a
setting that names one still holds the example it was copied from."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network(value: str) -> Network | None:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None


def is_hostname(value: str) -> bool:
    """A lower-case fully-qualified DNS name with at least two labels."""
    labels = value.split(".")
    return (
        len(value) <= 253
        and len(labels) >= 2
        and all(_HOST_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def is_email(value: str) -> bool:
    """An e-mail address with a lower-case domain."""
    return bool(_EMAIL.match(value))


def is_https_url(value: str, *, path_required: bool = False) -> bool:
    """An https URL to a DNS name (an optional port), a plain path (letters, digits and
    . _ ~ / % + -), no credentials, query or fragment; with ``path_required``, a path
    beyond "/"."""
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and value.startswith("https://")
        and parts.hostname is not None
        and is_hostname(parts.hostname)
        and parts.username is None
        and port_ok
        and not parts.query
        and not parts.fragment
        and not value.endswith(("?", "#"))
        and bool(_URL_PATH.fullmatch(parts.path))
        and (not path_required or parts.path not in ("", "/"))
    )


def is_cidr(value: str) -> bool:
    """An IPv4 or IPv6 network in CIDR notation with no host bits set."""
    return "/" in value and network(value) is not None


def is_vpc_range(value: str) -> bool:
    """DigitalOcean VPC ranges: RFC 1918, /16 to /24, clear of Docker's bridge."""
    net = network(value) if "/" in value else None
    return (
        isinstance(net, ipaddress.IPv4Network)
        and 16 <= net.prefixlen <= 24
        and not net.overlaps(_DOCKER_BRIDGE)
        and any(net.subnet_of(block) for block in _RFC1918)
    )


def is_ssh_public_key(value: str) -> bool:
    return bool(_SSH_PUBLIC_KEY.match(value.strip()))


def documentation_network(value: str) -> str | None:
    """The RFC that reserves ``value`` (a network or an address) for documentation, or
    None when it lies outside every documentation network."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    for block, rfc in DOCUMENTATION_NETWORKS.items():
        if _within(net, ipaddress.ip_network(block)):
            return rfc
    return None


def _within(net: Network, block: Network) -> bool:
    if isinstance(net, ipaddress.IPv4Network) and isinstance(block, ipaddress.IPv4Network):
        return net.subnet_of(block)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(block, ipaddress.IPv6Network):
        return net.subnet_of(block)
    return False
