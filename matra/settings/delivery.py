"""Delivery settings: what the hosts pull (the registry) and the app's environment."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from matra_data.docker import PATH_COMPONENT

from .observability import TELEMETRY_ENV_KEYS
from .reader import ConfigReader

RESERVED_ENV_KEYS = frozenset({"MONGODB_URI", "REDIS_URL", *TELEMETRY_ENV_KEYS})
"""Keys of the app's environment that the stack itself sets (the telemetry ones from
sentryDsn, newRelicLicenseKey and the release)."""
_ENV_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class DeliverySettings:
    registry_name: str
    app_name: str
    """The app's repository in the registry (registry.digitalocean.com/<registry>/<app>)."""
    app_env: tuple[tuple[str, str], ...]
    """Plain app settings for /opt/matra/.env, in order."""
    app_secret_env: pulumi.Output[str] | None
    """Secret app settings (dotenv lines) for /opt/matra/.env, or None."""


def read_delivery(r: ConfigReader) -> DeliverySettings:
    reserved = sorted(RESERVED_ENV_KEYS)
    delivery = DeliverySettings(
        registry_name=r.matching(
            "registryName",
            "a DigitalOcean container registry name (lower-case letters, digits and -)",
            r"^[a-z0-9-]{1,63}$",
        ),
        app_name=r.string(
            "appName",
            "a container repository name (lower-case letters and digits, joined by ., _ or "
            "-), such as api",
            # Docker's own grammar: the deploy command checks appImage with the same.
            lambda v: bool(PATH_COMPONENT.fullmatch(v)),
        ),
        app_env=tuple(
            (line.partition("=")[0].strip(), line.partition("=")[2])
            for line in r.string_list(
                "appEnv",
                f"a KEY=value line (KEY in upper case, not {', '.join(reserved)}, which the "
                "stack sets)",
                lambda v: env_key(v) is not None,
            )
        ),
        app_secret_env=r.secret("appSecretEnv"),
    )
    lines = (r.raw("appSecretEnv") or "").splitlines() if r.valid("appSecretEnv") else []
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#") and env_key(line) is None:
            r.fail_part(
                "appSecretEnv",
                f"line {number}",
                f"KEY=value lines with upper-case keys other than {', '.join(reserved)} "
                "(the stack sets those)",
            )
    return delivery


def env_key(line: str) -> str | None:
    """The KEY of a KEY=value line, or None if it is not one (a line break in the value
    would smuggle a second setting into the .env)."""
    key, sep, value = line.partition("=")
    key = key.strip()
    if (
        not sep
        or not _ENV_KEY.match(key)
        or key in RESERVED_ENV_KEYS
        or "\n" in value
        or "\r" in value
    ):
        return None
    return key
