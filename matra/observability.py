"""Observability: DigitalOcean alert policies on the fleet and the load balancer, the
uptime check on the API with its alerts (``Monitoring``), and what each API host runs to
report (``HostTelemetry``: log forwarding to Papertrail over TLS, the New Relic
infrastructure agent, the app's Sentry and New Relic settings). The DigitalOcean metrics
agent itself comes with every droplet (``monitoring=True``, matra/guarded.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean

from .hostfiles import host_command
from .rendering import render
from .settings import (
    AlertSettings,
    LogDestination,
    ObservabilitySettings,
    StackSettings,
    UptimeSettings,
)

LOG_FORWARDING_SCRIPT = "log-forwarding.sh"
NEW_RELIC_SCRIPT = "newrelic-agent.sh"
NEW_RELIC_KEY_FINGERPRINT = "A758B3FBCD43BE8D123A3476BB29EE038ECCE87C"
"""New Relic's infrastructure agent signing key (infrastructure-eng@newrelic.com, rsa4096,
2016-10-26), as New Relic's infrastructure-agent repository documents it (docs on signed
packages: `gpg --show-keys --fingerprint newrelic-infra.gpg`); checked 2026-11-27."""
NEW_RELIC_DOWNLOADS = "https://download.newrelic.com/infrastructure_agent"
"""New Relic's download site: the key at gpg/newrelic-infra.gpg, the repository at
linux/apt (suites by Ubuntu codename)."""

DROPLET_CPU = "v1/insights/droplet/cpu"
DROPLET_MEMORY = "v1/insights/droplet/memory_utilization_percent"
DROPLET_DISK = "v1/insights/droplet/disk_utilization_percent"
DROPLET_LOAD = "v1/insights/droplet/load_5"
LB_5XX = "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx"
LB_DROPLET_HEALTH = "v1/insights/lbaas/droplet_health"

_VCPUS = re.compile(r"(?:^|-)(\d+)vcpu(?:-|$)|^c-(\d+)$")


def vcpus(size: str) -> int:
    """The vCPUs of a droplet size slug (s-2vcpu-4gb: 2, c-4: 4)."""
    match = _VCPUS.search(size)
    if match is None:
        raise ValueError(f"no vCPU count in the droplet size {size!r}")
    return int(match.group(1) or match.group(2))


@dataclass
class MonitoringArgs:
    name: str
    """Prefix of the alerts' descriptions and the check's name (e.g. matra-prod)."""
    alerts: AlertSettings
    uptime: UptimeSettings
    fleet_tag: pulumi.Input[str]
    """The API droplets' tag: every droplet alert covers it."""
    api_vcpus: int
    """vCPUs of an API droplet: the load alert's threshold is per vCPU."""
    health_url: str
    """What the uptime check requests: https://<apiHostname><healthPath>."""
    droplet_count: int = 1
    other_droplet_tags: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Tags of the stack's other droplets (the cache droplet) that the CPU, memory and
    disk alerts cover too (the load alert's threshold fits the API droplets only)."""
    load_balancer_id: pulumi.Input[str] | None = None
    """With a load balancer: its 5xx rate and its droplets' health alert too."""

    @classmethod
    def for_stack(
        cls,
        stack: StackSettings,
        *,
        fleet_tag: pulumi.Input[str],
        other_droplet_tags: Sequence[pulumi.Input[str]],
        load_balancer_id: pulumi.Input[str] | None,
    ) -> MonitoringArgs:
        """The stack's alerts and uptime check, sized to its API droplets."""
        fleet = stack.fleet
        return cls(
            name=stack.name_prefix,
            alerts=stack.observability.alerts,
            uptime=stack.observability.uptime,
            fleet_tag=fleet_tag,
            api_vcpus=vcpus(fleet.droplet_size),
            health_url=f"https://{fleet.api_hostname}{fleet.health_path}",
            droplet_count=fleet.droplet_count,
            other_droplet_tags=other_droplet_tags,
            load_balancer_id=load_balancer_id,
        )

    def __post_init__(self) -> None:
        if not self.health_url.startswith("https://"):
            raise ValueError(f"MonitoringArgs.health_url must be https, got {self.health_url!r}")
        if len(self.uptime.regions) < 2:
            raise ValueError("MonitoringArgs.uptime needs at least two regions")


class Monitoring(pulumi.ComponentResource):
    """DigitalOcean alert policies (the droplet metrics the agent reports, the balancer's)
    and an uptime check on the API's health path from several regions, with alerts for
    down, slow and an expiring certificate, all telling the same people."""

    alert_ids: pulumi.Output[list[str]]
    """The alert policies' ids (uuids)."""
    uptime_check_id: pulumi.Output[str]
    """The uptime check's id."""

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        a, prefix = args.alerts, args.name
        notify = digitalocean.MonitorAlertAlertsArgs(
            emails=list(a.emails),
            slacks=None
            if a.slack is None
            else a.slack.apply(
                lambda hooks: [digitalocean.MonitorAlertAlertsSlackArgs(**h) for h in hooks]
            ),
        )
        droplets = [args.fleet_tag, *args.other_droplet_tags]
        load = a.load_per_vcpu * args.api_vcpus

        def alert(
            suffix: str,
            metric: str,
            value: float,
            description: str,
            *,
            tags: Sequence[pulumi.Input[str]] | None = None,
            entities: Sequence[pulumi.Input[str]] | None = None,
            compare: str = "GreaterThan",
        ) -> digitalocean.MonitorAlert:
            return digitalocean.MonitorAlert(
                f"{name}-{suffix}",
                type=metric,
                compare=compare,
                value=float(value),
                window=a.window,
                tags=list(tags) if tags is not None else None,
                entities=list(entities) if entities is not None else None,
                alerts=notify,
                description=f"{prefix}: {description} for {a.window}",
                enabled=True,
                opts=child,
            )

        alerts = [
            alert("cpu", DROPLET_CPU, a.cpu_percent, f"CPU above {a.cpu_percent}%", tags=droplets),
            alert(
                "memory",
                DROPLET_MEMORY,
                a.memory_percent,
                f"memory above {a.memory_percent}%",
                tags=droplets,
            ),
            alert(
                "disk", DROPLET_DISK, a.disk_percent, f"disk above {a.disk_percent}%", tags=droplets
            ),
            alert(
                "load",
                DROPLET_LOAD,
                load,
                f"5-minute load above {load} ({a.load_per_vcpu} per vCPU) on an API droplet",
                tags=[args.fleet_tag],
            ),
        ]
        if args.load_balancer_id is not None:
            alerts += [
                alert(
                    "lb-5xx",
                    LB_5XX,
                    a.lb_5xx_percent,
                    f"load balancer 5xx responses up {a.lb_5xx_percent}%",
                    entities=[args.load_balancer_id],
                ),
                alert(
                    "lb-droplet-health",
                    LB_DROPLET_HEALTH,
                    args.droplet_count,
                    f"fewer than {args.droplet_count} healthy droplet"
                    f"{'s' if args.droplet_count > 1 else ''} behind the load balancer",
                    entities=[args.load_balancer_id],
                    compare="LessThan",
                ),
            ]

        u = args.uptime
        check = digitalocean.UptimeCheck(
            f"{name}-uptime",
            name=f"{prefix}-api",
            target=args.health_url,
            type="https",
            regions=list(u.regions),
            enabled=True,
            opts=child,
        )
        tell = [
            digitalocean.UptimeAlertNotificationArgs(
                emails=list(a.emails),
                slacks=None
                if a.slack is None
                else a.slack.apply(
                    lambda hooks: [
                        digitalocean.UptimeAlertNotificationSlackArgs(**h) for h in hooks
                    ]
                ),
            )
        ]
        # Down from any region; slower than the threshold; a certificate that expires
        # within the threshold's days (well before: certbot renews 30 days ahead).
        conditions: list[tuple[str, str, str | None, int | None]] = [
            ("down", "down", None, None),
            ("latency", "latency", "greater_than", u.latency_ms),
            ("certificate", "ssl_expiry", "less_than", u.cert_expiry_days),
        ]
        for suffix, kind, comparison, threshold in conditions:
            digitalocean.UptimeAlert(
                f"{name}-uptime-{suffix}",
                name=f"{prefix}-api-{suffix}",
                check_id=check.id,
                type=kind,
                comparison=comparison,
                threshold=threshold,
                period=u.period,
                notifications=tell,
                opts=child,
            )

        self.alert_ids = pulumi.Output.all(*(x.id for x in alerts)).apply(list)
        self.uptime_check_id = check.id
        self.register_outputs(
            {"alert_ids": self.alert_ids, "uptime_check_id": self.uptime_check_id}
        )


# -- on the hosts -----------------------------------------------------------------------


@dataclass(frozen=True)
class HostTelemetry:
    """What each API host runs to report, and what the app is told: the host's logs and
    the app's container logs forwarded to Papertrail over TLS, the New Relic
    infrastructure agent, and the app's Sentry and New Relic settings. Every secret
    (license key, DSN) travels on stdin or inside the secret .env, never in a script."""

    settings: ObservabilitySettings
    stack: str
    """The stack: Sentry's environment."""
    app_name: str
    """The app's name in New Relic (e.g. matra-prod-api)."""

    @property
    def log_port(self) -> int | None:
        """The Papertrail port the API hosts send their logs to (their firewall opens it
        outbound); None without Papertrail."""
        papertrail = self.settings.papertrail
        return papertrail.port if papertrail else None

    def announce(self) -> None:
        """In a preview, say once what the hosts will not report to."""
        if self.settings.new_relic_license_key is None and pulumi.runtime.is_dry_run():
            key = self.settings.new_relic_license_key_name
            pulumi.log.warn(
                f"{key} is not set: no New Relic agent on the hosts and no APM settings for "
                f"the app (set it with: pulumi config set --secret {key} <license key>)"
            )

    def log_forwarding_script(self) -> str:
        """Forward the journal (the host's syslog and, through Docker's journald log
        driver, the app's containers) to Papertrail over TLS; without a destination, take
        an earlier forwarding away. Nothing secret."""
        return log_forwarding_script(self.settings.papertrail)

    def new_relic_script(self) -> str:
        """Install (or, without a license key, remove) New Relic's infrastructure agent.
        The key arrives on stdin as the agent's config file (``new_relic_config``)."""
        return new_relic_script(enabled=self.settings.new_relic_license_key is not None)

    def new_relic_config(self) -> pulumi.Output[str] | None:
        """/etc/newrelic-infra.yml (a secret), for the agent script's stdin."""
        key = self.settings.new_relic_license_key
        if key is None:
            return None
        return pulumi.Output.secret(key.apply(lambda k: f"license_key: {k}\n"))

    def app_env(self) -> pulumi.Output[str]:
        """The app's telemetry settings, as .env lines (a secret: DSN and license key)."""
        s = self.settings
        parts: list[Any] = [s.sentry_dsn or "", s.new_relic_license_key or ""]
        return pulumi.Output.secret(
            pulumi.Output.all(*parts).apply(
                lambda values: telemetry_env(
                    sentry_dsn=values[0],
                    new_relic_license_key=values[1],
                    stack=self.stack,
                    app_name=self.app_name,
                )
            )
        )


def telemetry_env(*, sentry_dsn: str, new_relic_license_key: str, stack: str, app_name: str) -> str:
    """The .env lines for Sentry and New Relic's APM agent ("" for an unset service).
    SENTRY_RELEASE is not among them: the compose file sets it from the release the deploy
    command runs."""
    lines = []
    if sentry_dsn:
        lines += [f"SENTRY_DSN={sentry_dsn}", f"SENTRY_ENVIRONMENT={stack}"]
    if new_relic_license_key:
        lines += [
            f"NEW_RELIC_LICENSE_KEY={new_relic_license_key}",
            f"NEW_RELIC_APP_NAME={app_name}",
        ]
    return "".join(f"{line}\n" for line in lines)


def log_forwarding_script(destination: LogDestination | None) -> str:
    """The script that forwards the host's journal to ``destination`` over TLS, or with
    None takes an earlier forwarding away (host/log-forwarding.sh, and the rsyslog drop-in
    beside it when there is a destination)."""
    files = {"rsyslog-forwarding.conf": forwarding_config(destination)} if destination else {}
    return host_command(LOG_FORWARDING_SCRIPT, files=files)


def forwarding_config(destination: LogDestination, *, ca_file: str = "") -> str:
    """The rsyslog drop-in that forwards everything to ``destination`` over TLS."""
    host = destination.host
    return render(
        "rsyslog-forwarding.conf.j2",
        host=host,
        port=destination.port,
        # The destination's certificate names its host, or its domain by a wildcard
        # (Papertrail's: *.papertrailapp.com); only those are accepted.
        permitted_peers=[host, f"*.{host.split('.', 1)[1]}"],
        ca_file=ca_file or "/etc/ssl/certs/ca-certificates.crt",
    )


def new_relic_script(
    *,
    enabled: bool,
    downloads: str = NEW_RELIC_DOWNLOADS,
    fingerprint: str = NEW_RELIC_KEY_FINGERPRINT,
) -> str:
    """The agent step's command (host/newrelic-agent.sh); ``downloads`` and
    ``fingerprint`` are New Relic's but for a test that serves its own signed repository."""
    return host_command(
        NEW_RELIC_SCRIPT,
        params={
            "MATRA_NEW_RELIC": "yes" if enabled else "no",
            "MATRA_NEW_RELIC_DOWNLOADS": downloads,
            "MATRA_NEW_RELIC_FINGERPRINT": fingerprint,
        },
    )


__all__ = [
    "HostTelemetry",
    "Monitoring",
    "MonitoringArgs",
    "forwarding_config",
    "log_forwarding_script",
    "new_relic_script",
    "telemetry_env",
    "vcpus",
]
