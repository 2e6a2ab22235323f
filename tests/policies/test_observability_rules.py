"""Observability rules, each with passing and failing cases: every droplet covered by CPU,
memory and disk alert policies; every hostname the stack serves watched by an HTTPS
uptime check with a down alert. Mandatory in prod, advisory elsewhere; breaking a
shipped stack fires exactly the matching rule, in a preview shaped like the engine's too."""

import pytest

from matra_policies import POLICIES, observability
from matra_policies.types import (
    CERTIFICATE,
    DNS_RECORD,
    DROPLET,
    FIREWALL,
    MONITOR_ALERT,
    UPTIME_ALERT,
    UPTIME_CHECK,
)
from policy_harness import (
    UNKNOWN,
    PolicyHarness,
    Resource,
    assert_no_violations,
    assert_violation,
    effective_config,
    load_config,
    mandatory,
    stack_resources,
)

CPU, MEMORY, DISK = (
    "v1/insights/droplet/cpu",
    "v1/insights/droplet/memory_utilization_percent",
    "v1/insights/droplet/disk_utilization_percent",
)
RULES = ("digitalocean-droplet-alerts", "digitalocean-uptime-check-api")


def droplet(name="api-0", tags=("matra-prod-api", "matra"), **props):
    return Resource(DROPLET, name, {"tags": list(tags), **props})


def alert(metric, name=None, **props):
    return Resource(
        MONITOR_ALERT,
        name or f"alert-{metric.rsplit('/', 1)[1]}",
        {"type": metric, "compare": "GreaterThan", "value": 80, "window": "5m", **props},
    )


def on_tag(tag="matra-prod-api", **props):
    return [alert(metric, tags=[tag], **props) for metric in (CPU, MEMORY, DISK)]


class TestDropletAlerts:
    rule = observability.droplet_alerts

    def test_alerts_on_the_fleet_tag_cover_its_droplets(self):
        assert_no_violations(self.rule, [droplet("api-0"), droplet("api-1"), *on_tag()])

    def test_alerts_naming_the_droplet_or_the_whole_account_cover_it_too(self):
        by_id = [alert(m, entities=["4711"]) for m in (CPU, MEMORY)]
        everywhere = alert(DISK)
        assert_no_violations(self.rule, [droplet(id="4711"), *by_id, everywhere])

    def test_a_droplet_without_alerts_fires_naming_what_is_missing(self):
        found = assert_violation(self.rule, [droplet()], contains="'api-0': is covered by no")
        assert "CPU (v1/insights/droplet/cpu), memory" in found.message
        assert "Fix: add a digitalocean.MonitorAlert" in found.message

    def test_a_missing_disk_alert_fires_for_disk_alone(self):
        found = assert_violation(
            self.rule, [droplet(), *on_tag()[:2]], contains="no enabled alert policy on disk"
        )
        assert "CPU" not in found.message.splitlines()[-1]

    def test_alerts_on_another_tag_cover_nothing(self):
        assert_violation(
            self.rule, [droplet(), *on_tag("matra-staging-api")], contains="covered by no"
        )

    def test_a_disabled_alert_covers_nothing(self):
        alerts = [*on_tag()[:2], alert(DISK, tags=["matra-prod-api"], enabled=False)]
        assert_violation(self.rule, [droplet(), *alerts], contains="on disk")

    def test_the_required_alerts_are_a_parameter(self):
        config = {"requiredAlerts": [CPU, "v1/insights/droplet/load_5"]}
        assert_violation(self.rule, [droplet(), *on_tag()], contains="load_5", config=config)

    def test_a_droplet_with_an_unknown_id_is_not_judged_by_entities_alone(self):
        """In a preview of a new droplet its id is unknown: an alert on ids may name it, so
        the rule says nothing rather than raise a false alarm."""
        by_id = [alert(m, entities=["4711"]) for m in (CPU, MEMORY, DISK)]
        assert_no_violations(self.rule, [droplet(id=UNKNOWN), *by_id])


def dns(name="api", domain="matra.io"):
    return Resource(DNS_RECORD, "api-dns", {"type": "A", "name": name, "domain": domain})


def check(target="https://api.matra.io/healthz", **props):
    return Resource(UPTIME_CHECK, "uptime", {"target": target, "type": "https", **props})


def uptime_alert(on, kind="down"):
    return Resource(
        UPTIME_ALERT,
        f"uptime-{kind}",
        {"type": kind, "checkId": UNKNOWN, "period": "2m"},
        property_dependencies={"checkId": [on.urn]},
    )


class TestUptimeCheck:
    rule = observability.uptime_check

    def test_a_watched_hostname_passes(self):
        watch = check()
        assert_no_violations(self.rule, [dns(), watch, uptime_alert(watch)])

    def test_an_alert_linked_by_id_counts_too(self):
        watch = check(id="c-1")
        linked = Resource(UPTIME_ALERT, "down", {"type": "down_global", "checkId": "c-1"})
        assert_no_violations(self.rule, [dns(), watch, linked])

    def test_a_served_hostname_without_a_check_fires(self):
        found = assert_violation(
            self.rule,
            [dns()],
            contains="'api-dns': serves api.matra.io, which no enabled HTTPS uptime check watches",
        )
        assert "Fix: add a digitalocean.UptimeCheck on https://api.matra.io" in found.message

    def test_a_certificates_domain_counts_as_served(self):
        cert = Resource(CERTIFICATE, "api-certificate", {"domains": ["api.matra.io"]})
        assert_violation(self.rule, [cert], contains="'api-certificate': serves api.matra.io")

    def test_the_apex_record_is_the_zone_itself(self):
        assert_violation(self.rule, [dns(name="@")], contains="serves matra.io,")

    def test_a_check_without_a_down_alert_fires(self):
        watch = check()
        assert_violation(
            self.rule,
            [dns(), watch, uptime_alert(watch, kind="latency")],
            contains="whose uptime check 'uptime' has no down alert",
        )

    def test_a_check_on_another_host_a_disabled_one_or_a_ping_watch_nothing(self):
        for watch in (
            check("https://www.matra.io/healthz"),
            check(enabled=False),
            check("api.matra.io", type="ping"),
            # The same URL as a watched check: the type alone must rule it out.
            check(type="ping"),
        ):
            assert_violation(
                self.rule, [dns(), watch, uptime_alert(watch)], contains="no enabled HTTPS"
            )

    def test_other_record_types_serve_no_api(self):
        txt = Resource(DNS_RECORD, "txt", {"type": "TXT", "name": "api", "domain": "matra.io"})
        assert_no_violations(self.rule, [txt])


@pytest.mark.parametrize(
    "stack, level", [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_mandatory_in_prod_advisory_elsewhere(stack, level):
    for rule in RULES:
        assert effective_config(POLICIES, stack, rule)["enforcementLevel"] == level


def fired(stack, resources):
    return {(v.policy, v.message.splitlines()[-1]) for v in mandatory(stack, resources)}


@pytest.mark.parametrize("engine_preview", [False, True])
def test_prod_without_its_alert_policies_fires_for_every_droplet(engine_preview):
    resources = [
        r
        for r in stack_resources("prod", engine_preview=engine_preview)
        if not (r.type == MONITOR_ALERT and r.name in ("monitoring-disk", "monitoring-memory"))
    ]
    found = fired("prod", resources)
    assert {policy for policy, _ in found} == {"digitalocean-droplet-alerts"}
    assert {m.split("'")[1] for _, m in found} == {"api-0", "api-1", "api-2"}
    assert all("memory" in m and "disk" in m and "CPU" not in m for _, m in found)


@pytest.mark.parametrize("engine_preview", [False, True])
def test_prod_without_its_uptime_check_fires_on_the_api_hostname(engine_preview):
    resources = [
        r
        for r in stack_resources("prod", engine_preview=engine_preview)
        if r.type not in (UPTIME_CHECK, UPTIME_ALERT)
    ]
    found = fired("prod", resources)
    assert found == {
        (
            "digitalocean-uptime-check-api",
            "digitalocean.DnsRecord 'api-dns': serves api.matra.io, which no enabled HTTPS "
            "uptime check watches. Fix: add a digitalocean.UptimeCheck on "
            "https://api.matra.io<health path> with an UptimeAlert of type down "
            "(matra/observability.py, Monitoring).",
        )
    }


def test_dev_without_alerts_is_told_but_not_stopped():
    resources = [r for r in stack_resources("dev") if r.type != MONITOR_ALERT]
    found = PolicyHarness(POLICIES, load_config("dev")).run(resources)
    alerts = [v for v in found if v.policy == "digitalocean-droplet-alerts"]
    # The API droplet and the cache droplet, each told once, advisory.
    assert sorted(v.message.split("'")[1] for v in alerts) == ["api-0", "cache-droplet"]
    assert {v.level for v in alerts} == {"advisory"}
    assert mandatory("dev", resources) == []


def test_a_papertrail_port_needs_the_stacks_egress_allowance():
    """Forwarding to Papertrail opens its port outwards on the API firewall: the egress
    rule refuses it until the stack's policy config allows that port."""
    resources = stack_resources(
        "prod", overrides={"papertrailDestination": "logs5.papertrailapp.com:12345"}
    )
    found = fired("prod", resources)
    assert {policy for policy, _ in found} == {"digitalocean-firewall-restricted-egress"}
    assert any("tcp port 12345" in m and "allowedPorts" in m for _, m in found)
    config = load_config("prod")
    allowed = effective_config(POLICIES, "prod", "digitalocean-firewall-restricted-egress")
    config["digitalocean-firewall-restricted-egress"] = {
        "allowedPorts": [*allowed["allowedPorts"], "12345"]
    }
    firewall = [r for r in resources if r.type == FIREWALL]
    assert [v for v in PolicyHarness(POLICIES, config).run(firewall) if v.mandatory] == []
