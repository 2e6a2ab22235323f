"""Observability settings: who DigitalOcean's alerts tell and when they fire, the uptime
check on the API, and where the hosts report (New Relic, Sentry, Papertrail)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from .checks import is_email, is_hostname, is_https_url
from .reader import ConfigReader

ALERT_WINDOWS = ("5m", "10m", "30m", "1h")
"""The windows a DigitalOcean alert policy takes (MonitorAlert.window; API enum)."""
UPTIME_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
"""Where DigitalOcean's uptime checks run from (UptimeCheck.regions)."""
UPTIME_PERIODS = ("2m", "3m", "5m", "10m", "15m", "30m", "1h")
"""How long an uptime alert's condition must hold (UptimeAlert.period; API enum)."""
CERTIFICATE_RENEWAL_DAYS = 30
"""certbot renews a certificate when 30 days are left; an expiry alert at that many days
or more would fire before every renewal."""

TELEMETRY_ENV_KEYS = frozenset(
    {
        "NEW_RELIC_LICENSE_KEY",
        "NEW_RELIC_APP_NAME",
        "SENTRY_DSN",
        "SENTRY_ENVIRONMENT",
        "SENTRY_RELEASE",
    }
)
"""The app's environment variables the stack sets from these settings (and, for
SENTRY_RELEASE, from the release the deploy command runs)."""

_WEBHOOK_EXAMPLE = "'#ops-alerts https://hooks.slack.com/services/T000/B000/XXXX'"


@dataclass(frozen=True)
class AlertSettings:
    """DigitalOcean alert policies on the fleet (and the load balancer, where there is one):
    what they watch, when they fire and who they tell."""

    emails: tuple[str, ...]
    """Addresses told (each must belong to a member of the DigitalOcean team)."""
    slack: pulumi.Output[list[dict[str, str]]] | None
    """[{channel, url}] per Slack webhook, a secret (the URL is the credential)."""
    cpu_percent: int
    memory_percent: int
    disk_percent: int
    load_per_vcpu: int
    """The 5-minute load average per vCPU that alerts."""
    lb_5xx_percent: int
    """The load balancer's increase in 5xx responses, in percent, that alerts."""
    window: str
    """How long a droplet or balancer metric must be past its threshold."""


@dataclass(frozen=True)
class UptimeSettings:
    """DigitalOcean's uptime check on the API's health path, and its alerts."""

    regions: tuple[str, ...]
    latency_ms: int
    cert_expiry_days: int
    period: str


@dataclass(frozen=True)
class LogDestination:
    """A syslog-over-TLS endpoint (a Papertrail log destination)."""

    host: str
    port: int


@dataclass(frozen=True)
class ObservabilitySettings:
    alerts: AlertSettings
    uptime: UptimeSettings
    new_relic_license_key: pulumi.Output[str] | None
    """New Relic license (ingest) key, a secret; None installs no agent and sets no APM."""
    new_relic_license_key_name: str
    """Its full config key (e.g. matra-infra:newRelicLicenseKey), for the notice a preview
    gives while it is unset."""
    sentry_dsn: pulumi.Output[str] | None
    """The app's Sentry DSN, a secret; None sets no Sentry settings."""
    papertrail: LogDestination | None
    """Where the hosts' logs go over TLS; None keeps them on the hosts."""


def read_observability(r: ConfigReader) -> ObservabilitySettings:
    return ObservabilitySettings(
        alerts=_alerts(r),
        uptime=_uptime(r),
        new_relic_license_key=_secret(
            r,
            "newRelicLicenseKey",
            "a New Relic license key (40 letters and digits)",
            r"^[A-Za-z0-9]{40}$",
        ),
        new_relic_license_key_name=r.key("newRelicLicenseKey"),
        sentry_dsn=_secret(
            r,
            "sentryDsn",
            "a Sentry DSN such as https://<public key>@o123.ingest.sentry.io/456",
            r"^https://[0-9a-f]{16,64}(:[0-9a-f]{16,64})?@[a-z0-9.-]+\.[a-z]{2,}(:[0-9]{1,5})?"
            r"(/[A-Za-z0-9._-]+)*/[0-9]+$",
        ),
        papertrail=r.optional(
            "papertrailDestination",
            "host:port of a Papertrail log destination, such as logs5.papertrailapp.com:12345 "
            "(Settings > Log Destinations), or unset",
            _destination,
        ),
    )


def _alerts(r: ConfigReader) -> AlertSettings:
    emails = r.string_list("alertEmails", "an e-mail address such as ops@matra.io", is_email)
    channels, slack = _slack_webhooks(r)
    if not emails and not channels and r.valid("alertEmails", "alertSlackWebhooks"):
        r.fail(
            "alertEmails",
            r.raw("alertEmails") or "[]",
            f"at least one e-mail address, or a Slack webhook in {r.key('alertSlackWebhooks')} "
            "(an alert that tells nobody is noise)",
        )
    return AlertSettings(
        emails=emails,
        slack=slack,
        cpu_percent=_percent(r, "alertCpuPercent"),
        memory_percent=_percent(r, "alertMemoryPercent"),
        disk_percent=_percent(r, "alertDiskPercent"),
        load_per_vcpu=r.integer(
            "alertLoadPerVcpu",
            1,
            20,
            "a whole number from 1 to 20 (the 5-minute load average per vCPU that alerts)",
        ),
        lb_5xx_percent=_percent(r, "alertLb5xxPercent"),
        window=r.choice("alertWindow", ALERT_WINDOWS),
    )


def _uptime(r: ConfigReader) -> UptimeSettings:
    regions = r.string_list(
        "uptimeRegions", f"one of: {', '.join(UPTIME_REGIONS)}", lambda v: v in UPTIME_REGIONS
    )
    r.check(
        len(set(regions)) >= 2,
        "uptimeRegions",
        f"at least two of {', '.join(UPTIME_REGIONS)} (down from one region alone may be "
        "that region's trouble)",
    )
    return UptimeSettings(
        regions=regions,
        latency_ms=r.integer("uptimeLatencyMs", 100, 30000),
        cert_expiry_days=r.integer(
            "uptimeCertExpiryDays",
            1,
            CERTIFICATE_RENEWAL_DAYS - 1,
            f"a whole number of days from 1 to {CERTIFICATE_RENEWAL_DAYS - 1} (certbot renews "
            f"{CERTIFICATE_RENEWAL_DAYS} days ahead: an alert at {CERTIFICATE_RENEWAL_DAYS} or "
            "more fires before every renewal)",
        ),
        period=r.choice("uptimeAlertPeriod", UPTIME_PERIODS),
    )


def _slack_webhooks(
    r: ConfigReader,
) -> tuple[tuple[str, ...], pulumi.Output[list[dict[str, str]]] | None]:
    """The Slack channels and, as a secret, [{channel, url}] from the secret's lines
    ('<channel> <webhook URL>', the URL last). A bad line is named by its number only."""
    name = "alertSlackWebhooks"
    secret = r.secret(name)
    if not r.valid(name):  # stored in plain text: refused already
        return (), None
    raw = r.raw(name) or ""
    channels: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        parsed = _webhook_line(line)
        if parsed is None:
            r.fail_part(
                name,
                f"line {number}",
                f"'<channel> <https webhook URL>' lines, such as {_WEBHOOK_EXAMPLE}",
            )
            continue
        channels.append(parsed[0])
    if secret is None or not r.valid(name):
        return (), None
    webhooks = secret.apply(
        lambda text: [
            {"channel": channel, "url": url}
            for channel, url in filter(None, map(_webhook_line, text.splitlines()))
        ]
    )
    return tuple(channels), pulumi.Output.secret(webhooks)


def _webhook_line(line: str) -> tuple[str, str] | None:
    """(channel, url) of '<channel> <url>'; the channel may hold spaces, the URL can't."""
    channel, _, url = line.strip().rpartition(" ")
    channel = channel.strip()
    printable = all(ord(c) >= 32 for c in channel)
    if not channel or not printable or not is_https_url(url, path_required=True):
        return None
    return channel, url


def _secret(r: ConfigReader, name: str, expected: str, pattern: str) -> pulumi.Output[str] | None:
    """A secret setting whose form (``pattern``, as ``matching`` takes it) is checked, its
    value never shown."""
    value = r.secret(name)
    raw = r.raw(name)
    if value is not None and not re.match(pattern, (raw or "").strip()):
        r.fail(name, raw, expected)  # shown as "(value hidden)": it is a secret
        return None
    return value.apply(str.strip) if value is not None else None


def _percent(r: ConfigReader, name: str) -> int:
    """A threshold in whole percent: 0 would always fire and 100 never."""
    return r.integer(name, 1, 99, "a whole number of percent from 1 to 99")


def _destination(value: str) -> LogDestination:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not is_hostname(host) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(value)
    return LogDestination(host, int(port))
