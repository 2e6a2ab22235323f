"""Observability on mocks, per shipped stack: DigitalOcean alert policies on the fleet (and
the balancer), the uptime check on the API with its three alerts, who they tell (Slack
webhooks only as secrets), and each host's telemetry: log forwarding and its egress, the
New Relic agent (its key on stdin alone), the app's Sentry and New Relic settings in the
secret .env. None of it replaces a droplet."""

import pytest

from harness import STACKS, changed, is_secret_input, plain, run_program, update
from matra.hostfiles import HostStep
from matra.hostsetup import env_file
from matra.observability import telemetry_env, vcpus
from matra_data import catalog
from matra_policies.types import FIREWALL, LOAD_BALANCER, MONITOR_ALERT, UPTIME_ALERT, UPTIME_CHECK
from matra_policies.types import REMOTE_COMMAND as COMMAND

SENTRY_DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"
NEW_RELIC_KEY = "eu01xx0123456789abcdef0123456789abcdNRAL"
WEBHOOKS = (
    "#ops-alerts https://hooks.slack.com/services/T000/B000/XXXX\n"
    "Production Alerts https://hooks.slack.com/services/T000/B111/YYYY\n"
)
SECRETS = ("sentryDsn", "newRelicLicenseKey", "alertSlackWebhooks")
# (vCPUs of the API droplet, window, load balancer, hostname) per shipped stack.
STACK = {
    "dev": (1, "30m", False, "api.dev.matra.io"),
    "staging": (2, "10m", True, "api.staging.matra.io"),
    "prod": (4, "5m", True, "api.matra.io"),
}


def alerts(run):
    return {a.name.removeprefix("monitoring-"): a for a in run.of_type(MONITOR_ALERT)}


def with_everything(stack="prod", **overrides):
    return run_program(
        stack,
        overrides={
            "sentryDsn": SENTRY_DSN,
            "newRelicLicenseKey": NEW_RELIC_KEY,
            "alertSlackWebhooks": WEBHOOKS,
            "papertrailDestination": "logs5.papertrailapp.com:12345",
            **overrides,
        },
        secret_keys=SECRETS,
    )


@pytest.mark.parametrize("stack", STACKS)
def test_droplet_alerts_watch_the_fleet_tag_with_the_stacks_thresholds(stack):
    run = run_program(stack)
    api_vcpus, window, _, _ = STACK[stack]
    found = alerts(run)
    fleet = f"matra-{stack}-api"
    expected = {
        "cpu": ("v1/insights/droplet/cpu", 80),
        "memory": ("v1/insights/droplet/memory_utilization_percent", 90),
        "disk": ("v1/insights/droplet/disk_utilization_percent", 85),
        "load": ("v1/insights/droplet/load_5", 2 * api_vcpus),
    }
    for name, (metric, value) in expected.items():
        alert = found[name].inputs
        assert (alert["type"], alert["value"], alert["compare"]) == (metric, value, "GreaterThan")
        assert alert["window"] == window and alert["enabled"] is True
        assert fleet in alert["tags"]
        assert plain(alert["alerts"]) == {"emails": ["ops@matra.io"]}
    # Dev's cache droplet is watched too (its tag), but not by the load alert, whose
    # threshold is the API droplet's.
    others = {"dev": ["matra-dev-cache"]}.get(stack, [])
    for name in ("cpu", "memory", "disk"):
        assert found[name].inputs["tags"] == [fleet, *others]
    assert found["load"].inputs["tags"] == [fleet]


@pytest.mark.parametrize("stack", STACKS)
def test_the_load_balancer_alerts_on_its_5xx_rate_and_droplet_health_where_there_is_one(stack):
    run = run_program(stack)
    _, _, balanced, _ = STACK[stack]
    found = alerts(run)
    if not balanced:
        assert "lb-5xx" not in found and "lb-droplet-health" not in found
        return
    for name, metric in (
        ("lb-5xx", "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx"),
        ("lb-droplet-health", "v1/insights/lbaas/droplet_health"),
    ):
        alert = found[name]
        assert alert.inputs["type"] == metric
        assert "tags" not in alert.inputs and len(alert.inputs["entities"]) == 1
        # The entity is the balancer's id (it came from the balancer).
        assert run.one(LOAD_BALANCER).urn in alert.property_dependencies["entities"]
    assert found["lb-5xx"].inputs["value"] == 5
    health = found["lb-droplet-health"].inputs
    assert (health["compare"], health["value"]) == ("LessThan", len(run.api_droplets()))


@pytest.mark.parametrize("stack", STACKS)
def test_the_uptime_check_watches_the_health_path_from_several_regions_with_three_alerts(stack):
    run = run_program(stack)
    _, _, _, hostname = STACK[stack]
    check = run.one(UPTIME_CHECK)
    assert check.inputs["target"] == f"https://{hostname}/healthz"
    assert check.inputs["type"] == "https" and check.inputs["enabled"] is True
    assert check.inputs["regions"] == ["us_east", "us_west", "eu_west", "se_asia"]
    found = {a.inputs["type"]: a for a in run.of_type(UPTIME_ALERT)}
    assert set(found) == {"down", "latency", "ssl_expiry"}
    period = {"dev": "15m", "staging": "5m", "prod": "2m"}[stack]
    for alert in found.values():
        assert alert.property_dependencies["checkId"] == [check.urn]
        assert alert.inputs["period"] == period
        assert plain(alert.inputs["notifications"]) == [{"emails": ["ops@matra.io"]}]
    assert (found["latency"].inputs["comparison"], found["latency"].inputs["threshold"]) == (
        "greater_than",
        2000,
    )
    # Well before expiry: certbot renews 30 days ahead, the alert fires at 14.
    ssl = found["ssl_expiry"].inputs
    assert (ssl["comparison"], ssl["threshold"]) == ("less_than", 14)


def test_thresholds_windows_and_regions_come_from_config():
    run = run_program(
        "prod",
        overrides={
            "alertCpuPercent": 70,
            "alertDiskPercent": 95,
            "alertLoadPerVcpu": 3,
            "alertWindow": "1h",
            "uptimeRegions": ["eu_west", "se_asia"],
            "uptimeLatencyMs": 800,
            "uptimeCertExpiryDays": 21,
            "uptimeAlertPeriod": "10m",
        },
    )
    found = alerts(run)
    assert found["cpu"].inputs["value"] == 70 and found["disk"].inputs["value"] == 95
    assert found["load"].inputs["value"] == 12  # 3 per vCPU on s-4vcpu-8gb
    assert {a.inputs["window"] for a in found.values()} == {"1h"}
    assert run.one(UPTIME_CHECK).inputs["regions"] == ["eu_west", "se_asia"]
    uptime = {a.inputs["type"]: a.inputs for a in run.of_type(UPTIME_ALERT)}
    assert uptime["latency"]["threshold"] == 800 and uptime["ssl_expiry"]["threshold"] == 21
    assert {a["period"] for a in uptime.values()} == {"10m"}


def test_slack_webhooks_are_told_and_travel_only_as_secrets():
    run = with_everything()
    assert run.error is None, run.error
    hooks = [
        {"channel": "#ops-alerts", "url": "https://hooks.slack.com/services/T000/B000/XXXX"},
        {"channel": "Production Alerts", "url": "https://hooks.slack.com/services/T000/B111/YYYY"},
    ]
    # As the engine gets them (the wire form): the webhooks a secret, the e-mails not.
    for alert in run.of_type(MONITOR_ALERT):
        told = alert.props["alerts"]
        assert is_secret_input(told["slacks"]) and not is_secret_input(told["emails"])
        assert plain(told) == {"emails": ["ops@matra.io"], "slacks": hooks}
    for alert in run.of_type(UPTIME_ALERT):
        (told,) = alert.props["notifications"]
        assert is_secret_input(told["slacks"]), alert.name
        assert plain(told)["slacks"] == hooks
    for name, output in run.outputs.items():
        if not output.secret:
            assert "hooks.slack.com" not in str(output.value), name


def test_a_slack_webhook_alone_is_enough_to_tell_someone():
    run = run_program(
        "prod",
        overrides={"alertEmails": [], "alertSlackWebhooks": WEBHOOKS},
        secret_keys=("alertSlackWebhooks",),
    )
    assert run.error is None, run.error
    assert plain(alerts(run)["cpu"].inputs["alerts"])["emails"] == []


def host_steps(run, host="api-0"):
    return {
        c.name.rsplit("-", 1)[1]: c
        for c in run.of_type(COMMAND)
        if c.name.startswith(f"hosts-{host}-")
    }


def test_with_keys_set_the_app_gets_sentry_and_new_relic_settings_in_its_secret_env():
    run = with_everything()
    steps = host_steps(run)
    env = steps["env"].inputs["stdin"]
    assert is_secret_input(env)
    assert plain(env) == env_file(
        mongodb_uri=run.outputs["mongodbUri"].value,
        redis_url=run.outputs["redisUrl"].value,
        plain=[("NODE_ENV", "production")],
        telemetry=f"SENTRY_DSN={SENTRY_DSN}\nSENTRY_ENVIRONMENT=prod\n"
        f"NEW_RELIC_LICENSE_KEY={NEW_RELIC_KEY}\nNEW_RELIC_APP_NAME=matra-prod-api\n",
    )


def test_without_keys_the_app_gets_no_telemetry_settings():
    assert telemetry_env(sentry_dsn="", new_relic_license_key="", stack="dev", app_name="x") == ""
    env = plain(host_steps(run_program("dev"))["env"].inputs["stdin"])
    assert "SENTRY" not in env and "NEW_RELIC" not in env


def test_the_new_relic_agent_gets_its_key_on_stdin_as_a_root_only_file():
    run = with_everything()
    for index in range(3):
        agent = host_steps(run, f"api-{index}")["newrelic"].inputs
        assert is_secret_input(agent["stdin"])
        assert plain(agent["stdin"]) == f"license_key: {NEW_RELIC_KEY}\n"
        step = HostStep.read(agent["create"])
        assert step.params["MATRA_NEW_RELIC"] == "yes"
        assert (
            step.params["MATRA_NEW_RELIC_FINGERPRINT"] == "A758B3FBCD43BE8D123A3476BB29EE038ECCE87C"
        )
        assert 'put_file "$config" 0600 root' in step.files[step.script]
        assert NEW_RELIC_KEY not in agent["create"]


def test_without_a_key_nothing_of_new_relic_is_installed_and_a_preview_says_so_once():
    run = run_program("prod")
    agent = host_steps(run)["newrelic"].inputs
    assert HostStep.read(agent["create"]).params["MATRA_NEW_RELIC"] == "no"
    assert "stdin" not in agent
    said = [w for w in run.warnings if "newRelicLicenseKey" in w]
    assert said == [
        "matra-infra:newRelicLicenseKey is not set: no New Relic agent on the hosts and no APM "
        "settings for the app (set it with: pulumi config set --secret "
        "matra-infra:newRelicLicenseKey <license key>)"
    ]
    assert not [w for w in with_everything().warnings if "newRelicLicenseKey" in w]
    assert not [w for w in update().warnings if "newRelicLicenseKey" in w]


def egress_ports(run, firewall="api-firewall"):
    rules = next(f for f in run.of_type(FIREWALL) if f.name == firewall).inputs["outboundRules"]
    return {(r["protocol"], r.get("portRange")) for r in rules}


def test_papertrail_forwarding_runs_on_every_host_and_opens_only_its_port_outwards():
    run = with_everything()
    for index in range(3):
        logs = host_steps(run, f"api-{index}")["logs"].inputs
        forwarding = HostStep.read(logs["create"]).files["rsyslog-forwarding.conf"]
        assert 'target="logs5.papertrailapp.com"' in forwarding
        assert 'port="12345"' in forwarding
        assert (
            'StreamDriverPermittedPeers="logs5.papertrailapp.com,*.papertrailapp.com"' in forwarding
        )
        assert "stdin" not in logs
    assert egress_ports(run) - egress_ports(run_program("prod")) == {("tcp", "12345")}
    # The cache's firewall (dev's redis droplet) is no business of the log forwarding.
    dev = with_everything("dev")
    assert egress_ports(dev, "cache-firewall") == egress_ports(run_program("dev"), "cache-firewall")


def test_without_papertrail_the_logs_stay_on_the_hosts():
    logs = HostStep.read(host_steps(run_program("prod"))["logs"].inputs["create"])
    assert logs.script == "log-forwarding.sh"
    assert "rsyslog-forwarding.conf" not in logs.files


def test_turning_telemetry_on_replaces_no_droplet_and_touches_only_hosts_commands_and_alerts():
    before = update()
    after = update(
        sentryDsn=SENTRY_DSN,
        newRelicLicenseKey=NEW_RELIC_KEY,
        alertSlackWebhooks=WEBHOOKS,
        papertrailDestination="logs5.papertrailapp.com:12345",
    )
    touched = changed(before, after)
    hosts = {f"hosts-api-{i}-{step}" for i in range(3) for step in ("env", "logs", "newrelic")}
    alert_names = {a.name for a in after.of_type(MONITOR_ALERT)}
    uptime_alerts = {a.name for a in after.of_type(UPTIME_ALERT)}
    assert touched == hosts | alert_names | uptime_alerts | {"api-firewall"}
    assert not any(r.type.endswith(":Droplet") for r in after.registrations if r.name in touched)


def test_every_catalog_size_has_a_vcpu_count():
    counts = {size: vcpus(size) for size in catalog.DROPLET_SIZES}
    assert counts["s-1vcpu-2gb"] == 1 and counts["c-16"] == 16 and counts["m3-8vcpu-64gb"] == 8
    with pytest.raises(ValueError, match="no vCPU count"):
        vcpus("gpu-h100x1-80gb")
