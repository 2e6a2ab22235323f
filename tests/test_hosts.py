"""CertbotSetup, CertbotRemoval and AdminKeys on mocks: the right commands on the right
droplets, with their triggers and connection, secrets only on stdin; certbot on dev's
lone droplet, none behind the load balancer."""

import pytest

from harness import (
    GENERATED_KEYS,
    fake_id,
    is_secret_input,
    mock_private_key,
    plain,
    run_program,
    update,
)
from matra.hostfiles import HostStep
from matra_policies.types import DNS_RECORD, DROPLET, LOAD_BALANCER
from matra_policies.types import REMOTE_COMMAND as COMMAND


def commands(program, parent):
    return sorted(
        (c for c in program.of_type(COMMAND) if c.parent.endswith(f"::{parent}")),
        key=lambda c: c.name,
    )


def prod_update(**overrides):
    return update("prod", **overrides)


def test_prod_runs_no_certbot_and_removes_what_an_earlier_setup_left():
    program = prod_update()
    assert program.error is None, program.error
    tls = commands(program, "tls")
    assert [c.name for c in tls] == ["tls-api-0", "tls-api-1", "tls-api-2"]
    droplets = {d.name: d for d in program.api_droplets()}
    lb = program.one(LOAD_BALANCER)
    component = next(r for r in program.registrations if r.name == "tls")
    assert component.type == "matra:index:CertbotRemoval"
    # The droplets drop their certificates only once the balancer terminates TLS.
    assert lb.parent in component.dependencies or lb.urn in component.dependencies
    for command in tls:
        index = command.name.rsplit("-", 1)[1]
        script = command.inputs["create"]
        assert HostStep.read(script).script == "certbot-remove.sh"
        assert "shred -u /etc/letsencrypt/digitalocean.ini" in script
        assert "apt_get purge" in script and "certbot certonly" not in script
        assert "stdin" not in command.inputs
        assert plain(command.inputs["triggers"]) == [fake_id(DROPLET, f"api-{index}")]
        connection = command.inputs["connection"]
        assert is_secret_input(connection)
        assert plain(connection)["user"] == "ops"
        assert plain(connection)["host"] == droplets[f"api-{index}"].state["ipv4Address"]
        assert plain(connection)["privateKey"] == mock_private_key("ssh-automation")
    assert not [c for c in program.of_type(COMMAND) if "certbot certonly" in c.inputs["create"]]


def test_dev_runs_certbot_over_http01_on_its_lone_droplet_with_no_stdin():
    program = run_program("dev")
    (tls,) = commands(program, "tls")
    assert 'certbot "$@"' in tls.inputs["create"] and "--webroot" in tls.inputs["create"]
    assert "dns" not in tls.inputs["create"].lower().replace("dnszone", "")
    step = HostStep.read(tls.inputs["create"])
    assert step.script == "certbot-setup.sh"
    assert step.params["MATRA_ACME_SERVER"] == (
        "https://acme-staging-v02.api.letsencrypt.org/directory"
    )
    assert "server_name api.dev.matra.io;" in step.files["nginx-tls-site.conf"]
    assert "stdin" not in tls.inputs
    assert plain(tls.inputs["triggers"]) == [
        fake_id(DROPLET, "api-0"),
        "api.dev.matra.io",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
    ]
    # HTTP-01 reaches the droplet once the name and the reserved IP point at it, and it
    # serves (its setup done).
    dns = program.one(DNS_RECORD)
    tls_component = next(r for r in program.registrations if r.name == "tls")
    reserved = next(r for r in program.registrations if r.name == "api-ip")
    setup = next(r for r in program.registrations if r.name == "hosts-api-0-release")
    assert {dns.urn, reserved.urn, setup.urn} <= set(tls_component.dependencies)


SENTRY_DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"
NEW_RELIC_KEY = "eu01xx0123456789abcdef0123456789abcdNRAL"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/leakedwebhook"


def test_no_secret_appears_in_any_command_string():
    program = prod_update(
        appSecretEnv="API_KEY=app-secret-value",
        sentryDsn=SENTRY_DSN,
        newRelicLicenseKey=NEW_RELIC_KEY,
        alertSlackWebhooks=f"#ops {SLACK_URL}",
        papertrailDestination="logs5.papertrailapp.com:12345",
    )
    assert program.error is None, program.error
    secrets = [
        "app-secret-value",
        SENTRY_DSN,
        NEW_RELIC_KEY,
        SLACK_URL,
        *(mock_private_key(name).splitlines()[1] for name in GENERATED_KEYS),
        program.outputs["mongodbUri"].value,
        program.outputs["redisUrl"].value,
        "UkVHSVNUUllUT0tFTg==",
    ]
    for command in program.of_type(COMMAND):
        for secret in secrets:
            assert secret not in command.inputs["create"], command.name
            assert secret not in str(command.inputs.get("triggers")), command.name
    for droplet in program.of_type(DROPLET):
        for secret in secrets:
            assert secret not in plain(droplet.inputs["userData"])
    for name, output in program.outputs.items():
        if not output.secret:
            for secret in secrets:
                assert secret not in str(output.value), name


OPERATOR = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator alice@laptop"


@pytest.mark.parametrize(
    "stack, hosts", [("dev", ["api-0", "cache"]), ("prod", ["api-0", "api-1", "api-2"])]
)
def test_operator_keys_reach_every_ssh_host_as_the_ops_users_authorized_keys(stack, hosts):
    program = run_program(stack, overrides={"sshPublicKeys": [OPERATOR]})
    found = commands(program, "operator-keys")
    assert [c.name for c in found] == sorted(f"operator-keys-{h}" for h in hosts)
    automation = program.outputs["automationSshPublicKey"].value
    for command in found:
        params = HostStep.read(command.inputs["create"]).params
        assert params["MATRA_DEST"] == "/home/ops/.ssh/authorized_keys"
        assert params["MATRA_OWNER"] == "ops"
        assert plain(command.inputs["stdin"]) == f"{automation}\n{OPERATOR}\n"


def test_adding_an_operator_key_replaces_no_droplet():
    before = run_program("prod")
    after = run_program("prod", overrides={"sshPublicKeys": [OPERATOR]})
    changed = {
        r.name
        for r in after.registrations
        if r.inputs != next(b for b in before.registrations if b.urn == r.urn).inputs
    }
    assert changed == {"operator-keys-api-0", "operator-keys-api-1", "operator-keys-api-2"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_command_on_a_droplet_waits_for_it_and_runs_again_on_a_new_one(stack):
    """Its connection depends on the droplet (its address); its trigger is the droplet's
    id, so a droplet made anew (replaced, or recreated after a refresh found it gone)
    has everything run on it again."""
    program = run_program(stack)
    droplets = {d.name: d for d in program.of_type(DROPLET)}
    on_droplets = 0
    for command in program.of_type(COMMAND):
        host = plain(command.inputs["connection"])["host"]
        (droplet,) = [d for d in droplets.values() if d.state["ipv4Address"] == host]
        assert droplet.urn in command.property_dependencies["connection"], command.name
        assert plain(command.inputs["triggers"])[0] == droplet.id, command.name
        on_droplets += 1
    assert on_droplets == len(program.of_type(COMMAND)) > 0
