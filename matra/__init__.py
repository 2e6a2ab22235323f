"""matra-infra components: one ComponentResource a module, plus what they share."""

from .access import SshAccess, SshAccessArgs
from .atlas import AccessEntry, AtlasCluster, AtlasClusterArgs
from .cache import Cache, CacheArgs
from .fleet import ApiHost, ApiHostArgs, DropletFleet, DropletFleetArgs
from .hosts import (
    AdminKeys,
    AdminKeysArgs,
    CertbotRemoval,
    CertbotRemovalArgs,
    CertbotSetup,
    CertbotSetupArgs,
)
from .hostsetup import HostSetup, HostSetupArgs
from .ingress import Ingress, IngressArgs
from .loadbalancer import ApiLoadBalancer, ApiLoadBalancerArgs
from .network import Network, NetworkArgs, Placement
from .observability import HostTelemetry, Monitoring, MonitoringArgs
from .ssh import Host, SshAccount, SshLogin

__all__ = [
    "AccessEntry",
    "AdminKeys",
    "AdminKeysArgs",
    "ApiHost",
    "ApiHostArgs",
    "ApiLoadBalancer",
    "ApiLoadBalancerArgs",
    "AtlasCluster",
    "AtlasClusterArgs",
    "Cache",
    "CacheArgs",
    "CertbotRemoval",
    "CertbotRemovalArgs",
    "CertbotSetup",
    "CertbotSetupArgs",
    "DropletFleet",
    "DropletFleetArgs",
    "Host",
    "HostSetup",
    "HostSetupArgs",
    "HostTelemetry",
    "Ingress",
    "IngressArgs",
    "Monitoring",
    "MonitoringArgs",
    "Network",
    "NetworkArgs",
    "Placement",
    "SshAccess",
    "SshAccessArgs",
    "SshAccount",
    "SshLogin",
]
