"""What the rules share: resource type tokens, port and CIDR helpers, messages."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
DATABASE_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
ATLAS_PROJECT = "mongodbatlas:index/project:Project"
ATLAS_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ATLAS_BACKUP_SCHEDULE = "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule"
ATLAS_ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
ATLAS_DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"

WORLD = frozenset({"0.0.0.0/0", "::/0", "0.0.0.0", "::", "0::0/0"})
# A public network shorter than these prefixes counts as "the internet": 0.0.0.0/1 plus
# 128.0.0.0/1 is the whole of it, and a /8 is not far off. Trivy counts every public
# network of more than one address; policy config can be that strict (32 and 128).
DEFAULT_WORLD_PREFIX = {"worldPrefixV4": 24, "worldPrefixV6": 48}
WORLD_PREFIX_SCHEMA = {
    "worldPrefixV4": {"type": "integer", "minimum": 1, "maximum": 32,
                      "default": DEFAULT_WORLD_PREFIX["worldPrefixV4"]},
    "worldPrefixV6": {"type": "integer", "minimum": 1, "maximum": 128,
                      "default": DEFAULT_WORLD_PREFIX["worldPrefixV6"]},
}
ALL_PORTS = "all"
Ports = Union[frozenset[int], str]


def short_type(type_token: str) -> str:
    """digitalocean:index/droplet:Droplet -> digitalocean.Droplet"""
    package, _, rest = type_token.partition(":")
    return f"{package}.{rest.rsplit(':', 1)[-1]}"


def message(name: str, type_token: str, problem: str, fix: str) -> str:
    """The one shape of every violation: which resource, what is wrong, the fix."""
    return f"{short_type(type_token)} '{name}': {problem}. Fix: {fix}."


def ports_of(protocol: Optional[str], port_range: Optional[str]) -> Ports:
    """The ports a rule opens: a set, ALL_PORTS, or an empty set for ICMP.

    DigitalOcean reads an empty range for tcp/udp, "all", "0" and "1-65535" as every port.
    """
    if (protocol or "").lower() == "icmp":
        return frozenset()
    text = (port_range or "").strip().lower()
    if text in ("", "all", "0", "1-65535", "0-65535"):
        return ALL_PORTS
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if last - first >= 65534:
        return ALL_PORTS
    return frozenset(range(first, last + 1))


def describe_ports(protocol: Optional[str], ports: Ports) -> str:
    if (protocol or "").lower() == "icmp":
        return "ICMP"
    if ports == ALL_PORTS:
        return f"every {protocol} port"
    ordered = sorted(ports)
    if len(ordered) > 1 and ordered[-1] - ordered[0] + 1 == len(ordered):
        return f"{protocol} ports {ordered[0]}-{ordered[-1]}"
    return f"{protocol} port{'s' if len(ordered) > 1 else ''} {', '.join(map(str, ordered))}"


def world_sources(addresses: Optional[Iterable[str]],
                  config: Optional[Mapping[str, Any]] = None) -> list[str]:
    """The addresses that open to the internet at large: 0.0.0.0/0 and ::/0, and any
    public network wider than the configured prefixes (worldPrefixV4/V6)."""
    found = []
    for address in addresses or []:
        if address in WORLD:
            found.append(address)
            continue
        try:
            network = ipaddress.ip_network(address, strict=False)
        except ValueError:
            continue
        key = "worldPrefixV4" if network.version == 4 else "worldPrefixV6"
        limit = int(config_value(config, key, DEFAULT_WORLD_PREFIX[key]))
        if network.prefixlen == 0 or (not network.is_private and network.prefixlen < limit):
            found.append(address)
    return found


def outside(ports: Ports, allowed: Iterable[Any]) -> Ports:
    """The ports in ``ports`` that are not in ``allowed`` (ALL_PORTS if unbounded)."""
    permitted = {int(p) for p in allowed}
    if ports == ALL_PORTS:
        return ALL_PORTS
    assert isinstance(ports, frozenset)
    return frozenset(p for p in ports if p not in permitted)


def config_value(config: Optional[Mapping[str, Any]], key: str, default: Any) -> Any:
    if not config or key not in config:
        return default
    return config[key]


def is_tenant_cluster(props: Mapping[str, Any]) -> bool:
    """An Atlas shared-tier (M0) cluster: its region configs use the TENANT provider."""
    for spec in props.get("replicationSpecs") or []:
        for region in spec.get("regionConfigs") or []:
            if region.get("providerName") == "TENANT":
                return True
    return False


def retention_days(item: Optional[Mapping[str, Any]]) -> int:
    """A backup policy item's retention in days (0 if there is none)."""
    if not item:
        return 0
    unit = (item.get("retentionUnit") or "days").lower()
    value = int(item.get("retentionValue") or 0)
    return value * {"days": 1, "weeks": 7, "months": 30, "years": 365}.get(unit, 1)
