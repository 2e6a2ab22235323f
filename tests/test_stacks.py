"""Each shipped stack, evaluated from its real Pulumi.<stack>.yaml plus the Pulumi.yaml
defaults, against the stack matrix below."""

import pytest

from harness import GENERATED_KEYS, STACKS, fake_id, mock_private_key, plain, run_program
from matra.hostfiles import HostStep
from matra_policies.types import DATABASE_CLUSTER, DROPLET, RESERVED_IP, VPC
from matra_policies.types import DNS_RECORD as DNS
from matra_policies.types import DO_PROJECT as PROJECT
from matra_policies.types import LOAD_BALANCER as LB

MATRIX = {
    #          count  size            load balancer  backups   environment    hostname
    "dev": (1, "s-1vcpu-2gb", False, None, "Development", "api.dev.matra.io"),
    "staging": (1, "s-2vcpu-4gb", True, "weekly", "Staging", "api.staging.matra.io"),
    "prod": (3, "s-4vcpu-8gb", True, "weekly", "Production", "api.matra.io"),
}


@pytest.fixture(scope="module", params=STACKS)
def stack(request):
    run = run_program(request.param)
    assert run.error is None, run.error
    return request.param, run


def test_droplets_match_the_matrix(stack):
    name, run = stack
    count, size, _, backups, _, _ = MATRIX[name]
    droplets = run.api_droplets()
    assert [d.name for d in droplets] == [f"api-{i}" for i in range(count)]
    for index, droplet in enumerate(droplets):
        assert droplet.inputs["size"] == size
        assert droplet.inputs["image"] == "ubuntu-24-04-x64"
        assert droplet.inputs["name"] == f"matra-{name}-api-{index}"
        assert droplet.inputs["monitoring"] is True
        assert droplet.inputs["backups"] is (backups is not None)
        if backups:
            assert droplet.inputs["backupPolicy"] == {"plan": backups, "weekday": "SUN", "hour": 4}
        else:
            assert "backupPolicy" not in droplet.inputs
        assert set(droplet.inputs["tags"]) == {
            f"matra-{name}-api",
            "matra",
            f"env:{name}",
            "role:api",
        }
        assert len(droplet.inputs["sshKeys"]) == 1


def test_ingress_matches_the_matrix(stack):
    name, run = stack
    _, _, has_lb, _, _, hostname = MATRIX[name]
    record = run.one(DNS)
    assert record.inputs["domain"] == "matra.io"
    assert record.inputs["type"] == "A"
    assert record.inputs["name"] == hostname.removesuffix(".matra.io")
    if has_lb:
        assert len(run.of_type(LB)) == 1 and run.of_type(RESERVED_IP) == []
        assert record.inputs["value"] == run.outputs["ingressIp"].value == "198.51.100.200"
    else:
        assert run.of_type(LB) == [] and len(run.of_type(RESERVED_IP)) == 1
        assert record.inputs["value"] == run.outputs["ingressIp"].value == "192.0.2.50"


def test_one_vpc_and_a_project_grouping_the_stack(stack):
    name, run = stack
    _, _, has_lb, _, environment, _ = MATRIX[name]
    vpc = run.one(VPC)
    assert vpc.inputs["name"] == f"matra-{name}-vpc"
    assert vpc.inputs["region"] == "nyc3"
    project = run.one(PROJECT)
    assert project.inputs["name"] == f"matra-{name}"
    assert project.inputs["environment"] == environment
    urns = project.inputs["resources"]
    cache_droplets = 1 if name == "dev" else 0
    assert sum(u.startswith("do:droplet:") for u in urns) == MATRIX[name][0] + cache_droplets
    assert sum(u.startswith("do:dbaas:") for u in urns) == 1 - cache_droplets
    assert sum(u.startswith("do:loadbalancer:") for u in urns) == (1 if has_lb else 0)
    assert sum(u.startswith("do:floatingip:") for u in urns) == (0 if has_lb else 1)


def test_every_droplet_sits_in_the_stack_vpc(stack):
    _, run = stack
    vpc_id = run.outputs["vpcId"].value
    assert {d.inputs["vpcUuid"] for d in run.of_type(DROPLET)} == {vpc_id}
    for cluster in run.of_type(DATABASE_CLUSTER):
        assert cluster.inputs["privateNetworkUuid"] == vpc_id


def test_web_ports_open_only_to_the_load_balancer_when_there_is_one(stack):
    name, run = stack
    has_lb = MATRIX[name][2]
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


def test_every_component_child_has_a_parent(stack):
    _, run = stack
    top_level = {
        r.name for r in run.registrations if r.parent.endswith(f"::matra-infra-{stack[0]}")
    }
    assert top_level == {
        "network",
        "ssh",
        "api",
        "ingress",
        "project",
        "atlas",
        "cache",
        "hosts",
        "operator-keys",
        "monitoring",
    }


def test_outputs_the_deploy_job_reads(stack):
    name, run = stack
    count, _, _, _, _, hostname = MATRIX[name]
    out = {key: value.value for key, value in run.outputs.items()}
    assert out["apiHostname"] == hostname
    assert out["apiUrl"] == f"https://{hostname}"
    assert out["deployUser"] == "deploy"
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
    _, run = stack
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
                assert secret not in str(output.value), key


def _password(url):
    """The password part of scheme://user:password@host..."""
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_tls_matches_the_matrix(stack):
    """Behind a balancer: a managed certificate for the hostname, no certbot, no token on
    any host. The lone droplet: certbot over HTTP-01, no certificate resource."""
    name, run = stack
    has_lb, hostname = MATRIX[name][2], MATRIX[name][5]
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
