"""DropletFleet: the API hosts behind one Cloud Firewall; ApiHost: one of them (its
droplet and host key, its database access entry, its setup), each made only once the
one before it serves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean

from .atlas import AccessEntry, AtlasCluster
from .cloudinit import api_user_data
from .guarded import DropletSpec, GuardedDroplets, egress_rules, icmp_from, ssh_ingress, web_ingress
from .hostsetup import HostSetup
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
    """How many droplets, their size, image and backups, whether a load balancer fronts
    them."""
    deploy_user: str
    """The deploy user cloud-init creates (its key arrives with the host setup)."""
    load_balancer_uid: pulumi.Input[str] = ""
    """The load balancer (``settings.load_balancer``) that alone may reach 80; without
    one, 80/443 are open to anywhere (the lone droplet's reserved IP: matra/ingress.py)."""
    database: AtlasCluster | None = None
    """Each host's address goes on its access list before the host's release starts."""
    setup: HostSetup | None = None
    """What sets a host up after its first boot; a droplet is created only once the one
    before it serves (its setup's last step done), so droplets are created, and replaced,
    one at a time."""
    tags: Sequence[str] = field(default_factory=tuple)
    """Tags besides the fleet tag."""
    log_port: int | None = None
    """The TCP port of the log destination the droplets forward to (Papertrail's), which
    their firewall opens outwards; None when logs stay on the hosts."""

    def __post_init__(self) -> None:
        count = self.settings.droplet_count
        if count < 1:
            raise ValueError(f"DropletFleetArgs: droplet count must be at least 1, got {count}")
        if not self.settings.load_balancer and count != 1:
            raise ValueError(
                "DropletFleetArgs: without a load balancer the reserved IP needs exactly one "
                f"droplet, got {count}"
            )
        if self.settings.load_balancer and self.load_balancer_uid == "":
            raise ValueError(
                "DropletFleetArgs.load_balancer_uid must name the balancer the firewall "
                "admits on 80 (settings.load_balancer is set)"
            )
        if not self.login.admin_ssh_sources:
            raise ValueError("DropletFleetArgs.login.admin_ssh_sources must name at least one CIDR")


@dataclass
class ApiHostArgs:
    index: int
    group: GuardedDroplets
    """The fleet's firewall and what its droplets share."""
    droplet_name: str
    user_data: Callable[[pulumi.Output[str], pulumi.Output[str]], pulumi.Output[str]]
    database: AtlasCluster | None = None
    setup: HostSetup | None = None
    after: pulumi.Resource | None = None
    """The host before this one's ``ready``: nothing of this host is made before it."""


class ApiHost(pulumi.ComponentResource):
    """One API host: its droplet and SSH host key, its entry on the database's access
    list, and its setup over SSH, which ends with it serving the stack's release."""

    droplet: digitalocean.Droplet
    host: Host
    """The droplet as an SSH host, its key pinned."""
    ready: pulumi.Resource
    """After it the host serves (its setup's last step; the droplet without a setup)."""

    def __init__(
        self, name: str, args: ApiHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:ApiHost", name, None, opts)
        # Before this component existed, droplet and key were the fleet's children, the
        # access entry the database's and the setup steps the host setup's: each is
        # aliased to where it was, so the move changes nothing in a running stack.
        self.droplet, self.host = args.group.droplet(
            name,
            droplet_name=args.droplet_name,
            host_name=name,
            user_data=args.user_data,
            after=[args.after] if args.after is not None else [],
            parent=self,
        )
        allowed = (
            [
                args.database.allow(
                    args.index,
                    # The droplet's name as given (not its output): one dependency
                    # on the droplet fewer for the SDK to check for cycles.
                    AccessEntry(ip_address=self.host.address, comment=args.droplet_name),
                    owner=self,
                )
            ]
            if args.database is not None
            else []
        )
        self.ready = (
            args.setup.prepare(self.host, after=allowed, owner=self)
            if args.setup is not None
            else self.droplet
        )
        self.register_outputs({"droplet_id": self.droplet.id})


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
    api_hosts: list[ApiHost]
    """api-0, api-1, ...: each host's droplet, key, access entry and setup."""
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

        group = GuardedDroplets(
            name,
            tag=args.fleet_tag,
            firewall_name=f"{args.name_prefix}-fw",
            inbound=[
                ssh_ingress(login.admin_ssh_sources),
                *web_ingress([args.load_balancer_uid] if settings.load_balancer else None),
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
        self.api_hosts: list[ApiHost] = []
        for index in range(settings.droplet_count):
            self.api_hosts.append(
                ApiHost(
                    f"{name}-{index}",
                    ApiHostArgs(
                        index=index,
                        group=group,
                        droplet_name=f"{args.name_prefix}-{index}",
                        user_data=user_data,
                        database=args.database,
                        setup=args.setup,
                        after=self.api_hosts[-1].ready if self.api_hosts else None,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        droplets = [api.droplet for api in self.api_hosts]
        self.hosts = [api.host for api in self.api_hosts]
        self.droplet_ids = _each(d.id for d in droplets)
        self.droplet_names = _each(d.name for d in droplets)
        self.droplet_urns = _each(d.droplet_urn for d in droplets)
        self.public_ipv4s = _each(d.ipv4_address for d in droplets)
        self.private_ipv4s = _each(d.ipv4_address_private for d in droplets)
        self.deploy_targets = pulumi.Output.all(self.droplet_names, self.public_ipv4s).apply(
            lambda pair: [{"name": n, "ip": ip} for n, ip in zip(*pair, strict=False)]
        )
        self.fleet_tag = pulumi.Output.from_input(args.fleet_tag)
        self.firewall_id = group.firewall.id
        self.register_outputs(
            {
                "droplet_ids": self.droplet_ids,
                "droplet_names": self.droplet_names,
                "public_ipv4s": self.public_ipv4s,
                "private_ipv4s": self.private_ipv4s,
                "fleet_tag": self.fleet_tag,
                "firewall_id": self.firewall_id,
            }
        )


def _each(values: Any) -> pulumi.Output[list[str]]:
    """One Output of the list of each droplet's value, in index order."""
    return pulumi.Output.all(*values).apply(list)
