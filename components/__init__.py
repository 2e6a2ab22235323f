"""matra-infra components: one ComponentResource a module, plus what they share."""

from .access import SshAccess, SshAccessArgs
from .fleet import DropletFleet, DropletFleetArgs, HostSetup
from .loadbalancer import ApiLoadBalancer, ApiLoadBalancerArgs
from .network import Network, NetworkArgs

__all__ = [
    "ApiLoadBalancer", "ApiLoadBalancerArgs", "DropletFleet", "DropletFleetArgs",
    "HostSetup", "Network", "NetworkArgs", "SshAccess", "SshAccessArgs",
]
