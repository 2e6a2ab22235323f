"""CertbotSetup and HostDelivery on mocks: one command per droplet, the right triggers
and connection, secrets only on stdin, dns-01 in prod and http-01 in dev."""

import pytest

from components.hosts import CertbotSetupArgs, env_file
from components.ssh import Host, SshAccount
from harness import (
    GENERATED_KEYS,
    OPERATOR_VALUES,
    fake_id,
    is_secret_input,
    mock_private_key,
    plain,
    run_program,
)
from matra_policies.types import DNS_RECORD, DROPLET, REGISTRY_CREDENTIALS
from matra_policies.types import REMOTE_COMMAND as COMMAND

TOKEN = "dop_v1_secret_dns_token"


def commands(program, parent):
    return sorted(
        (c for c in program.of_type(COMMAND) if c.parent.endswith(f"::{parent}")),
        key=lambda c: c.name,
    )


def prod_with_token(**overrides):
    return run_program(
        "prod",
        overrides={**OPERATOR_VALUES, "certbotDnsToken": TOKEN, **overrides},
        secret_keys=("certbotDnsToken", "appSecretEnv"),
        preview=False,
    )


def test_prod_uses_dns01_per_droplet_with_the_token_on_stdin():
    program = prod_with_token()
    assert program.error is None, program.error
    tls = commands(program, "tls")
    assert [c.name for c in tls] == ["tls-api-0", "tls-api-1", "tls-api-2"]
    droplets = {d.name: d for d in program.api_droplets()}
    for command in tls:
        index = command.name.rsplit("-", 1)[1]
        assert "challenge=dns-01" in command.inputs["create"]
        assert (
            "acme_server=https://acme-v02.api.letsencrypt.org/directory" in command.inputs["create"]
        )
        assert is_secret_input(command.inputs["stdin"]) and plain(command.inputs["stdin"]) == TOKEN
        assert plain(command.inputs["triggers"]) == [
            fake_id(DROPLET, f"api-{index}"),
            "api.matra.io",
            "dns-01",
            "https://acme-v02.api.letsencrypt.org/directory",
        ]
        connection = command.inputs["connection"]
        assert is_secret_input(connection)
        assert plain(connection)["user"] == "ops"
        assert plain(connection)["host"] == droplets[f"api-{index}"].state["ipv4Address"]
        assert plain(connection)["privateKey"] == mock_private_key("ssh-automation")


def test_dev_uses_http01_on_its_lone_droplet_with_no_stdin():
    program = run_program("dev")
    (tls,) = commands(program, "tls")
    assert "challenge=http-01" in tls.inputs["create"]
    assert (
        "acme_server=https://acme-staging-v02.api.letsencrypt.org/directory" in tls.inputs["create"]
    )
    assert "stdin" not in tls.inputs
    dns = program.one(DNS_RECORD)
    tls_component = next(r for r in program.registrations if r.name == "tls")
    assert dns.urn in tls_component.dependencies


def test_delivery_per_droplet_env_and_registry_credentials():
    program = prod_with_token(appSecretEnv="SENTRY_DSN=https://key@sentry.io/1")
    delivery = commands(program, "delivery")
    assert [c.name for c in delivery] == [
        f"delivery-api-{i}-{kind}" for i in range(3) for kind in ("env", "registry")
    ]
    mongodb = program.outputs["mongodbUri"].value
    redis = program.outputs["redisUrl"].value
    for command in delivery:
        assert is_secret_input(command.inputs["stdin"])
        content = plain(command.inputs["stdin"])
        assert "owner=deploy" in command.inputs["create"]
        if command.name.endswith("-env"):
            assert "dest=/opt/matra/.env" in command.inputs["create"]
            assert content == env_file(
                mongodb_uri=mongodb,
                redis_url=redis,
                plain=[("NODE_ENV", "production")],
                secret_lines="SENTRY_DSN=https://key@sentry.io/1",
            )
        else:
            assert "dest=/home/deploy/.docker/config.json" in command.inputs["create"]
            assert content.startswith('{"auths":')
    creds = program.one(REGISTRY_CREDENTIALS)
    assert creds.inputs == {"registryName": "matra", "write": False}


def test_no_secret_appears_in_any_command_string():
    program = prod_with_token(appSecretEnv="SENTRY_DSN=https://key@sentry.io/1")
    secrets = [
        TOKEN,
        "https://key@sentry.io/1",
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
            assert secret not in droplet.inputs["userData"]


def test_changing_app_settings_changes_only_the_env_commands():
    before = prod_with_token()
    after = prod_with_token(appEnv=["NODE_ENV=production", "FEATURE_X=on"])
    changed = {
        r.name
        for r in after.registrations
        if r.inputs != next(b for b in before.registrations if b.urn == r.urn).inputs
    }
    assert changed == {"delivery-api-0-env", "delivery-api-1-env", "delivery-api-2-env"}


def test_up_without_the_dns_token_refuses_before_registering_anything():
    program = run_program("prod", overrides=OPERATOR_VALUES, preview=False)
    assert str(program.error).startswith(
        "matra-infra:certbotDnsToken: (missing) is not "
        "allowed; expected a secret DigitalOcean token"
    )
    assert program.registrations == []


def test_preview_without_the_dns_token_still_evaluates():
    assert run_program("prod").error is None


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(challenge="tls-alpn-01"), "challenge must be http-01 or dns-01"),
        (
            dict(challenge="http-01", hosts=[Host("a", "1", "1"), Host("b", "2", "2")]),
            "http-01 works for exactly one droplet",
        ),
        (dict(challenge="dns-01", dns_token=None), "dns-01 needs dns_token"),
    ],
)
def test_certbot_args_are_validated(change, message):
    args = dict(
        hosts=[Host("api-0", "203.0.113.1", "1")],
        account=SshAccount("deploy", "k"),
        hostname="api.matra.io",
        email="ops@matra.io",
        acme_directory_url="https://acme.example/dir",
        challenge="dns-01",
        app_port=8080,
        dns_token="t",
    )
    args.update(change)
    with pytest.raises(ValueError, match=message):
        CertbotSetupArgs(**args)


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
        assert "dest=/home/ops/.ssh/authorized_keys" in command.inputs["create"]
        assert "owner=ops" in command.inputs["create"]
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
