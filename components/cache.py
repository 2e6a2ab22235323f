"""RedisNode: the app's cache, DigitalOcean managed Valkey or redis-server on a droplet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_command as command
import pulumi_digitalocean as digitalocean
import pulumi_random as random

from .cloudinit import cache_user_data
from .fleet import egress_rules, ssh_ingress
from .hosts import Host, SshAccount
from .rendering import render
from .settings import RedisSettings

REDIS_PORT = 6379
CONFIGURE_SCRIPT = "redis-configure.sh.j2"


@dataclass
class SshLogin:
    """What a droplet the program configures over SSH needs: who logs in, with what key,
    from where."""

    account: SshAccount
    """The admin (ops) user and the automation key's secret private half."""
    public_key: pulumi.Input[str]
    """The automation key's public half, for that user in cloud-init."""
    ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    admin_ssh_sources: Sequence[str]


@dataclass
class RedisNodeArgs:
    name: str
    """Account-unique name of the cache (e.g. matra-prod-cache)."""
    settings: RedisSettings
    region: pulumi.Input[str]
    vpc_uuid: pulumi.Input[str]
    vpc_ip_range: pulumi.Input[str]
    client_tag: pulumi.Input[str]
    """Only droplets carrying this tag (the API fleet) may connect."""
    tags: Sequence[str] = ()
    image: str = "ubuntu-24-04-x64"
    login: Optional[SshLogin] = None
    """Needed for mode droplet: the password is delivered over SSH."""

    def __post_init__(self) -> None:
        if self.settings.mode == "droplet" and self.login is None:
            raise ValueError("RedisNodeArgs.login is required for mode droplet")


class RedisNode(pulumi.ComponentResource):
    host: pulumi.Output[str]
    """The cache's private host name or address (not secret)."""
    url: pulumi.Output[str]
    """redis:// or rediss:// URL with the password (a secret)."""
    urns: pulumi.Output[list[str]]
    """DigitalOcean URNs for the stack's DigitalOcean project."""
    ssh_hosts: list[Host]
    """Droplets of the cache that the program reaches over SSH (none when managed)."""

    def __init__(self, name: str, args: RedisNodeArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:RedisNode", name, None, opts)
        if args.settings.mode == "managed":
            self._managed(name, args)
        else:
            self._droplet(name, args)
        self.register_outputs({"host": self.host, "url": self.url, "urns": self.urns})

    def _managed(self, name: str, args: RedisNodeArgs) -> None:
        s = args.settings
        cluster = digitalocean.DatabaseCluster(
            f"{name}-valkey",
            name=args.name,
            engine="valkey",
            version=s.version,
            size=s.size,
            node_count=s.node_count,
            region=args.region,
            private_network_uuid=args.vpc_uuid,
            eviction_policy="allkeys_lru",
            tags=list(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        digitalocean.DatabaseFirewall(
            f"{name}-valkey-firewall",
            cluster_id=cluster.id,
            rules=[digitalocean.DatabaseFirewallRuleArgs(type="tag", value=args.client_tag)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.host = cluster.private_host
        self.url = pulumi.Output.secret(cluster.private_uri)
        self.urns = pulumi.Output.all(cluster.cluster_urn).apply(list)
        self.ssh_hosts = []

    def _droplet(self, name: str, args: RedisNodeArgs) -> None:
        login = args.login
        assert login is not None
        child = pulumi.ResourceOptions(parent=self)
        # The firewall selects the droplet by this tag, so it exists before either.
        tag = digitalocean.Tag(f"{name}-tag", name=args.name, opts=child).name
        firewall = digitalocean.Firewall(
            f"{name}-firewall",
            name=f"{args.name}-fw",
            tags=[tag],
            inbound_rules=[
                ssh_ingress(login.admin_ssh_sources),
                digitalocean.FirewallInboundRuleArgs(
                    protocol="tcp", port_range=str(REDIS_PORT),
                    source_tags=[args.client_tag]),
            ],
            outbound_rules=egress_rules(args.vpc_ip_range, mongodb=False),
            opts=child,
        )
        user_data = pulumi.Output.all(login.public_key, args.vpc_ip_range).apply(
            lambda parts: cache_user_data(admin_user=login.account.user, admin_key=parts[0],
                                          vpc_ip_range=parts[1]))
        droplet = digitalocean.Droplet(
            f"{name}-droplet",
            name=args.name,
            region=args.region,
            size=args.settings.size,
            image=args.image,
            vpc_uuid=args.vpc_uuid,
            ssh_keys=login.ssh_key_ids,
            tags=[tag, *args.tags],
            monitoring=True,
            droplet_agent=True,
            user_data=user_data,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[firewall]),
        )
        password = random.RandomPassword(f"{name}-password", length=40, special=False,
                                         opts=child)
        private_ip = droplet.ipv4_address_private
        host = Host(name=name, address=droplet.ipv4_address, droplet_id=droplet.id)
        self.ssh_hosts = [host]
        configure = command.remote.Command(
            f"{name}-configure",
            connection=login.account.connection(host),
            create=private_ip.apply(lambda ip: render(CONFIGURE_SCRIPT, private_ip=ip)),
            # The password travels on stdin: never on a command line, never in user data.
            stdin=password.result,
            # Runs again on a new droplet or address; a new password (stdin) re-runs it too.
            triggers=[droplet.id, private_ip],
            opts=child,
        )
        self.host = private_ip
        self.url = pulumi.Output.secret(pulumi.Output.all(
            password.result, private_ip, configure.id).apply(
                lambda parts: f"redis://default:{parts[0]}@{parts[1]}:{REDIS_PORT}/0"))
        self.urns = pulumi.Output.all(droplet.droplet_urn).apply(list)
