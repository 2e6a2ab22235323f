"""Guarded droplets: a tag, the Cloud Firewall that selects it, and droplets that carry
it, created only once the firewall exists, so no droplet of ours ever boots unguarded.
The API fleet and the cache droplet are both built here, and every firewall rule the
program writes is built here too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

import pulumi
import pulumi_digitalocean as digitalocean

from matra_data.baseline import API_EGRESS, EGRESS, Port

from .network import Placement
from .settings import BackupPolicy
from .ssh import Host, HostKey, moved

ANYWHERE = ["0.0.0.0/0", "::/0"]


# -- firewall rules -------------------------------------------------------------------


def ssh_ingress(sources: Sequence[str]) -> digitalocean.FirewallInboundRuleArgs:
    """Port 22 from the admin CIDRs only."""
    return digitalocean.FirewallInboundRuleArgs(
        protocol="tcp", port_range="22", source_addresses=list(sources)
    )


def web_ingress(
    load_balancer_uids: pulumi.Input[Sequence[pulumi.Input[str]]] | None,
) -> list[digitalocean.FirewallInboundRuleArgs]:
    """Behind a load balancer: port 80 from the balancer alone (TLS ends there). Without
    one: 80 (ACME HTTP-01, redirects) and 443 from anywhere."""
    if load_balancer_uids is None:
        return [
            digitalocean.FirewallInboundRuleArgs(
                protocol="tcp", port_range=port, source_addresses=ANYWHERE
            )
            for port in ("80", "443")
        ]
    return [
        digitalocean.FirewallInboundRuleArgs(
            protocol="tcp", port_range="80", source_load_balancer_uids=load_balancer_uids
        )
    ]


def port_from_tag(port: int, tag: pulumi.Input[str]) -> digitalocean.FirewallInboundRuleArgs:
    """One TCP port, from the droplets carrying ``tag`` only."""
    return digitalocean.FirewallInboundRuleArgs(
        protocol="tcp", port_range=str(port), source_tags=[tag]
    )


def icmp_from(network: pulumi.Input[str]) -> digitalocean.FirewallInboundRuleArgs:
    return digitalocean.FirewallInboundRuleArgs(protocol="icmp", source_addresses=[network])


def egress_rules(
    vpc_ip_range: pulumi.Input[str], *, mongodb: bool, log_port: int | None = None
) -> list[digitalocean.FirewallOutboundRuleArgs]:
    """Egress to everywhere on the baseline's ports (and MongoDB's, for the API hosts;
    the log destination's, where the hosts forward their logs), ICMP, and anything
    inside the VPC. Inbound, only what each firewall's own rules admit: the VPC is not
    open inwards."""
    ports = [
        *EGRESS,
        *(API_EGRESS if mongodb else ()),
        *([Port("tcp", str(log_port), "syslog over TLS")] if log_port else []),
    ]
    return [
        *(
            digitalocean.FirewallOutboundRuleArgs(
                protocol=p.protocol, port_range=p.port, destination_addresses=ANYWHERE
            )
            for p in ports
        ),
        digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=ANYWHERE),
        *(
            digitalocean.FirewallOutboundRuleArgs(
                protocol=protocol, port_range="1-65535", destination_addresses=[vpc_ip_range]
            )
            for protocol in ("tcp", "udp")
        ),
    ]


# -- the builder ----------------------------------------------------------------------


@dataclass
class DropletSpec:
    """What every droplet of one guarded group shares."""

    placement: Placement
    size: pulumi.Input[str]
    image: pulumi.Input[str]
    ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    tags: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Tags besides the guarding tag."""
    backup_policy: BackupPolicy | None = None
    """None turns droplet backups off."""


class GuardedDroplets:
    """The firewall for ``tag``; then ``droplet()`` for each droplet that carries it."""

    def __init__(
        self,
        name: str,
        *,
        tag: pulumi.Input[str],
        firewall_name: pulumi.Input[str],
        inbound: Sequence[digitalocean.FirewallInboundRuleArgs],
        outbound: Sequence[digitalocean.FirewallOutboundRuleArgs],
        spec: DropletSpec,
        parent: pulumi.Resource,
    ) -> None:
        self.tag = tag
        self.spec = spec
        self.parent = parent
        self.firewall = digitalocean.Firewall(
            f"{name}-firewall",
            name=firewall_name,
            tags=[tag],
            inbound_rules=list(inbound),
            outbound_rules=list(outbound),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def droplet(
        self,
        name: str,
        *,
        droplet_name: str,
        host_name: str,
        user_data: Callable[[pulumi.Output[str], pulumi.Output[str]], pulumi.Output[str]],
        after: Sequence[pulumi.Resource] = (),
        parent: pulumi.Resource | None = None,
    ) -> tuple[digitalocean.Droplet, Host]:
        """One droplet carrying the tag, with its own SSH host key, created after the
        firewall and after ``after``. ``user_data(private, public)`` renders its cloud-init
        around that key. Returns the droplet and the Host to reach it by (its key pinned).
        ``parent``: the component that owns the droplet and its key, when it is not the
        group's (the two were the group's children before: aliased to it)."""
        spec = self.spec
        owner = parent or self.parent
        moved_from = self.parent if parent is not None else None
        policy = spec.backup_policy
        # What replaces this droplet (its image, region, VPC, SSH keys or the rest of its
        # user data) replaces its host key too.
        blank = pulumi.Output.from_input("")
        replaced_with = pulumi.Output.all(
            spec.image,
            spec.placement.region,
            spec.placement.vpc_uuid,
            spec.ssh_key_ids,
            user_data(blank, blank).apply(lambda text: sha256(text.encode()).hexdigest()),
        )
        key = HostKey(
            f"{name}-host-key", replaced_with=replaced_with, parent=owner, moved_from=moved_from
        )
        document: pulumi.Output[str] = pulumi.Output.secret(
            user_data(key.private_key, key.public_key)
        )
        droplet = digitalocean.Droplet(
            name,
            name=droplet_name,
            region=spec.placement.region,
            size=spec.size,
            image=spec.image,
            vpc_uuid=spec.placement.vpc_uuid,
            ssh_keys=spec.ssh_key_ids,
            tags=[self.tag, *spec.tags],
            monitoring=True,
            droplet_agent=True,
            ipv6=False,
            backups=policy is not None,
            backup_policy=None
            if policy is None
            else digitalocean.DropletBackupPolicyArgs(
                plan=policy.plan, weekday=policy.weekday, hour=policy.hour
            ),
            # User data holds only what lasts the droplet's life; changing it replaces the
            # droplet, and the preview says so. It carries the host key's private half (a
            # secret in state), nothing else secret: the rest arrives over SSH.
            user_data=document,
            # The firewall selecting the tag exists first: no droplet boots unguarded.
            # A replacement is created before the droplet it replaces is deleted: the
            # provider asks for the reverse (it reads an explicit name as one that must
            # be unique; droplet names need not be), which the engine's plan showed
            # deleting every droplet, and what runs on it, before its successor existed.
            opts=pulumi.ResourceOptions(
                parent=owner,
                depends_on=[self.firewall, *after],
                delete_before_replace=False,
                aliases=moved(moved_from),
            ),
        )
        host = Host(
            name=host_name,
            address=droplet.ipv4_address,
            droplet_id=droplet.id,
            host_key=key.public_key,
            hostname=droplet.name,
        )
        return droplet, host
