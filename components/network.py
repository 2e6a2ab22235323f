"""The stack's private network: a VPC and the fleet's tag."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


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


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    """Id (UUID) of the VPC."""
    ip_range: pulumi.Output[str]
    """The VPC's IPv4 range."""
    fleet_tag: pulumi.Output[str]
    """Name of the fleet tag; depending on it orders resources after the tag exists."""

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
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
        # Load balancers and firewalls refer to the tag by name: creating it first means
        # they never race the first droplet that would otherwise create it implicitly.
        tag = digitalocean.Tag(f"{name}-fleet-tag", name=args.fleet_tag, opts=child)

        self.vpc_id = vpc.id
        self.ip_range = vpc.ip_range
        self.fleet_tag = tag.name
        self.register_outputs({"vpc_id": self.vpc_id, "ip_range": self.ip_range,
                               "fleet_tag": self.fleet_tag})
