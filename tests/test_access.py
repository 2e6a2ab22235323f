"""SshAccess: the automation key (generated ed25519, or supplied), the deploy job's key
(generated, or its public half supplied), the operators' keys; secrets stay secret."""

from harness import build as build_component
from harness import plain, resolve, run, run_program
from matra import SshAccess, SshAccessArgs
from matra_policies.types import PRIVATE_KEY, SSH_KEY

OPERATOR = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator alice@laptop"
DEPLOY_JOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployJob ci"


def build(**changes):
    args = dict(key_name="matra-test-automation", operator_public_keys=[OPERATOR])
    args.update(changes)
    return build_component(lambda: SshAccess("ssh", SshAccessArgs(**args)))


def test_generates_ed25519_pairs_whose_private_halves_are_secret():
    result, access = build()
    pairs = {r.name: r for r in result.of_type(PRIVATE_KEY)}
    assert set(pairs) == {"ssh-automation", "ssh-deploy"}
    assert all(r.inputs == {"algorithm": "ED25519"} for r in pairs.values())
    assert resolve(access.automation_private_key).secret is True
    deploy_private = resolve(access.deploy_private_key)
    assert deploy_private.secret is True
    public = resolve(access.automation_public_key).value
    assert public.startswith("ssh-ed25519 ") and not public.endswith("\n")
    assert resolve(access.deploy_public_key).value != public
    assert result.one(SSH_KEY).inputs == {"name": "matra-test-automation", "publicKey": public}


def test_admin_keys_are_the_automation_key_first_then_the_operators():
    _, access = build()
    public = resolve(access.automation_public_key).value
    assert resolve(access.admin_authorized_keys).value == [public, OPERATOR]


def test_operator_keys_are_not_registered_in_the_account():
    result, _ = build()
    assert len(result.of_type(SSH_KEY)) == 1


def test_a_supplied_pair_is_used_and_nothing_is_generated_for_it():
    supplied_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops"
    result, access = build(
        supplied_public_key=supplied_public, supplied_private_key="PRIVATE-MATERIAL"
    )
    assert [r.name for r in result.of_type(PRIVATE_KEY)] == ["ssh-deploy"]
    assert result.one(SSH_KEY).inputs["publicKey"] == supplied_public
    private = resolve(access.automation_private_key)
    assert private.secret is True and private.value == "PRIVATE-MATERIAL"


def test_a_supplied_deploy_key_means_no_private_half_anywhere():
    result, access = build(deploy_public_key=DEPLOY_JOB)
    assert [r.name for r in result.of_type(PRIVATE_KEY)] == ["ssh-automation"]
    assert access.deploy_private_key is None
    assert resolve(access.deploy_public_key).value == DEPLOY_JOB


def test_a_stack_supplied_key_flows_from_secret_config():
    run_ = run_program(
        "prod",
        overrides={
            "automationSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops",
            "automationSshPrivateKey": "PRIVATE-MATERIAL",
            "deploySshPublicKey": DEPLOY_JOB,
        },
        secret_keys=("automationSshPrivateKey",),
    )
    assert run_.error is None, run_.error
    # Nothing generated for the supplied keys (each droplet's host key is still its own).
    generated = [r.name for r in run_.of_type(PRIVATE_KEY)]
    assert [n for n in generated if not n.endswith("-host-key")] == []
    assert "deploySshPrivateKey" not in run_.outputs
    assert run_.outputs["deploySshPublicKey"].value == DEPLOY_JOB
    for droplet in run_.api_droplets():
        document = plain(droplet.inputs["userData"])
        assert "PRIVATE-MATERIAL" not in document
        assert "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops" in document
    # The deploy job's key reaches each API host with its setup (not with user data).
    setups = [c for c in run_.of_type("command:remote:Command") if c.name.endswith("-setup")]
    assert len(setups) == 3 and all(DEPLOY_JOB in c.inputs["create"] for c in setups)
    for command in run_.of_type("command:remote:Command"):
        assert plain(command.inputs["connection"])["privateKey"] == "PRIVATE-MATERIAL"


def test_the_automation_private_key_is_never_an_output():
    program = run_program("prod")
    assert "automationSshPrivateKey" not in program.outputs
    deploy = program.outputs["deploySshPrivateKey"]
    assert deploy.secret is True and deploy.value.startswith("-----BEGIN OPENSSH PRIVATE KEY")


def test_half_a_supplied_pair_is_refused():
    result = run(
        lambda: SshAccess(
            "ssh", SshAccessArgs(key_name="k", supplied_public_key="ssh-ed25519 AAAAC3Nz ops")
        ),
        stack="test",
    )
    assert isinstance(result.error, ValueError) and "both halves" in str(result.error)
    assert result.of_type(SSH_KEY) == []
