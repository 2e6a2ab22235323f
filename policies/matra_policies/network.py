"""Network rules: Cloud Firewalls, load balancers, VPC placement, SSH keys, database
firewalls and the Atlas access list. Anchors: Trivy DIG-0001..0004, Checkov CKV_DIO_2/4."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
    ResourceValidationPolicy, Severity, StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .common import (
    ALL_PORTS, ATLAS_ACCESS_LIST, WORLD_PREFIX_SCHEMA, DATABASE_CLUSTER, DATABASE_FIREWALL, DROPLET, FIREWALL,
    LOAD_BALANCER, config_value, describe_ports, message, outside, ports_of, world_sources,
)

DEFAULT_PUBLIC_PORTS = ["80", "443"]
DEFAULT_EGRESS_PORTS = ["53", "123", "80", "443", "27017"]


def _no_public_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FIREWALL:
        return
    config = args.get_config()
    public_ports = config_value(config, "publicPorts", DEFAULT_PUBLIC_PORTS)
    ssh_anywhere = config_value(config, "allowSshFromAnywhere", False)
    allowed = [*public_ports, *(["22"] if ssh_anywhere else [])]
    for rule in args.props.get("inboundRules") or []:
        sources = world_sources(rule.get("sourceAddresses"), config)
        if not sources:
            continue
        protocol = rule.get("protocol")
        ports = ports_of(protocol, rule.get("portRange"))
        extra = outside(ports, allowed) if ports else ports
        if ports and not extra:
            continue
        opened = describe_ports(protocol, extra)
        ssh = extra == ALL_PORTS or (isinstance(extra, frozenset) and 22 in extra)
        fix = ("admit SSH only from the admin CIDRs (matra-infra:adminSshSources)"
               if ssh else
               "restrict the rule's sourceAddresses to known CIDRs, or admit only the "
               "load balancer (sourceLoadBalancerUids)")
        report(message(args.name, args.resource_type,
                       f"inbound rule opens {opened} to {', '.join(sources)}", fix))


no_public_ingress = ResourceValidationPolicy(
    name="digitalocean-firewall-no-public-ingress",
    description="Cloud Firewall inbound rules open nothing to the internet (0.0.0.0/0, "
                "::/0 or a public network wider than worldPrefixV4/V6) but the configured "
                "public ports (SSH only where the stack allows it). Trivy DIG-0001, "
                "Checkov CKV_DIO_4.",
    validate=_no_public_ingress,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(properties={
        "publicPorts": {"type": "array", "items": {"type": "string"},
                        "default": DEFAULT_PUBLIC_PORTS},
        "allowSshFromAnywhere": {"type": "boolean", "default": False},
        **WORLD_PREFIX_SCHEMA,
    }),
)


def _restricted_egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FIREWALL:
        return
    config = args.get_config()
    allowed = config_value(config, "allowedPorts", DEFAULT_EGRESS_PORTS)
    allow_icmp = config_value(config, "allowIcmp", True)
    for rule in args.props.get("outboundRules") or []:
        destinations = world_sources(rule.get("destinationAddresses"), config)
        if not destinations:
            continue
        protocol = rule.get("protocol")
        ports = ports_of(protocol, rule.get("portRange"))
        if not ports:
            if allow_icmp:
                continue
            extra = ports
        else:
            extra = outside(ports, allowed)
            if not extra:
                continue
        report(message(args.name, args.resource_type,
                       f"outbound rule allows {describe_ports(protocol, extra)} to "
                       f"{', '.join(destinations)}",
                       f"limit egress to everywhere to the allowed ports ({', '.join(allowed)})"
                       " or to known destination CIDRs"))


restricted_egress = ResourceValidationPolicy(
    name="digitalocean-firewall-restricted-egress",
    description="Cloud Firewall egress to the internet (0.0.0.0/0, ::/0 or a public network "
                "wider than worldPrefixV4/V6) only on the ports the stack allows. Trivy "
                "DIG-0003.",
    validate=_restricted_egress,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(properties={
        "allowedPorts": {"type": "array", "items": {"type": "string"},
                         "default": DEFAULT_EGRESS_PORTS},
        "allowIcmp": {"type": "boolean", "default": True},
        **WORLD_PREFIX_SCHEMA,
    }),
)


def _no_plain_http(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOAD_BALANCER:
        return
    redirects = bool(args.props.get("redirectHttpToHttps"))
    for rule in args.props.get("forwardingRules") or []:
        if (rule.get("entryProtocol") or "").lower() == "http" and not redirects:
            report(message(args.name, args.resource_type,
                           f"serves plain HTTP on port {int(rule.get('entryPort') or 80)} "
                           "without "
                           "redirecting to HTTPS",
                           "set redirectHttpToHttps: true, or drop the http forwarding rule"))


no_plain_http = ResourceValidationPolicy(
    name="digitalocean-loadbalancer-no-plain-http",
    description="Load balancers never serve plain HTTP unless they redirect it to HTTPS. "
                "Trivy DIG-0002.",
    validate=_no_plain_http,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _ssh_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DROPLET:
        return
    if not args.props.get("sshKeys"):
        report(message(args.name, args.resource_type,
                       "has no SSH keys, so DigitalOcean mails a root password",
                       "set sshKeys (the stack's automation key id)"))


ssh_keys = ResourceValidationPolicy(
    name="digitalocean-droplet-ssh-keys",
    description="Droplets are created with SSH keys, never a root password. Trivy DIG-0004, "
                "Checkov CKV_DIO_2.",
    validate=_ssh_keys,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def _in_vpc(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (DROPLET, DATABASE_CLUSTER):
        return
    key = "vpcUuid" if args.resource_type == DROPLET else "privateNetworkUuid"
    try:
        vpc = args.props.get(key)
    except UnknownValueError:
        return  # computed by the engine (the VPC's id, in a preview of a new VPC): set
    if not vpc:
        report(message(args.name, args.resource_type,
                       f"is not placed in a VPC ({key} unset), so it lands in the region's "
                       "default VPC beside unrelated resources",
                       f"set {key} to the stack's VPC id"))


in_vpc = ResourceValidationPolicy(
    name="digitalocean-resource-in-vpc",
    description="Droplets and managed databases sit in the stack's own VPC.",
    validate=_in_vpc,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)


def _firewall_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    firewalls = [r for r in args.resources if r.resource_type == FIREWALL]
    firewall_tags = {tag for f in firewalls for tag in (f.props.get("tags") or [])}
    for droplet in (r for r in args.resources if r.resource_type == DROPLET):
        if firewall_tags & set(droplet.props.get("tags") or []):
            continue
        # Covered by id: only readable once the droplet exists (ids are unknown in a
        # preview of a new droplet; the proxy then skips the rule, never a false alarm).
        if any(droplet.props.get("id") in (f.props.get("dropletIds") or [])
               for f in firewalls if f.props.get("dropletIds")):
            continue
        report(message(droplet.name, droplet.resource_type,
                       "is covered by no Cloud Firewall (neither by tag nor by id)",
                       "give it a tag that a Firewall's tags select (the fleet tag), or "
                       "add its id to a Firewall's dropletIds"), droplet.urn)


firewall_coverage = StackValidationPolicy(
    name="digitalocean-droplet-firewall-coverage",
    description="Every droplet is covered by a Cloud Firewall, by tag or by id.",
    validate=_firewall_coverage,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)


def _database_firewall_coverage(args: StackValidationArgs, report: ReportViolation) -> None:
    firewalls = [r for r in args.resources if r.resource_type == DATABASE_FIREWALL]
    # The cluster id is unknown while the cluster is new; the engine still records which
    # resource a firewall's clusterId came from.
    guarded = {dep.urn for fw in firewalls
               for dep in fw.property_dependencies.get("clusterId", [])}
    for cluster in (r for r in args.resources if r.resource_type == DATABASE_CLUSTER):
        if cluster.urn in guarded:
            continue
        cluster_id = cluster.props.get("id")
        if cluster_id and any(fw.props.get("clusterId") == cluster_id for fw in firewalls):
            continue
        report(message(cluster.name, cluster.resource_type,
                       "has no database firewall, so any address may try to connect",
                       "add a digitalocean.DatabaseFirewall for it that admits only the "
                       "fleet's tag"), cluster.urn)


database_firewall_coverage = StackValidationPolicy(
    name="digitalocean-database-firewall-coverage",
    description="Every managed database has a database firewall.",
    validate=_database_firewall_coverage,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
)


def _atlas_access_list(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_ACCESS_LIST:
        return
    for key in ("cidrBlock", "ipAddress"):
        value = args.props.get(key)
        if value and world_sources([value], args.get_config()):
            report(message(args.name, args.resource_type,
                           f"{key} {value} lets (nearly) every address on the internet "
                           "reach the cluster",
                           "list the fleet's public IPv4s one entry each (ipAddress)"))


atlas_access_list = ResourceValidationPolicy(
    name="mongodbatlas-access-list-no-world",
    description="The Atlas project IP access list never holds 0.0.0.0/0 (or a public "
                "network wider than worldPrefixV4/V6).",
    validate=_atlas_access_list,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(properties=dict(WORLD_PREFIX_SCHEMA)),
)

POLICIES = [no_public_ingress, restricted_egress, no_plain_http, ssh_keys, in_vpc,
            firewall_coverage, database_firewall_coverage, atlas_access_list]
