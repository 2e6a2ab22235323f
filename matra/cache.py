"""Cache: the app's Redis-compatible cache, DigitalOcean managed Valkey (one to three
nodes) or redis-server on one droplet in the VPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_random as random

from matra_data import catalog

from .cloudinit import cache_user_data
from .guarded import DropletSpec, GuardedDroplets, egress_rules, port_from_tag, ssh_ingress
from .hostfiles import host_command
from .network import Network, Placement
from .settings import RedisSettings, StackSettings
from .ssh import Host, SshLogin

REDIS_PORT = 6379
CONFIGURE_SCRIPT = "redis-configure.sh"


def redis_configure_script(private_ip: str) -> str:
    """The command that binds redis-server to ``private_ip``, sets the password it reads
    on stdin and starts it (host/redis-configure.sh)."""
    return host_command(CONFIGURE_SCRIPT, params={"MATRA_PRIVATE_IP": private_ip})


@dataclass
class CacheArgs:
    name: str
    """Account-unique name of the cache (e.g. matra-prod-cache)."""
    settings: RedisSettings
    placement: Placement
    client_tag: pulumi.Input[str]
    """Only droplets carrying this tag (the API fleet) may connect."""
    tags: Sequence[str] = ()
    image: str = catalog.IMAGES[0]
    """The cache droplet's image (mode droplet); the stack passes its dropletImage."""
    login: SshLogin | None = None
    """Needed for mode droplet: the password is delivered over SSH."""

    @classmethod
    def for_stack(cls, stack: StackSettings, network: Network, login: SshLogin) -> CacheArgs:
        """The stack's cache in its VPC, open to its API fleet alone."""
        return cls(
            name=f"{stack.name_prefix}-cache",
            settings=stack.data.redis,
            placement=network.placement,
            client_tag=network.fleet_tag,
            tags=stack.tags("cache"),
            image=stack.fleet.droplet_image,
            login=login,
        )

    def __post_init__(self) -> None:
        if self.settings.mode == "droplet" and self.login is None:
            raise ValueError("CacheArgs.login is required for mode droplet")


class Cache(pulumi.ComponentResource):
    host: pulumi.Output[str]
    """The cache's private host name or address (not secret)."""
    url: pulumi.Output[str]
    """redis:// or rediss:// URL with the password (a secret)."""
    urns: pulumi.Output[list[str]]
    """DigitalOcean URNs for the stack's DigitalOcean project."""
    ssh_hosts: list[Host]
    """Droplets of the cache that the program reaches over SSH (none when managed)."""
    droplet_tags: list[pulumi.Output[str]]
    """The tag of the cache's droplet, for the alerts that cover it (none when managed)."""

    def __init__(
        self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Named RedisNode before it could be a managed cluster of several nodes.
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="matra:index:RedisNode")])
        super().__init__(
            "matra:index:Cache", name, None, pulumi.ResourceOptions.merge(opts, renamed)
        )
        if args.settings.mode == "managed":
            self._managed(name, args)
        else:
            self._droplet(name, args)
        self.register_outputs({"host": self.host, "url": self.url, "urns": self.urns})

    def _managed(self, name: str, args: CacheArgs) -> None:
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        cluster = digitalocean.DatabaseCluster(
            f"{name}-valkey",
            name=args.name,
            engine="valkey",
            version=s.version,
            size=s.size,
            node_count=s.node_count,
            region=args.placement.region,
            private_network_uuid=args.placement.vpc_uuid,
            eviction_policy="allkeys_lru",
            tags=list(args.tags),
            opts=child,
        )
        digitalocean.DatabaseFirewall(
            f"{name}-valkey-firewall",
            cluster_id=cluster.id,
            rules=[digitalocean.DatabaseFirewallRuleArgs(type="tag", value=args.client_tag)],
            opts=child,
        )
        self.host = cluster.private_host
        self.url = pulumi.Output.secret(cluster.private_uri)
        self.urns = pulumi.Output.all(cluster.cluster_urn).apply(list)
        self.ssh_hosts = []
        self.droplet_tags = []

    def _droplet(self, name: str, args: CacheArgs) -> None:
        login = args.login
        assert login is not None  # CacheArgs checks it
        child = pulumi.ResourceOptions(parent=self)
        # The firewall selects the droplet by its own tag, so the tag exists before either.
        tag = digitalocean.Tag(f"{name}-tag", name=args.name, opts=child).name
        guarded = GuardedDroplets(
            name,
            tag=tag,
            firewall_name=f"{args.name}-fw",
            inbound=[
                ssh_ingress(login.admin_ssh_sources),
                port_from_tag(REDIS_PORT, args.client_tag),
            ],
            outbound=egress_rules(args.placement.vpc_ip_range, mongodb=False),
            spec=DropletSpec(
                placement=args.placement,
                size=args.settings.size,
                image=args.image,
                ssh_key_ids=login.ssh_key_ids,
                tags=args.tags,
            ),
            parent=self,
        )
        droplet, host = guarded.droplet(
            f"{name}-droplet",
            droplet_name=args.name,
            host_name=name,
            user_data=lambda host_private, host_public: pulumi.Output.all(
                login.public_key, args.placement.vpc_ip_range, host_private, host_public
            ).apply(
                lambda parts: cache_user_data(
                    admin_user=login.account.user,
                    admin_key=parts[0],
                    vpc_ip_range=parts[1],
                    host_private_key=parts[2],
                    host_public_key=parts[3],
                )
            ),
        )
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        private_ip = droplet.ipv4_address_private
        self.ssh_hosts = [host]
        configure = login.account.run(
            f"{name}-configure",
            host,
            private_ip.apply(redis_configure_script),
            # The password travels on stdin: never on a command line, never in user data.
            stdin=password.result,
            # Runs again on a new address too; a new password (stdin) re-runs it as well.
            triggers=[private_ip],
            parent=self,
        )
        self.droplet_tags = [tag]
        self.host = private_ip
        self.url = pulumi.Output.secret(
            pulumi.Output.all(password.result, private_ip, configure.id).apply(
                lambda parts: f"redis://default:{parts[0]}@{parts[1]}:{REDIS_PORT}/0"
            )
        )
        self.urns = pulumi.Output.all(droplet.droplet_urn).apply(list)
