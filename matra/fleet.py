"""DropletFleet: the API droplets, their cloud-init and their Cloud Firewall."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean

from .cloudinit import api_user_data
from .guarded import DropletSpec, GuardedDroplets, egress_rules, icmp_from, ssh_ingress, web_ingress
from .network import Placement
from .settings import FleetSettings
from .ssh import Host, SshLogin


@dataclass
class DropletFleetArgs:
    name_prefix: str
    """Prefix of the droplets' hostnames (e.g. matra-prod-api): <prefix>-0, <prefix>-1, ..."""
    placement: Placement
    fleet_tag: pulumi.Input[str]
    """Tag that marks these droplets: the firewall and load balancer select by it."""
    login: SshLogin
    """How the program logs in (the admin user and key) and from where."""
    settings: FleetSettings
    """How many droplets, their size, image and backups, and what they serve."""
    deploy_user: str
    """The deploy user cloud-init creates (its key arrives with the host setup)."""
    prepare: Callable[[Host], pulumi.Resource] | None = None
    """Sets up a droplet (HostSetup.prepare); the next droplet is created only once the
    resource it returns exists, i.e. once the droplet before it serves. So droplets are
    created, and replaced, one at a time, each serving before the next is touched."""
    tags: Sequence[str] = field(default_factory=tuple)
    """Tags besides the fleet tag."""
    web_load_balancer_uids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Load balancers allowed to reach 80/443. None: 80/443 are open to anywhere and the
    (single) droplet gets a reserved IP as its stable ingress address."""
    log_port: int | None = None
    """The TCP port of the log destination the droplets forward to (Papertrail's), which
    their firewall opens outwards; None when logs stay on the hosts."""

    def __post_init__(self) -> None:
        count = self.settings.droplet_count
        if count < 1:
            raise ValueError(f"DropletFleetArgs: droplet count must be at least 1, got {count}")
        if self.web_load_balancer_uids is None and count != 1:
            raise ValueError(
                "DropletFleetArgs: without a load balancer the reserved IP needs exactly one "
                f"droplet, got {count}"
            )
        if not self.login.admin_ssh_sources:
            raise ValueError("DropletFleetArgs.login.admin_ssh_sources must name at least one CIDR")


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
    deploy_targets: pulumi.Output[list[dict[str, Any]]]
    """{name, ip} of each droplet, in index order: what the deploy command reaches."""
    fleet_tag: pulumi.Output[str]
    """The tag every droplet of the fleet carries."""
    firewall_id: pulumi.Output[str]
    """Id of the fleet's Cloud Firewall."""
    reserved_ip: pulumi.Output[str] | None
    """The reserved IP, when the fleet was asked for one."""
    reserved_ip_urn: pulumi.Output[str] | None
    """DigitalOcean URN of the reserved IP, when there is one."""
    reserved: digitalocean.ReservedIp | None
    """The reserved IP (on api-0) when there is no balancer: after it, the address
    reaches a droplet that serves."""
    ready: list[pulumi.Resource]
    """Per droplet, what ``prepare`` returned: after it, the droplet serves."""
    hosts: list[Host]
    """The droplets as SSH hosts (api-0, api-1, ...) with their pinned host keys, for the
    commands run on them and the stack's known_hosts."""

    def __init__(
        self, name: str, args: DropletFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:DropletFleet", name, None, opts)
        login, settings = args.login, args.settings

        def user_data(
            host_private: pulumi.Output[str], host_public: pulumi.Output[str]
        ) -> pulumi.Output[str]:
            return pulumi.Output.all(login.public_key, host_private, host_public).apply(
                lambda keys: api_user_data(
                    admin_user=login.account.user,
                    admin_key=keys[0],
                    deploy_user=args.deploy_user,
                    host_private_key=keys[1],
                    host_public_key=keys[2],
                )
            )

        guarded = GuardedDroplets(
            name,
            tag=args.fleet_tag,
            firewall_name=f"{args.name_prefix}-fw",
            inbound=[
                ssh_ingress(login.admin_ssh_sources),
                *web_ingress(args.web_load_balancer_uids),
                icmp_from(args.placement.vpc_ip_range),
            ],
            outbound=egress_rules(
                args.placement.vpc_ip_range, mongodb=True, log_port=args.log_port
            ),
            spec=DropletSpec(
                placement=args.placement,
                size=settings.droplet_size,
                image=settings.droplet_image,
                ssh_key_ids=login.ssh_key_ids,
                tags=args.tags,
                backup_policy=settings.backup_policy,
            ),
            parent=self,
        )
        built: list[tuple[digitalocean.Droplet, Host]] = []
        self.ready: list[pulumi.Resource] = []
        for index in range(settings.droplet_count):
            droplet, host = guarded.droplet(
                f"{name}-{index}",
                droplet_name=f"{args.name_prefix}-{index}",
                host_name=f"{name}-{index}",
                user_data=user_data,
                after=self.ready[-1:],
            )
            built.append((droplet, host))
            if args.prepare is not None:
                self.ready.append(args.prepare(host))
        droplets = [droplet for droplet, _ in built]

        self.reserved_ip = None
        self.reserved_ip_urn = None
        self.reserved: digitalocean.ReservedIp | None = None
        if args.web_load_balancer_uids is None:
            reserved = digitalocean.ReservedIp(
                f"{name}-ip",
                region=args.placement.region,
                droplet_id=droplets[0].id.apply(int),
                # A new droplet takes the address once it serves the current release.
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.ready[:1]),
            )
            self.reserved = reserved
            self.reserved_ip = reserved.ip_address
            self.reserved_ip_urn = reserved.reserved_ip_urn

        self.hosts = [host for _, host in built]
        self.droplet_ids = _each(d.id for d in droplets)
        self.droplet_names = _each(d.name for d in droplets)
        self.droplet_urns = _each(d.droplet_urn for d in droplets)
        self.public_ipv4s = _each(d.ipv4_address for d in droplets)
        self.private_ipv4s = _each(d.ipv4_address_private for d in droplets)
        self.deploy_targets = pulumi.Output.all(self.droplet_names, self.public_ipv4s).apply(
            lambda pair: [{"name": n, "ip": ip} for n, ip in zip(*pair, strict=False)]
        )
        self.fleet_tag = pulumi.Output.from_input(args.fleet_tag)
        self.firewall_id = guarded.firewall.id
        outputs: dict[str, Any] = {
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


def _each(values: Any) -> pulumi.Output[list[str]]:
    """One Output of the list of each droplet's value, in index order."""
    return pulumi.Output.all(*values).apply(list)
