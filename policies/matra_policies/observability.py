"""Observability rules: every droplet is watched by DigitalOcean alert policies on its
CPU, memory and disk, and every public hostname the stack serves by an HTTPS uptime
check that tells someone when it is down. Stack rules: what covers a droplet or watches
a hostname is another resource."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .common import flag, parameters, stack_rule, string_list
from .types import CERTIFICATE, DNS_RECORD, DROPLET, MONITOR_ALERT, UPTIME_ALERT, UPTIME_CHECK

DROPLET_METRICS = {
    "v1/insights/droplet/cpu": "CPU",
    "v1/insights/droplet/memory_utilization_percent": "memory",
    "v1/insights/droplet/disk_utilization_percent": "disk",
}
REQUIRED_ALERTS = string_list("requiredAlerts", list(DROPLET_METRICS))
DOWN_ALERTS = ("down", "down_global")


class _UnknownError(Exception):
    """A value the engine doesn't know yet (a preview): the rule can't tell, so it says
    nothing rather than raise a false alarm."""


def _get(resource: Any, key: str) -> Any:
    try:
        return resource.props.get(key)
    except UnknownValueError as unknown:
        raise _UnknownError from unknown


def _strings(resource: Any, key: str) -> list[str]:
    """A list property's items, every one of them known."""
    value = _get(resource, key) or []
    items = []
    for index in range(len(value)):
        try:
            items.append(str(value[index]))
        except UnknownValueError as unknown:
            raise _UnknownError from unknown
    return items


_NOT_KNOWN = object()


def _id(resource: Any) -> Any:
    """The resource's id, or _NOT_KNOWN while it is new (a preview)."""
    try:
        return resource.props.get("id")
    except UnknownValueError:
        return _NOT_KNOWN


def _enabled(resource: Any) -> bool:
    """Enabled unless it says otherwise (the provider's default is true)."""
    return _get(resource, "enabled") is not False


def _covers(alert: Any, droplet_tags: set[str], droplet_id: Any) -> bool:
    tags, entities = _strings(alert, "tags"), _strings(alert, "entities")
    if not tags and not entities:
        return True  # DigitalOcean applies it to every droplet of the account
    if droplet_tags & set(tags):
        return True
    if entities and droplet_id is _NOT_KNOWN:
        raise _UnknownError  # it may be among them once it exists
    return droplet_id in entities


@stack_rule(
    "digitalocean-droplet-alerts",
    Severity.HIGH,
    "Every droplet is covered by enabled DigitalOcean alert policies on its CPU, memory and "
    "disk utilisation (a MonitorAlert on one of its tags, naming its id, or on the whole "
    "account).",
    config=parameters(REQUIRED_ALERTS),
)
def droplet_alerts(args: StackValidationArgs, report: ReportViolation) -> None:
    required = REQUIRED_ALERTS.value(args.get_config())
    alerts = [r for r in args.resources if r.resource_type == MONITOR_ALERT]
    for droplet in (r for r in args.resources if r.resource_type == DROPLET):
        try:
            tags = set(_strings(droplet, "tags"))
            droplet_id = _id(droplet)
            missing = [
                metric
                for metric in required
                if not any(
                    _get(a, "type") == metric and _enabled(a) and _covers(a, tags, droplet_id)
                    for a in alerts
                )
            ]
        except _UnknownError:
            continue
        if missing:
            named = ", ".join(f"{DROPLET_METRICS.get(m, m)} ({m})" for m in missing)
            flag(
                report,
                droplet,
                f"is covered by no enabled alert policy on {named}, so it can fill up or "
                "run hot unnoticed",
                "add a digitalocean.MonitorAlert of each missing type on a tag it carries "
                "(the fleet's tag: matra/observability.py, Monitoring)",
            )


def _served_hostnames(resources: Sequence[Any]) -> Iterator[tuple[str, Any]]:
    """(hostname, the resource that serves it): DNS A records, then managed
    certificates' domains."""
    for resource in resources:
        if resource.resource_type == DNS_RECORD and _get(resource, "type") == "A":
            name, domain = _get(resource, "name"), _get(resource, "domain")
            if name and domain:
                yield (domain if name == "@" else f"{name}.{domain}"), resource
    for resource in resources:
        if resource.resource_type == CERTIFICATE:
            for domain in _strings(resource, "domains"):
                yield domain, resource


def _alert_types(check: Any, alerts: Sequence[Any]) -> set[str]:
    """The types of the uptime alerts on ``check`` (its id is unknown while it is new;
    the engine still records which resource an alert's checkId came from)."""
    found = set()
    for alert in alerts:
        linked = any(dep.urn == check.urn for dep in alert.property_dependencies.get("checkId", []))
        try:
            check_id, alert_check = _get(check, "id"), _get(alert, "checkId")
        except _UnknownError:
            check_id = alert_check = None
        if linked or (check_id and check_id == alert_check):
            found.add(str(_get(alert, "type")))
    return found


@stack_rule(
    "digitalocean-uptime-check-api",
    Severity.HIGH,
    "Every public hostname the stack serves (its DNS A records, its managed certificates' "
    "domains) is watched by an enabled HTTPS uptime check with a down alert.",
)
def uptime_check(args: StackValidationArgs, report: ReportViolation) -> None:
    resources: Sequence[Any] = args.resources
    checks = [r for r in resources if r.resource_type == UPTIME_CHECK]
    alerts = [r for r in resources if r.resource_type == UPTIME_ALERT]
    watched: dict[str, list[Any]] = {}
    served: dict[str, Any] = {}
    try:
        for check in checks:
            target = urlsplit(str(_get(check, "target") or ""))
            if _enabled(check) and (_get(check, "type") or "https") == "https" and target.hostname:
                watched.setdefault(target.hostname, []).append(check)
        for hostname, resource in _served_hostnames(resources):
            served.setdefault(hostname, resource)
    except _UnknownError:
        return
    for hostname, resource in sorted(served.items()):
        watching = watched.get(hostname, [])
        if any(set(DOWN_ALERTS) & _alert_types(c, alerts) for c in watching):
            continue
        if watching:
            problem = (
                f"serves {hostname}, whose uptime check '{watching[0].name}' has no down "
                "alert, so an outage tells nobody"
            )
            fix = "add a digitalocean.UptimeAlert of type down on that check"
        else:
            problem = f"serves {hostname}, which no enabled HTTPS uptime check watches"
            fix = (
                f"add a digitalocean.UptimeCheck on https://{hostname}<health path> with an "
                "UptimeAlert of type down"
            )
        flag(report, resource, problem, f"{fix} (matra/observability.py, Monitoring)")


POLICIES = [droplet_alerts, uptime_check]
