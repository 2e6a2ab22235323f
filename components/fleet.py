"""DropletFleet: the API droplets, their cloud-init and their Cloud Firewall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_digitalocean as digitalocean

from .cloudinit import api_user_data
from .settings import BackupPolicy

ANYWHERE = ["0.0.0.0/0", "::/0"]

# What hosts reach out to, and nothing else: DNS, NTP, package mirrors and registries
# over HTTP/HTTPS. Traffic inside the VPC (cache, health checks) is open both ways.
EGRESS: tuple[tuple[str, str, str], ...] = (
    ("udp", "53", "DNS"),
    ("tcp", "53", "DNS over TCP"),
    ("udp", "123", "NTP"),
    ("tcp", "80", "HTTP (apt mirrors, ACME)"),
    ("tcp", "443", "HTTPS (registry, Docker, ACME, monitoring)"),
)
MONGODB_EGRESS = ("tcp", "27017", "MongoDB Atlas (its addresses are not known up front)")


def ssh_ingress(sources: Sequence[str]) -> digitalocean.FirewallInboundRuleArgs:
    """Port 22 from the admin CIDRs only."""
    return digitalocean.FirewallInboundRuleArgs(protocol="tcp", port_range="22",
                                                source_addresses=list(sources))


def egress_rules(vpc_ip_range: pulumi.Input[str], *, mongodb: bool
                 ) -> list[digitalocean.FirewallOutboundRuleArgs]:
    """Egress to everywhere on the EGRESS ports (and MongoDB's, for the API hosts), ICMP,
    and anything inside the VPC."""
    ports = [*EGRESS, *([MONGODB_EGRESS] if mongodb else [])]
    return [
        *(digitalocean.FirewallOutboundRuleArgs(
            protocol=protocol, port_range=port, destination_addresses=ANYWHERE)
          for protocol, port, _ in ports),
        digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=ANYWHERE),
        digitalocean.FirewallOutboundRuleArgs(
            protocol="tcp", port_range="1-65535", destination_addresses=[vpc_ip_range]),
        digitalocean.FirewallOutboundRuleArgs(
            protocol="udp", port_range="1-65535", destination_addresses=[vpc_ip_range]),
    ]


@dataclass
class HostSetup:
    """What cloud-init sets up on each API droplet (public values only)."""

    admin_user: str
    admin_key: pulumi.Input[str]
    """The automation public key, for the admin (ops) user."""
    deploy_user: str
    deploy_key: pulumi.Input[str]
    """The deploy job's public key, for the deploy user."""
    app_port: int
    health_path: str
    server_name: str


@dataclass
class DropletFleetArgs:
    count: int
    """Number of droplets; they are named <name>-0 ... <name>-(count-1)."""
    name_prefix: str
    """Prefix of the droplets' hostnames (e.g. matra-prod-api)."""
    region: pulumi.Input[str]
    size: pulumi.Input[str]
    image: pulumi.Input[str]
    vpc_uuid: pulumi.Input[str]
    vpc_ip_range: pulumi.Input[str]
    fleet_tag: pulumi.Input[str]
    """Tag that marks these droplets: the firewall and load balancer select by it."""
    ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    host: HostSetup
    admin_ssh_sources: Sequence[str]
    """CIDRs allowed to reach port 22."""
    extra_tags: Sequence[str] = field(default_factory=tuple)
    backup_policy: Optional[BackupPolicy] = None
    """None turns droplet backups off."""
    web_load_balancer_uids: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]] = None
    """Load balancers allowed to reach 80/443; None opens 80/443 to anywhere."""
    reserve_ip: bool = False
    """Give the (single) droplet a reserved IP to serve as its stable ingress address."""

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"DropletFleetArgs.count must be at least 1, got {self.count}")
        if self.reserve_ip and self.count != 1:
            raise ValueError("DropletFleetArgs.reserve_ip needs exactly one droplet")
        if not self.admin_ssh_sources:
            raise ValueError("DropletFleetArgs.admin_ssh_sources must name at least one CIDR")


class DropletFleet(pulumi.ComponentResource):
    droplet_ids: pulumi.Output[list[str]]
    """Droplet ids, in index order."""
    droplet_names: pulumi.Output[list[str]]
    """Droplet hostnames, in index order."""
    droplet_urns: pulumi.Output[list[str]]
    """DigitalOcean URNs (do:droplet:...) for the stack's DigitalOcean project."""
    public_ipv4s: pulumi.Output[list[str]]
    """Public IPv4 of each droplet, in index order."""
    private_ipv4s: pulumi.Output[list[str]]
    """VPC IPv4 of each droplet, in index order."""
    fleet_tag: pulumi.Output[str]
    """The tag every droplet of the fleet carries."""
    firewall_id: pulumi.Output[str]
    """Id of the fleet's Cloud Firewall."""
    reserved_ip: Optional[pulumi.Output[str]]
    """The reserved IP, when the fleet was asked for one."""
    reserved_ip_urn: Optional[pulumi.Output[str]]
    """DigitalOcean URN of the reserved IP, when there is one."""
    droplets: list[digitalocean.Droplet]
    """The droplets in index order, for per-droplet resources (access lists, SSH)."""

    def __init__(self, name: str, args: DropletFleetArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:DropletFleet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        host = args.host
        user_data = pulumi.Output.all(host.admin_key, host.deploy_key).apply(
            lambda keys: api_user_data(admin_user=host.admin_user, admin_key=keys[0],
                                       deploy_user=host.deploy_user, deploy_key=keys[1],
                                       app_port=host.app_port, health_path=host.health_path,
                                       server_name=host.server_name))
        tags = [args.fleet_tag, *args.extra_tags]
        backup_policy = None
        if args.backup_policy is not None:
            backup_policy = digitalocean.DropletBackupPolicyArgs(
                plan=args.backup_policy.plan, weekday=args.backup_policy.weekday,
                hour=args.backup_policy.hour)

        web_rules = self._web_rules(args.web_load_balancer_uids)
        firewall = digitalocean.Firewall(
            f"{name}-firewall",
            name=f"{args.name_prefix}-fw",
            tags=[args.fleet_tag],
            inbound_rules=[
                ssh_ingress(args.admin_ssh_sources),
                *web_rules,
                digitalocean.FirewallInboundRuleArgs(
                    protocol="icmp", source_addresses=[args.vpc_ip_range]),
            ],
            outbound_rules=egress_rules(args.vpc_ip_range, mongodb=True),
            opts=child,
        )

        droplets = [
            digitalocean.Droplet(
                f"{name}-{index}",
                name=f"{args.name_prefix}-{index}",
                region=args.region,
                size=args.size,
                image=args.image,
                vpc_uuid=args.vpc_uuid,
                ssh_keys=args.ssh_key_ids,
                tags=tags,
                monitoring=True,
                droplet_agent=True,
                ipv6=False,
                backups=args.backup_policy is not None,
                backup_policy=backup_policy,
                user_data=user_data,
                # User data holds only what is stable for the stack's life (users, the
                # automation and deploy keys, the template); changing it replaces the
                # droplet, and the preview says so. Operators' keys and everything
                # secret arrive over SSH instead. The firewall (selecting by the fleet
                # tag) exists first, so no droplet ever boots unguarded.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[firewall]),
            )
            for index in range(args.count)
        ]

        self.reserved_ip = None
        self.reserved_ip_urn = None
        if args.reserve_ip:
            reserved = digitalocean.ReservedIp(
                f"{name}-ip", region=args.region,
                droplet_id=droplets[0].id.apply(int), opts=child)
            self.reserved_ip = reserved.ip_address
            self.reserved_ip_urn = reserved.reserved_ip_urn

        self.droplets = droplets
        self.droplet_ids = pulumi.Output.all(*(d.id for d in droplets)).apply(list)
        self.droplet_names = pulumi.Output.all(*(d.name for d in droplets)).apply(list)
        self.droplet_urns = pulumi.Output.all(*(d.droplet_urn for d in droplets)).apply(list)
        self.public_ipv4s = pulumi.Output.all(*(d.ipv4_address for d in droplets)).apply(list)
        self.private_ipv4s = pulumi.Output.all(
            *(d.ipv4_address_private for d in droplets)).apply(list)
        self.fleet_tag = pulumi.Output.from_input(args.fleet_tag)
        self.firewall_id = firewall.id
        outputs = {
            "droplet_ids": self.droplet_ids,
            "droplet_names": self.droplet_names,
            "public_ipv4s": self.public_ipv4s,
            "private_ipv4s": self.private_ipv4s,
            "fleet_tag": self.fleet_tag,
            "firewall_id": self.firewall_id,
        }
        if self.reserved_ip is not None:
            outputs["reserved_ip"] = self.reserved_ip
        self.register_outputs(outputs)

    @staticmethod
    def _web_rules(load_balancer_uids: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
                   ) -> list[digitalocean.FirewallInboundRuleArgs]:
        """80 and 443 from the load balancer when there is one, else from anywhere."""
        if load_balancer_uids is None:
            return [digitalocean.FirewallInboundRuleArgs(
                protocol="tcp", port_range=port, source_addresses=ANYWHERE)
                for port in ("80", "443")]
        return [digitalocean.FirewallInboundRuleArgs(
            protocol="tcp", port_range=port, source_load_balancer_uids=load_balancer_uids)
            for port in ("80", "443")]
