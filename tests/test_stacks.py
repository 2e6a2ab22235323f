"""Each shipped stack's program, run under mocks from its real Pulumi.<stack>.yaml plus
the Pulumi.yaml defaults, builds what its settings ask for and gives the outputs the
deploy reads; no secret reaches a plain output or user data."""

import json

import pytest

from harness import GENERATED_KEYS, STACKS, fake_id, mock_private_key, plain, run_program
from harness import stack_config as project_config
from matra.hostfiles import HostStep
from matra_data import catalog
from matra_policies.types import DATABASE_CLUSTER, DROPLET, RESERVED_IP, VPC
from matra_policies.types import DNS_RECORD as DNS
from matra_policies.types import DO_PROJECT as PROJECT
from matra_policies.types import LOAD_BALANCER as LB


def settings_of(stack: str) -> dict[str, str]:
    """The stack's settings as its files give them (key -> flat string)."""
    return {key.split(":", 1)[1]: value for key, value in project_config(stack).items()}


@pytest.fixture(scope="module", params=STACKS)
def stack(request):
    run = run_program(request.param)
    assert run.error is None, run.error
    return request.param, settings_of(request.param), run


def test_the_droplets_are_the_ones_the_settings_ask_for(stack):
    name, config, run = stack
    count = int(config["dropletCount"])
    droplets = run.api_droplets()
    assert [d.name for d in droplets] == [f"api-{i}" for i in range(count)]
    backups = config["dropletBackups"] == "true"
    for index, droplet in enumerate(droplets):
        assert droplet.inputs["size"] == config["dropletSize"]
        assert droplet.inputs["image"] == config["dropletImage"]
        assert droplet.inputs["name"] == f"matra-{name}-api-{index}"
        assert droplet.inputs["monitoring"] is True
        assert droplet.inputs["backups"] is backups
        if backups:
            assert droplet.inputs["backupPolicy"] == {
                "plan": config["backupPlan"],
                "weekday": config["backupWeekday"],
                "hour": int(config["backupHour"]),
            }
        else:
            assert "backupPolicy" not in droplet.inputs
        assert set(droplet.inputs["tags"]) == {
            f"matra-{name}-api",
            "matra",
            f"env:{name}",
            "role:api",
        }
        assert len(droplet.inputs["sshKeys"]) == 1
    # Every droplet, the cache's too, runs a supported image.
    assert {d.inputs["image"] for d in run.of_type(DROPLET)} <= set(catalog.IMAGES)


def test_the_hostname_points_at_the_load_balancer_or_the_lone_droplets_ip(stack):
    _, config, run = stack
    has_lb, hostname = config["loadBalancer"] == "true", config["apiHostname"]
    zone = config["dnsZone"]
    record = run.one(DNS)
    assert record.inputs["domain"] == zone
    assert record.inputs["type"] == "A"
    assert f"{record.inputs['name']}.{zone}" == hostname
    if has_lb:
        assert len(run.of_type(LB)) == 1 and run.of_type(RESERVED_IP) == []
        assert record.inputs["value"] == run.outputs["ingressIp"].value == "198.51.100.200"
    else:
        assert run.of_type(LB) == [] and len(run.of_type(RESERVED_IP)) == 1
        assert record.inputs["value"] == run.outputs["ingressIp"].value == "192.0.2.50"


def test_one_vpc_and_a_project_grouping_the_stack(stack):
    name, config, run = stack
    has_lb = config["loadBalancer"] == "true"
    vpc = run.one(VPC)
    assert vpc.inputs["name"] == f"matra-{name}-vpc"
    assert vpc.inputs["region"] == config["region"]
    project = run.one(PROJECT)
    assert project.inputs["name"] == f"matra-{name}"
    assert project.inputs["environment"] == config["environment"]
    urns = project.inputs["resources"]
    cache_droplets = 1 if config["redisMode"] == "droplet" else 0
    assert sum(u.startswith("do:droplet:") for u in urns) == int(config["dropletCount"]) + (
        cache_droplets
    )
    assert sum(u.startswith("do:dbaas:") for u in urns) == 1 - cache_droplets
    assert sum(u.startswith("do:loadbalancer:") for u in urns) == (1 if has_lb else 0)
    assert sum(u.startswith("do:floatingip:") for u in urns) == (0 if has_lb else 1)


def test_every_droplet_sits_in_the_stack_vpc(stack):
    _, _, run = stack
    vpc_id = run.outputs["vpcId"].value
    assert {d.inputs["vpcUuid"] for d in run.of_type(DROPLET)} == {vpc_id}
    for cluster in run.of_type(DATABASE_CLUSTER):
        assert cluster.inputs["privateNetworkUuid"] == vpc_id


def test_web_ports_open_only_to_the_load_balancer_when_there_is_one(stack):
    _, config, run = stack
    has_lb = config["loadBalancer"] == "true"
    firewall = run.by_name("api-firewall")
    web = [r for r in firewall.inputs["inboundRules"] if r.get("portRange") in ("80", "443")]
    # Behind the balancer only 80 (TLS ends at the balancer); a lone droplet serves both.
    assert sorted(r["portRange"] for r in web) == (["80"] if has_lb else ["443", "80"])
    for rule in web:
        if has_lb:
            assert rule["sourceLoadBalancerUids"] == [fake_id(LB, "api-lb")]
            assert "sourceAddresses" not in rule
        else:
            assert rule["sourceAddresses"] == ["0.0.0.0/0", "::/0"]


def test_every_resource_hangs_under_the_stack_or_a_component_of_it(stack):
    """A resource's parent is the stack or one of the program's components (protect,
    providers and aliases flow down from it); all but a few resources (the project that
    groups the stack) sit in a component, none under a resource left out of the tree."""
    name, _, run = stack
    components = {r.urn for r in run.registrations if not r.custom}
    outside = {r.parent for r in run.registrations if r.parent not in components}
    assert outside == {f"urn:pulumi:{name}::matra-infra::pulumi:pulumi:Stack::matra-infra-{name}"}
    top_level = [r.name for r in run.registrations if r.custom and r.parent not in components]
    assert "project" in top_level and len(top_level) <= 3, top_level


def test_the_outputs_the_deploy_reads(stack):
    name, config, run = stack
    hostname = config["apiHostname"]
    out = {key: value.value for key, value in run.outputs.items()}
    assert out["apiHostname"] == hostname
    assert out["apiUrl"] == f"https://{hostname}"
    assert out["deployUser"] == config["deployUser"]
    count = int(config["dropletCount"])
    assert len(out["dropletPublicIpv4s"]) == len(out["dropletPrivateIpv4s"]) == count
    assert out["deployTargets"] == [
        {"name": f"matra-{name}-api-{i}", "ip": ip}
        for i, ip in enumerate(out["dropletPublicIpv4s"])
    ]
    assert out["deploySshPrivateKey"] == mock_private_key("ssh-deploy")
    assert "automationSshPrivateKey" not in out
    secrets = {"deploySshPrivateKey", "mongodbUri", "redisUrl"}
    assert {key for key, value in run.outputs.items() if value.secret} == secrets


def test_no_secret_reaches_a_plain_output_or_user_data(stack):
    _, _, run = stack
    secrets = [
        *(mock_private_key(name).splitlines()[1] for name in GENERATED_KEYS),
        _password(run.outputs["mongodbUri"].value),
        _password(run.outputs["redisUrl"].value),
    ]
    for droplet in run.of_type(DROPLET):
        document = plain(droplet.inputs["userData"])
        for secret in secrets:
            assert secret not in document
        # The one private key in user data is the droplet's own host key.
        assert document.count("-----BEGIN OPENSSH PRIVATE KEY-----") == 1
        assert mock_private_key(f"{droplet.name}-host-key").splitlines()[1] in document
    for key, output in run.outputs.items():
        if not output.secret:
            for secret in secrets:
                assert secret not in json.dumps(output.value), key


def _password(url):
    """The password part of scheme://user:password@host..."""
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_tls_ends_at_the_balancer_or_certbot_runs_on_the_lone_droplet(stack):
    """Behind a balancer: a managed certificate for the hostname, no certbot, no token on
    any host. The lone droplet: certbot over HTTP-01, no certificate resource."""
    _, config, run = stack
    has_lb, hostname = config["loadBalancer"] == "true", config["apiHostname"]
    certificates = run.of_type("digitalocean:index/certificate:Certificate")
    scripts = [c.inputs["create"] for c in run.of_type("command:remote:Command")]
    obtains = [s for s in scripts if "certonly" in s]
    if has_lb:
        (certificate,) = certificates
        assert certificate.inputs["type"] == "lets_encrypt"
        assert certificate.inputs["domains"] == [hostname]
        (https,) = [r for r in run.one(LB).inputs["forwardingRules"] if r["entryPort"] == 443]
        assert https["certificateName"] == certificate.inputs["name"]
        assert obtains == []
    else:
        assert certificates == []
        (script,) = obtains
        assert HostStep.read(script).params["MATRA_HOSTNAME"] == hostname
        assert "--webroot" in script
    assert not [s for s in scripts if "--dns-digitalocean" in s or "dop_v1_" in s]


def test_the_shipped_stacks_cover_both_ingresses_and_both_cache_modes():
    """What the tests above exercise: a lone droplet and a balanced fleet, a cache on a
    droplet and a managed one."""
    shipped = [settings_of(s) for s in STACKS]
    assert {c["loadBalancer"] for c in shipped} == {"true", "false"}
    assert {c["redisMode"] for c in shipped} == {"droplet", "managed"}
