"""Network rules: Cloud Firewalls, load balancers, VPC placement, SSH keys, database
firewalls and the Atlas access list. Anchors: Trivy DIG-0001..0004, Checkov CKV_DIO_2/4."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from .common import (
    ALL_PORTS,
    BASELINE_EGRESS_PORTS,
    Parameter,
    Ports,
    describe_ports,
    flag,
    outside,
    ports_of,
    required_setting,
    resource_rule,
    stack_rule,
    string_list,
    world_rule,
    world_sources,
)
from .types import (
    ATLAS_ACCESS_LIST,
    DATABASE_CLUSTER,
    DATABASE_FIREWALL,
    DROPLET,
    FIREWALL,
    LOAD_BALANCER,
)

PUBLIC_PORTS = string_list("publicPorts", ["80", "443"])
SSH_FROM_ANYWHERE = Parameter("allowSshFromAnywhere", {"type": "boolean"}, False)
EGRESS_PORTS = string_list("allowedPorts", BASELINE_EGRESS_PORTS)
ICMP = Parameter("allowIcmp", {"type": "boolean"}, True)


def _open_to_the_world(
    rules: list[dict[str, Any]] | None,
    addresses: str,
    allowed: list[str],
    config: Mapping[str, Any],
    icmp_allowed: bool,
) -> Iterator[tuple[str | None, Ports, list[str]]]:
    """Each firewall rule that opens more than ``allowed`` to the internet: its protocol,
    the ports beyond ``allowed`` (an empty set for ICMP) and the world-wide addresses."""
    for rule in rules or []:
        world = world_sources(rule.get(addresses), config)
        if not world:
            continue
        protocol = rule.get("protocol")
        ports = ports_of(protocol, rule.get("portRange"))
        extra = outside(ports, allowed) if ports else ports
        if extra or (not ports and not icmp_allowed):
            yield protocol, extra, world


@world_rule(
    "digitalocean-firewall-no-public-ingress",
    Severity.CRITICAL,
    PUBLIC_PORTS,
    SSH_FROM_ANYWHERE,
    types=FIREWALL,
)
def no_public_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Cloud Firewall inbound rules open nothing to the internet (0.0.0.0/0, ::/0 or a public
    network wider than worldPrefixV4/V6) but the configured public ports (SSH only where the
    stack allows it). Trivy DIG-0001, Checkov CKV_DIO_4."""
    config = args.get_config()
    ssh_anywhere = SSH_FROM_ANYWHERE.value(config)
    allowed = [*PUBLIC_PORTS.value(config), *(["22"] if ssh_anywhere else [])]
    rules = args.props.get("inboundRules")
    for protocol, extra, sources in _open_to_the_world(
        rules, "sourceAddresses", allowed, config, icmp_allowed=False
    ):
        ssh = extra == ALL_PORTS or (isinstance(extra, frozenset) and 22 in extra)
        fix = (
            "admit SSH only from the admin CIDRs (matra-infra:adminSshSources)"
            if ssh
            else "restrict the rule's sourceAddresses to known CIDRs, or admit only the "
            "load balancer (sourceLoadBalancerUids)"
        )
        opened = describe_ports(protocol, extra)
        flag(report, args, f"inbound rule opens {opened} to {', '.join(sources)}", fix)


@world_rule(
    "digitalocean-firewall-restricted-egress", Severity.HIGH, EGRESS_PORTS, ICMP, types=FIREWALL
)
def restricted_egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Cloud Firewall egress to the internet (0.0.0.0/0, ::/0 or a public network wider than
    worldPrefixV4/V6) only on the ports the stack allows. Trivy DIG-0003."""
    config = args.get_config()
    allowed = EGRESS_PORTS.value(config)
    rules = args.props.get("outboundRules")
    for protocol, extra, destinations in _open_to_the_world(
        rules, "destinationAddresses", allowed, config, ICMP.value(config)
    ):
        flag(
            report,
            args,
            f"outbound rule allows {describe_ports(protocol, extra)} to {', '.join(destinations)}",
            f"limit egress to everywhere to the allowed ports ({', '.join(allowed)}) or to "
            "known destination CIDRs; a port the stack needs (a Papertrail destination's) "
            "goes into this rule's allowedPorts in policies/config/<stack>.json",
        )


@resource_rule("digitalocean-loadbalancer-no-plain-http", Severity.HIGH, types=LOAD_BALANCER)
def no_plain_http(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Load balancers never serve plain HTTP unless they redirect it to HTTPS. Trivy DIG-0002."""
    redirects = bool(args.props.get("redirectHttpToHttps"))
    for rule in args.props.get("forwardingRules") or []:
        if (rule.get("entryProtocol") or "").lower() == "http" and not redirects:
            flag(
                report,
                args,
                f"serves plain HTTP on port {int(rule.get('entryPort') or 80)} "
                "without "
                "redirecting to HTTPS",
                "set redirectHttpToHttps: true, or drop the http forwarding rule",
            )


ssh_keys = required_setting(
    "digitalocean-droplet-ssh-keys",
    Severity.HIGH,
    "Droplets are created with SSH keys, never a root password. Trivy DIG-0004, Checkov CKV_DIO_2.",
    types=DROPLET,
    key="sshKeys",
    problem="has no SSH keys, so DigitalOcean mails a root password",
    fix="set sshKeys (the stack's automation key id)",
)


@resource_rule("digitalocean-resource-in-vpc", Severity.MEDIUM, types=(DROPLET, DATABASE_CLUSTER))
def in_vpc(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Droplets and managed databases sit in the stack's own VPC."""
    key = "vpcUuid" if args.resource_type == DROPLET else "privateNetworkUuid"
    try:
        vpc = args.props.get(key)
    except UnknownValueError:
        return  # computed by the engine (the VPC's id, in a preview of a new VPC): set
    if not vpc:
        flag(
            report,
            args,
            f"is not placed in a VPC ({key} unset), so it lands in the region's "
            "default VPC beside unrelated resources",
            f"set {key} to the stack's VPC id",
        )


@stack_rule("digitalocean-droplet-firewall-coverage", Severity.CRITICAL)
def firewall_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every droplet is covered by a Cloud Firewall, by tag or by id."""
    firewalls = [r for r in args.resources if r.resource_type == FIREWALL]
    firewall_tags = {tag for f in firewalls for tag in (f.props.get("tags") or [])}
    for droplet in (r for r in args.resources if r.resource_type == DROPLET):
        if firewall_tags & set(droplet.props.get("tags") or []):
            continue
        if any(_lists_droplet(firewall, droplet) for firewall in firewalls):
            continue
        flag(
            report,
            droplet,
            "is covered by no Cloud Firewall (neither by tag nor by id)",
            "give it a tag that a Firewall's tags select (the fleet tag), or "
            "add its id to a Firewall's dropletIds",
        )


def _lists_droplet(firewall: PolicyResource, droplet: PolicyResource) -> bool:
    """Whether ``firewall`` names ``droplet`` among its dropletIds: by the id, once the
    droplet exists, or (while a new droplet's id is unknown, in a preview) by the engine's
    record of which resource an id in dropletIds came from."""
    if droplet.urn in {dep.urn for dep in firewall.property_dependencies.get("dropletIds", [])}:
        return True
    try:
        droplet_id = droplet.props.get("id")
    except UnknownValueError:
        return False  # a new droplet: listed only where an id came from it (above)
    return droplet_id in (firewall.props.get("dropletIds") or [])


@stack_rule("digitalocean-database-firewall-coverage", Severity.CRITICAL)
def database_firewall_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every managed database has a database firewall."""
    firewalls = [r for r in args.resources if r.resource_type == DATABASE_FIREWALL]
    # The cluster id is unknown while the cluster is new; the engine still records which
    # resource a firewall's clusterId came from.
    guarded = {dep.urn for fw in firewalls for dep in fw.property_dependencies.get("clusterId", [])}
    for cluster in (r for r in args.resources if r.resource_type == DATABASE_CLUSTER):
        if cluster.urn in guarded:
            continue
        try:
            cluster_id = cluster.props.get("id")
        except UnknownValueError:
            cluster_id = None  # a new cluster: guarded only where a clusterId came from it
        if cluster_id and any(fw.props.get("clusterId") == cluster_id for fw in firewalls):
            continue
        flag(
            report,
            cluster,
            "has no database firewall, so any address may try to connect",
            "add a digitalocean.DatabaseFirewall for it that admits only the fleet's tag",
        )


@world_rule("mongodbatlas-access-list-no-world", Severity.CRITICAL, types=ATLAS_ACCESS_LIST)
def atlas_access_list(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The Atlas project IP access list never holds 0.0.0.0/0 (or a public network wider than
    worldPrefixV4/V6)."""
    for key in ("cidrBlock", "ipAddress"):
        value = args.props.get(key)
        if value and world_sources([value], args.get_config()):
            flag(
                report,
                args,
                f"{key} {value} lets (nearly) every address on the internet reach the cluster",
                "list the fleet's public IPv4s one entry each (ipAddress)",
            )


POLICIES = [
    no_public_ingress,
    restricted_egress,
    no_plain_http,
    ssh_keys,
    in_vpc,
    firewall_coverage,
    database_firewall_coverage,
    atlas_access_list,
]
