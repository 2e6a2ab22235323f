"""matra-infra components: one ComponentResource a module, plus what they share."""

from .access import SshAccess, SshAccessArgs
from .atlas import AccessEntry, AtlasCluster, AtlasClusterArgs
from .cache import RedisNode, RedisNodeArgs, SshLogin
from .fleet import DropletFleet, DropletFleetArgs, HostSetup
from .hosts import (
    AdminKeys, AdminKeysArgs, CertbotSetup, CertbotSetupArgs, Host, HostDelivery,
    HostDeliveryArgs, SshAccount,
)
from .loadbalancer import ApiLoadBalancer, ApiLoadBalancerArgs
from .network import Network, NetworkArgs

__all__ = [
    "AccessEntry", "AtlasCluster", "AtlasClusterArgs", "RedisNode", "RedisNodeArgs",
    "SshLogin", "AdminKeys", "AdminKeysArgs", "CertbotSetup", "CertbotSetupArgs", "Host", "HostDelivery",
    "HostDeliveryArgs", "SshAccount", "ApiLoadBalancer", "ApiLoadBalancerArgs", "DropletFleet", "DropletFleetArgs",
    "HostSetup", "Network", "NetworkArgs", "SshAccess", "SshAccessArgs",
]
