"""The stack's settings: read once from Pulumi config, validated, typed.

Every key is declared in ``Pulumi.yaml`` (type, default, description); the CLI applies
those defaults. ``load()`` turns the raw values into one frozen ``StackSettings``, one
concern a module (fleet, access, data, TLS, delivery, observability: a new setting
touches its concern's module and Pulumi.yaml). Every problem found is reported as one
line naming the key, the value and what is allowed, in a ``ConfigError`` (a
``pulumi.RunError``, which the language host prints without a traceback) raised before
any resource is registered; the program shows it with ``stop``, as its only error.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .access import ADMIN_USER, AccessSettings, AutomationKey, read_access
from .data import AtlasSettings, DataSettings, RedisSettings, read_data
from .delivery import DeliverySettings, env_key, read_delivery
from .fleet import BackupPolicy, FleetSettings, read_fleet
from .observability import (
    AlertSettings,
    LogDestination,
    ObservabilitySettings,
    UptimeSettings,
    read_observability,
)
from .reader import ConfigError, ConfigReader, stop
from .tls import TlsSettings, read_tls

ENVIRONMENTS = ("Development", "Staging", "Production")


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    """The DigitalOcean project's environment: Development, Staging or Production."""
    fleet: FleetSettings
    access: AccessSettings
    data: DataSettings
    tls: TlsSettings
    delivery: DeliverySettings
    observability: ObservabilitySettings

    @property
    def name_prefix(self) -> str:
        """Prefix of cloud-side names, unique per stack in one account."""
        return f"matra-{self.stack}"

    def tags(self, role: str) -> list[str]:
        """The tags of the stack's resources in ``role`` (api, cache): account-wide."""
        return ["matra", f"env:{self.stack}", f"role:{role}"]

    @property
    def fleet_tag(self) -> str:
        """The DigitalOcean tag that marks this stack's API droplets (tags are
        account-wide, so it carries the stack name)."""
        return f"matra-{self.stack}-api"


def load(config: pulumi.Config | None = None, stack: str | None = None) -> StackSettings:
    """Read and validate every stack setting; raise ConfigError listing each problem."""
    r = ConfigReader(config or pulumi.Config())
    environment = r.choice("environment", ENVIRONMENTS)
    fleet = read_fleet(r)
    settings = StackSettings(
        stack or pulumi.get_stack(),
        environment,
        fleet,
        read_access(r),
        read_data(r, environment),
        read_tls(r),
        read_delivery(r),
        read_observability(r),
    )
    r.finish()
    return settings


__all__ = [
    "ADMIN_USER",
    "AccessSettings",
    "AlertSettings",
    "AtlasSettings",
    "AutomationKey",
    "BackupPolicy",
    "ConfigError",
    "ConfigReader",
    "DataSettings",
    "DeliverySettings",
    "FleetSettings",
    "LogDestination",
    "ObservabilitySettings",
    "RedisSettings",
    "StackSettings",
    "TlsSettings",
    "UptimeSettings",
    "env_key",
    "load",
    "stop",
]
