"""The stack's private network: a VPC and the fleet's tag."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from .settings import StackSettings


@dataclass
class Placement:
    """Where a stack's resources go: its region and its VPC."""

    region: pulumi.Input[str]
    """DigitalOcean region slug."""
    vpc_uuid: pulumi.Input[str]
    """Id of the stack's VPC."""
    vpc_ip_range: pulumi.Input[str]
    """The VPC's private IPv4 range."""


@dataclass
class NetworkArgs:
    region: pulumi.Input[str]
    """DigitalOcean region slug of the VPC."""
    ip_range: pulumi.Input[str]
    """Private IPv4 range of the VPC in CIDR notation."""
    vpc_name: pulumi.Input[str]
    """Account-unique VPC name."""
    fleet_tag: pulumi.Input[str]
    """Account-unique tag that marks the stack's API droplets."""

    @classmethod
    def for_stack(cls, stack: StackSettings) -> NetworkArgs:
        """The stack's VPC (named after the stack) and fleet tag."""
        return cls(
            region=stack.fleet.region,
            ip_range=stack.fleet.vpc_ip_range,
            vpc_name=f"{stack.name_prefix}-vpc",
            fleet_tag=stack.fleet_tag,
        )


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    """Id (UUID) of the VPC."""
    ip_range: pulumi.Output[str]
    """The VPC's IPv4 range."""
    placement: Placement
    """The region and this VPC, for whatever the stack places in it."""
    fleet_tag: pulumi.Output[str]
    """Name of the fleet tag. Pass this Output (not the plain name) to whatever selects
    by the tag, so the engine creates the tag before it."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        vpc = digitalocean.Vpc(
            f"{name}-vpc",
            name=args.vpc_name,
            region=args.region,
            ip_range=args.ip_range,
            description="Matra API hosts and data tier (managed by Pulumi)",
            opts=child,
        )
        # Load balancers, firewalls and droplets refer to the tag by name; they take it
        # from this resource's output, so it exists before any of them (a droplet would
        # otherwise create it implicitly, racing the firewall that selects by it).
        tag = digitalocean.Tag(f"{name}-fleet-tag", name=args.fleet_tag, opts=child)

        self.vpc_id = vpc.id
        self.ip_range = vpc.ip_range
        self.fleet_tag = tag.name
        self.placement = Placement(region=args.region, vpc_uuid=vpc.id, vpc_ip_range=vpc.ip_range)
        self.register_outputs(
            {"vpc_id": self.vpc_id, "ip_range": self.ip_range, "fleet_tag": self.fleet_tag}
        )
