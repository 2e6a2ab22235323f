"""A table of config mistakes: each stops the program with one line naming the key,
the value and what is allowed, before any resource is registered."""

import pytest

from harness import run_program
from matra.settings import ConfigError

# (stack, overrides, unset, the one line's expected start, words it must contain)
MISTAKES = [
    (
        "dev",
        {"dropletSize": "s-9vcpu-1gb"},
        (),
        "matra-infra:dropletSize: 's-9vcpu-1gb' is not allowed; expected a droplet size slug",
        ["s-1vcpu-2gb", "s-4vcpu-8gb", "matra_data/catalog.py"],
    ),
    (
        "prod",
        {"region": "mars1"},
        (),
        "matra-infra:region: 'mars1' is not allowed; expected one of: nyc1, nyc3",
        ["fra1", "syd1"],
    ),
    ("dev", {"region": "nyc2"}, (), "matra-infra:region: 'nyc2' is not allowed", []),
    (
        "prod",
        {"dropletCount": 0},
        (),
        "matra-infra:dropletCount: '0' is not allowed; expected a whole number from 1 to 50",
        [],
    ),
    (
        "prod",
        {"dropletCount": "three"},
        (),
        "matra-infra:dropletCount: 'three' is not allowed; expected a whole number",
        [],
    ),
    ("prod", {"dropletCount": 2.5}, (), "matra-infra:dropletCount: '2.5' is not allowed", []),
    (
        "dev",
        {"dropletCount": 2},
        (),
        "matra-infra:dropletCount: '2' is not allowed; expected 1 when matra-infra:loadBalancer "
        "is false",
        ["reserved IP"],
    ),
    (
        "staging",
        {"vpcIpRange": "10.20.0.0/33"},
        (),
        "matra-infra:vpcIpRange: '10.20.0.0/33' is not allowed; expected a private IPv4 range",
        [],
    ),
    (
        "staging",
        {"vpcIpRange": "10.20.0.1/20"},
        (),
        "matra-infra:vpcIpRange: '10.20.0.1/20' is not allowed",
        ["CIDR"],
    ),
    (
        "staging",
        {"vpcIpRange": "8.8.0.0/20"},
        (),
        "matra-infra:vpcIpRange: '8.8.0.0/20' is not allowed",
        ["RFC 1918"],
    ),
    (
        "staging",
        {"vpcIpRange": "172.17.0.0/20"},
        (),
        "matra-infra:vpcIpRange: '172.17.0.0/20' is not allowed",
        ["Docker"],
    ),
    (
        "staging",
        {"vpcIpRange": "10.0.0.0/8"},
        (),
        "matra-infra:vpcIpRange: '10.0.0.0/8' is not allowed",
        ["/16 to /24"],
    ),
    (
        "prod",
        {"adminSshSources": ["198.51.100.0/24", "not-a-cidr"]},
        (),
        "matra-infra:adminSshSources: 'not-a-cidr' is not allowed; expected each item to be an "
        "IPv4 or IPv6 network in CIDR notation",
        [],
    ),
    (
        "prod",
        {"adminSshSources": ["10.0.0.5"]},
        (),
        "matra-infra:adminSshSources: '10.0.0.5' is not allowed",
        [],
    ),
    (
        "prod",
        {"adminSshSources": []},
        (),
        "matra-infra:adminSshSources: '[]' is not allowed; expected at least 1",
        [],
    ),
    (
        "prod",
        {},
        ("adminSshSources",),
        "matra-infra:adminSshSources: (missing) is not allowed; expected at least 1",
        [],
    ),
    (
        "prod",
        {"adminSshSources": "198.51.100.0/24"},
        (),
        "matra-infra:adminSshSources: '198.51.100.0/24' is not allowed; expected a list of",
        [],
    ),
    (
        "prod",
        {"apiHostname": "API.matra.io"},
        (),
        "matra-infra:apiHostname: 'API.matra.io' is not allowed; expected a fully-qualified "
        "lower-case hostname",
        [],
    ),
    (
        "prod",
        {"apiHostname": "localhost"},
        (),
        "matra-infra:apiHostname: 'localhost' is not allowed",
        [],
    ),
    (
        "prod",
        {"apiHostname": "api.example.com"},
        (),
        "matra-infra:apiHostname: 'api.example.com' is not allowed; expected a name inside the "
        "managed zone matra.io",
        [],
    ),
    (
        "prod",
        {},
        ("apiHostname",),
        "matra-infra:apiHostname: (missing) is not allowed; expected a fully-qualified",
        ["pulumi config set matra-infra:apiHostname"],
    ),
    (
        "prod",
        {},
        ("environment",),
        "matra-infra:environment: (missing) is not allowed; expected one of: Development, "
        "Staging, Production",
        [],
    ),
    (
        "prod",
        {"environment": "production"},
        (),
        "matra-infra:environment: 'production' is not allowed; expected one of: Development",
        [],
    ),
    (
        "prod",
        {"loadBalancer": "yes"},
        (),
        "matra-infra:loadBalancer: 'yes' is not allowed; expected true or false",
        [],
    ),
    (
        "prod",
        {"backupPlan": "hourly"},
        (),
        "matra-infra:backupPlan: 'hourly' is not allowed; expected one of: weekly, daily",
        [],
    ),
    (
        "prod",
        {"backupWeekday": "SUNDAY"},
        (),
        "matra-infra:backupWeekday: 'SUNDAY' is not allowed; expected one of: SUN, MON",
        [],
    ),
    (
        "prod",
        {"backupHour": 3},
        (),
        "matra-infra:backupHour: '3' is not allowed; expected one of: 0, 4, 8, 12, 16, 20",
        [],
    ),
    (
        "prod",
        {"dropletImage": "ubuntu-20-04-x64"},
        (),
        "matra-infra:dropletImage: 'ubuntu-20-04-x64' is not allowed; expected a supported "
        "Ubuntu LTS image (Ubuntu 20.04 left standard support",
        [],
    ),
    (
        "prod",
        {"dropletImage": "debian-12-x64"},
        (),
        "matra-infra:dropletImage: 'debian-12-x64' is not allowed; expected an Ubuntu LTS image",
        [],
    ),
    (
        "prod",
        {"deployUser": "root"},
        (),
        "matra-infra:deployUser: 'root' is not allowed; expected a Linux user name",
        [],
    ),
    (
        "prod",
        {"deployUser": "Deploy User"},
        (),
        "matra-infra:deployUser: 'Deploy User' is not allowed",
        [],
    ),
    (
        "prod",
        {"appPort": 80},
        (),
        "matra-infra:appPort: '80' is not allowed; expected a whole number from 1024 to 65535",
        [],
    ),
    (
        "prod",
        {"healthPath": "healthz"},
        (),
        "matra-infra:healthPath: 'healthz' is not allowed; expected an absolute URL path",
        [],
    ),
    (
        "prod",
        {"loadBalancerSizeUnit": 0},
        (),
        "matra-infra:loadBalancerSizeUnit: '0' is not allowed; expected a whole number from 1 "
        "to 100",
        [],
    ),
    (
        "prod",
        {"sshPublicKeys": ["ssh-dss AAAAB3NzaC1kc3M= old-dsa"]},
        (),
        "matra-infra:sshPublicKeys: 'ssh-dss AAAAB3NzaC1kc3M= old-dsa' is not allowed; expected "
        "each item to be an OpenSSH public key line",
        [],
    ),
    (
        "prod",
        {"dnsZone": "matra_io"},
        (),
        "matra-infra:dnsZone: 'matra_io' is not allowed; expected a DNS zone",
        [],
    ),
    (
        "prod",
        {"automationSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops"},
        (),
        "matra-infra:automationSshPrivateKey: (missing) is not allowed; expected the secret "
        "private half",
        ["pulumi config set --secret"],
    ),
    (
        "dev",
        {"atlasBackups": True},
        (),
        "matra-infra:atlasBackups: 'true' is not allowed; expected false with "
        "matra-infra:atlasTier M0 (the shared M0 tier has no cloud backup",
        [],
    ),
    (
        "dev",
        {"atlasNodeCount": 5},
        (),
        "matra-infra:atlasNodeCount: '5' is not allowed; expected 3 with matra-infra:atlasTier M0",
        [],
    ),
    (
        "staging",
        {"atlasPointInTime": True, "atlasBackups": False},
        (),
        "matra-infra:atlasPointInTime: 'true' is not allowed; expected false unless "
        "matra-infra:atlasBackups is true",
        [],
    ),
    (
        "prod",
        {"atlasTier": "M15"},
        (),
        "matra-infra:atlasTier: 'M15' is not allowed; expected one of: M0, M10, M20",
        [],
    ),
    (
        "prod",
        {"atlasNodeCount": 4},
        (),
        "matra-infra:atlasNodeCount: '4' is not allowed; expected 3, 5 or 7",
        [],
    ),
    (
        "prod",
        {"atlasBackupRetentionDays": 0},
        (),
        "matra-infra:atlasBackupRetentionDays: '0' is not allowed; expected a whole number from "
        "1 to 365",
        [],
    ),
    (
        "prod",
        {"atlasMongoVersion": "6.0"},
        (),
        "matra-infra:atlasMongoVersion: '6.0' is not allowed; expected one of: 7.0, 8.0",
        [],
    ),
    (
        "prod",
        {"atlasOrgId": "my-org"},
        (),
        "matra-infra:atlasOrgId: 'my-org' is not allowed; expected a MongoDB Atlas organisation id",
        [],
    ),
    (
        "prod",
        {},
        ("atlasOrgId",),
        "matra-infra:atlasOrgId: (missing) is not allowed; expected a MongoDB Atlas",
        [],
    ),
    (
        "prod",
        {"appDatabase": "my db"},
        (),
        "matra-infra:appDatabase: 'my db' is not allowed; expected a MongoDB database name",
        [],
    ),
    (
        "prod",
        {"redisMode": "redis"},
        (),
        "matra-infra:redisMode: 'redis' is not allowed; expected one of: managed, droplet",
        [],
    ),
    (
        "prod",
        {"redisSize": "s-1vcpu-1gb"},
        (),
        "matra-infra:redisSize: 's-1vcpu-1gb' is not allowed; expected a managed database size "
        "slug for redisMode managed",
        ["db-s-1vcpu-1gb"],
    ),
    (
        "dev",
        {"redisSize": "db-s-1vcpu-1gb"},
        (),
        "matra-infra:redisSize: 'db-s-1vcpu-1gb' is not allowed; expected a droplet size slug "
        "for redisMode droplet",
        [],
    ),
    (
        "dev",
        {"redisNodeCount": 2},
        (),
        "matra-infra:redisNodeCount: '2' is not allowed; expected 1 with matra-infra:redisMode "
        "droplet",
        [],
    ),
    (
        "prod",
        {"redisVersion": "7"},
        (),
        "matra-infra:redisVersion: '7' is not allowed; expected one of: 8",
        [],
    ),
    (
        "prod",
        {"protectData": "maybe"},
        (),
        "matra-infra:protectData: 'maybe' is not allowed; expected true or false",
        [],
    ),
    (
        "staging",
        {"tlsChallenge": "dns-01"},
        (),
        "matra-infra:tlsChallenge: no longer used; TLS ends at the load balancer with a "
        "DigitalOcean-managed Let's Encrypt certificate",
        ["(remove it with: pulumi config rm matra-infra:tlsChallenge)"],
    ),
    (
        "prod",
        {"certbotDnsToken": "dop_v1_0123"},
        (),
        "matra-infra:certbotDnsToken: no longer used; TLS ends at the load balancer",
        ["no host holds a DNS token any more", "revoke the token", "pulumi config rm"],
    ),
    (
        "staging",
        {"dnsZone": ""},
        (),
        "matra-infra:dnsZone: (missing) is not allowed; expected the DigitalOcean DNS zone that "
        "holds matra-infra:apiHostname when matra-infra:loadBalancer is true",
        ["only for a domain on its DNS"],
    ),
    (
        "dev",
        {"acmeDirectoryUrl": "http://acme.example/dir"},
        (),
        "matra-infra:acmeDirectoryUrl: 'http://acme.example/dir' is not allowed; expected the "
        "https URL of an ACME directory",
        [],
    ),
    (
        "dev",
        {"acmeEmail": "ops"},
        (),
        "matra-infra:acmeEmail: 'ops' is not allowed; expected an e-mail address",
        [],
    ),
    (
        "dev",
        {"registryName": "Matra Registry"},
        (),
        "matra-infra:registryName: 'Matra Registry' is not allowed; expected a DigitalOcean "
        "container registry name",
        [],
    ),
    (
        "dev",
        {"appEnv": ["node_env=dev"]},
        (),
        "matra-infra:appEnv: 'node_env=dev' is not allowed; expected each item to be a KEY=value "
        "line",
        [],
    ),
    (
        "dev",
        {"appEnv": ["MONGODB_URI=mongodb://elsewhere"]},
        (),
        "matra-infra:appEnv: 'MONGODB_URI=mongodb://elsewhere' is not allowed; expected each item "
        "to be a KEY=value line (KEY in upper case, not MONGODB_URI, NEW_RELIC_APP_NAME, "
        "NEW_RELIC_LICENSE_KEY, REDIS_URL, SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_RELEASE, "
        "which the stack sets)",
        [],
    ),
    (
        "prod",
        {"appEnv": ["FOO=bar\nMONGODB_URI=mongodb://evil"]},
        (),
        "matra-infra:appEnv: 'FOO=bar\\nMONGODB_URI=mongodb://evil' is not allowed; expected each "
        "item to be a KEY=value line",
        [],
    ),
    (
        "prod",
        {"protectData": False},
        (),
        "matra-infra:protectData: 'false' is not allowed; expected true when "
        "matra-infra:environment is Production",
        [],
    ),
    (
        "prod",
        {"deployUser": "ops"},
        (),
        "matra-infra:deployUser: 'ops' is not allowed; expected a Linux user name",
        ["not root or ops"],
    ),
    (
        "prod",
        {"deploySshPublicKey": "not a key"},
        (),
        "matra-infra:deploySshPublicKey: 'not a key' is not allowed; expected the deploy job's "
        "OpenSSH public key line",
        [],
    ),
    # Observability: who is told, thresholds, windows, the uptime check, Papertrail.
    (
        "prod",
        {"alertEmails": ["ops@matra.io", "ops at matra.io"]},
        (),
        "matra-infra:alertEmails: 'ops at matra.io' is not allowed; expected each item to be an "
        "e-mail address",
        [],
    ),
    (
        "staging",
        {"alertEmails": []},
        (),
        "matra-infra:alertEmails: '[]' is not allowed; expected at least one e-mail address, or "
        "a Slack webhook in matra-infra:alertSlackWebhooks",
        [],
    ),
    (
        "prod",
        {"alertCpuPercent": 0},
        (),
        "matra-infra:alertCpuPercent: '0' is not allowed; expected a whole number of percent "
        "from 1 to 99",
        [],
    ),
    (
        "prod",
        {"alertDiskPercent": 100},
        (),
        "matra-infra:alertDiskPercent: '100' is not allowed",
        [],
    ),
    (
        "prod",
        {"alertMemoryPercent": 150},
        (),
        "matra-infra:alertMemoryPercent: '150' is not allowed; expected a whole number of percent",
        [],
    ),
    (
        "dev",
        {"alertLb5xxPercent": -5},
        (),
        "matra-infra:alertLb5xxPercent: '-5' is not allowed",
        [],
    ),
    (
        "prod",
        {"alertLoadPerVcpu": 0},
        (),
        "matra-infra:alertLoadPerVcpu: '0' is not allowed; expected a whole number from 1 to 20",
        [],
    ),
    (
        "prod",
        {"alertWindow": "15m"},
        (),
        "matra-infra:alertWindow: '15m' is not allowed; expected one of: 5m, 10m, 30m, 1h",
        [],
    ),
    (
        "prod",
        {"uptimeRegions": ["us_east"]},
        (),
        "matra-infra:uptimeRegions: '[\"us_east\"]' is not allowed; expected at least two of "
        "us_east, us_west, eu_west, se_asia",
        [],
    ),
    (
        "prod",
        {"uptimeRegions": ["us_east", "ams3"]},
        (),
        "matra-infra:uptimeRegions: 'ams3' is not allowed; expected each item to be one of: "
        "us_east, us_west, eu_west, se_asia",
        [],
    ),
    (
        "prod",
        {"uptimeCertExpiryDays": 30},
        (),
        "matra-infra:uptimeCertExpiryDays: '30' is not allowed; expected a whole number of days "
        "from 1 to 29",
        ["certbot renews 30 days ahead"],
    ),
    (
        "prod",
        {"uptimeAlertPeriod": "1m"},
        (),
        "matra-infra:uptimeAlertPeriod: '1m' is not allowed; expected one of: 2m, 3m, 5m",
        [],
    ),
    (
        "prod",
        {"uptimeLatencyMs": 50},
        (),
        "matra-infra:uptimeLatencyMs: '50' is not allowed; expected a whole number from 100 to "
        "30000",
        [],
    ),
    (
        "prod",
        {"papertrailDestination": "logs5.papertrailapp.com"},
        (),
        "matra-infra:papertrailDestination: 'logs5.papertrailapp.com' is not allowed; expected "
        "host:port of a Papertrail log destination, such as logs5.papertrailapp.com:12345",
        [],
    ),
    (
        "prod",
        {"papertrailDestination": "logs5.papertrailapp.com:99999"},
        (),
        "matra-infra:papertrailDestination: 'logs5.papertrailapp.com:99999' is not allowed",
        [],
    ),
    (
        "prod",
        {"papertrailDestination": "tls://logs5.papertrailapp.com:12345"},
        (),
        "matra-infra:papertrailDestination: 'tls://logs5.papertrailapp.com:12345' is not allowed",
        [],
    ),
    (
        "prod",
        {"dropletcount": 4},
        (),
        "matra-infra:dropletcount: unknown key; did you mean matra-infra:dropletCount? expected "
        "one of the keys declared in Pulumi.yaml",
        [],
    ),
    (
        "prod",
        {
            "automationSshPublicKey": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB ops",
            "automationSshPrivateKey": "k",
        },
        (),
        "matra-infra:automationSshPublicKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB ops' is not "
        "allowed; expected an OpenSSH ed25519 public key",
        [],
    ),
]


def _id(case):
    stack, overrides, unset, _, _ = case
    what = ",".join([*overrides, *(f"-{key}" for key in unset)])
    return f"{stack}:{what}"


def assert_refused(run, start, *, hidden=(), contains=()):
    """The run stopped with one ConfigError line that starts with ``start``, names each of
    ``contains``, shows none of ``hidden``, and registered nothing."""
    assert isinstance(run.error, ConfigError), f"expected a ConfigError, got {run.error!r}"
    message = str(run.error)
    assert "\n" not in message, f"expected one line, got:\n{message}"
    assert message.startswith(start), message
    for word in contains:
        assert word in message
    for secret in hidden:
        assert secret not in message
    assert run.registrations == [], "nothing may be registered before config is valid"


def run_with_secret(key, value):
    """prod with ``key`` set to ``value`` as a secret (as `pulumi config set --secret` does)."""
    return run_program("prod", overrides={key: value}, secret_keys=(key,))


@pytest.mark.parametrize("case", MISTAKES, ids=[_id(c) for c in MISTAKES])
def test_mistake_gives_one_line_and_registers_nothing(case):
    stack, overrides, unset, expected_start, contains = case
    run = run_program(
        stack, overrides=overrides, unset=unset, secret_keys=("automationSshPrivateKey",)
    )
    assert_refused(run, expected_start, contains=contains)


def test_a_plain_text_private_key_is_refused_without_echoing_it():
    private = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----"
    run = run_program(
        "prod",
        overrides={
            "automationSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops",
            "automationSshPrivateKey": private,
        },
    )
    assert_refused(
        run,
        "matra-infra:automationSshPrivateKey: (value hidden) is stored in plain text; expected "
        "a secret",
        hidden=["c2VjcmV0"],
    )


def test_a_private_key_without_its_public_half_is_refused():
    run = run_with_secret("automationSshPrivateKey", "secret-value")
    assert_refused(
        run,
        "matra-infra:automationSshPublicKey: (missing) is not allowed; expected the public half",
        hidden=["secret-value"],
    )


def test_every_problem_is_reported_at_once_one_line_each():
    run = run_program("prod", overrides={"dropletCount": 0, "region": "mars1", "appPort": "http"})
    lines = str(run.error).splitlines()
    assert [line.split(":")[1] for line in lines] == ["region", "dropletCount", "appPort"]
    assert run.registrations == []


def test_config_error_is_a_run_error_so_the_language_host_prints_no_traceback():
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


def test_the_program_shows_its_config_error_as_its_only_error():
    # Logged as the one error, then exit status 32: the language host's "already shown to
    # the user", so the CLI adds no "program exited with non-zero exit code" line
    # (test_engine_config.py sees the real CLI print the one line).
    run = run_program("prod", overrides={"dropletCount": 0, "region": "mars1"})
    assert run.errors == [str(run.error)]
    assert len(run.errors[0].splitlines()) == 2
    assert run.exit_status == 32


def test_every_key_declared_in_pulumi_yaml_is_read_and_no_other():
    import yaml

    from harness import ROOT
    from matra import settings

    declared = set(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
    seen = {}
    real_reject = settings.ConfigReader._reject_unknown_keys

    def spy(self):
        seen["read"] = set(self.read)
        return real_reject(self)

    settings.ConfigReader._reject_unknown_keys = spy
    try:
        run = run_program("prod", fresh=True)
    finally:
        settings.ConfigReader._reject_unknown_keys = real_reject
    assert run.error is None, run.error
    assert seen["read"] == declared


@pytest.mark.parametrize(
    "key", ["appSecretEnv", "sentryDsn", "newRelicLicenseKey", "alertSlackWebhooks"]
)
def test_secret_settings_stored_in_plain_text_are_refused_without_echo(key):
    run = run_program("prod", overrides={key: "SENTRY_DSN=https://leak@sentry.io/1"})
    assert_refused(
        run,
        f"matra-infra:{key}: (value hidden) is stored in plain text; expected a secret",
        hidden=["leak"],
    )


def test_a_bad_secret_env_line_is_refused_without_echo():
    run = run_with_secret("appSecretEnv", "API_KEY=ok\nnot a setting leak")
    assert_refused(
        run, "matra-infra:appSecretEnv: line 2 (value hidden) is not allowed", hidden=["leak"]
    )


@pytest.mark.parametrize(
    "key, value",
    [
        ("appEnv", ["lower=dop_v1_leaked_token"]),
        ("atlasOrgId", "dop_v1_leaked_token"),
        ("acmeEmail", "dop_v1_leaked_token"),
    ],
)
def test_a_bad_value_stored_as_a_secret_is_never_echoed(key, value):
    run = run_with_secret(key, value)
    assert_refused(
        run, f"matra-infra:{key}: (value hidden) is not allowed; expected", hidden=["leaked"]
    )


@pytest.mark.parametrize("secret", [False, True])
def test_the_retired_dns_token_is_refused_without_echoing_it(secret):
    run = run_program(
        "prod",
        overrides={"certbotDnsToken": "dop_v1_leaked"},
        secret_keys=("certbotDnsToken",) if secret else (),
    )
    assert_refused(
        run, "matra-infra:certbotDnsToken: no longer used; TLS ends at the", hidden=["leaked"]
    )


@pytest.mark.parametrize(
    "key, value, start",
    [
        (
            "alertSlackWebhooks",
            "#ops https://hooks.slack.com/services/T0/B0/fine\n#dev http://leak.example/hook",
            "matra-infra:alertSlackWebhooks: line 2 (value hidden) is not allowed; expected "
            "'<channel> <https webhook URL>' lines",
        ),
        (
            "alertSlackWebhooks",
            "https://hooks.slack.com/services/T0/B0/leak",
            "matra-infra:alertSlackWebhooks: line 1 (value hidden) is not allowed",
        ),
        (
            "sentryDsn",
            "https://sentry.io/leak",
            "matra-infra:sentryDsn: (value hidden) is not allowed; expected a Sentry DSN",
        ),
        (
            "newRelicLicenseKey",
            "leak-0123",
            "matra-infra:newRelicLicenseKey: (value hidden) is not allowed; expected a New Relic "
            "license key (40 letters and digits)",
        ),
    ],
)
def test_a_malformed_secret_is_refused_by_its_key_without_echo(key, value, start):
    run = run_with_secret(key, value)
    assert_refused(run, start, hidden=["leak"])
