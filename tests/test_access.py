"""SshAccess: a generated ed25519 automation key, or a supplied one; secrets stay secret."""

from components import SshAccess, SshAccessArgs
from harness import resolve, run, run_program

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SSH_KEY = "digitalocean:index/sshKey:SshKey"
OPERATOR = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator alice@laptop"


def build(**changes):
    args = dict(key_name="matra-test-automation", operator_public_keys=[OPERATOR])
    args.update(changes)
    holder = {}
    result = run(lambda: holder.update(access=SshAccess("ssh", SshAccessArgs(**args))),
                 stack="test")
    assert result.error is None, result.error
    return result, holder["access"]


def test_generates_an_ed25519_pair_whose_private_half_is_secret():
    result, access = build()
    assert result.one(PRIVATE_KEY).inputs == {"algorithm": "ED25519"}
    private = resolve(access.automation_private_key)
    assert private.secret is True
    public = resolve(access.automation_public_key).value
    assert public.startswith("ssh-ed25519 ") and not public.endswith("\n")
    assert result.one(SSH_KEY).inputs == {"name": "matra-test-automation", "publicKey": public}
    assert resolve(access.authorized_keys).value == [OPERATOR, public]


def test_operator_keys_are_not_registered_in_the_account():
    result, _ = build()
    assert len(result.of_type(SSH_KEY)) == 1


def test_a_supplied_pair_is_used_and_nothing_is_generated():
    supplied_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops"
    result, access = build(supplied_public_key=supplied_public,
                           supplied_private_key="PRIVATE-MATERIAL")
    assert result.of_type(PRIVATE_KEY) == []
    assert result.one(SSH_KEY).inputs["publicKey"] == supplied_public
    private = resolve(access.automation_private_key)
    assert private.secret is True and private.value == "PRIVATE-MATERIAL"


def test_a_stack_supplied_key_flows_from_secret_config():
    run_ = run_program("prod", overrides={
        "automationSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops",
        "automationSshPrivateKey": "PRIVATE-MATERIAL"}, secret_keys=("automationSshPrivateKey",))
    assert run_.error is None, run_.error
    assert run_.of_type(PRIVATE_KEY) == []
    out = run_.outputs["automationSshPrivateKey"]
    assert out.secret is True and out.value == "PRIVATE-MATERIAL"
    for droplet in run_.of_type("digitalocean:index/droplet:Droplet"):
        assert "PRIVATE-MATERIAL" not in droplet.inputs["userData"]
        assert "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISupplied ops" in droplet.inputs["userData"]


def test_half_a_supplied_pair_is_refused():
    result = run(lambda: SshAccess("ssh", SshAccessArgs(
        key_name="k", supplied_public_key="ssh-ed25519 AAAAC3Nz ops")), stack="test")
    assert isinstance(result.error, ValueError) and "both halves" in str(result.error)
    assert result.of_type(SSH_KEY) == []
