"""SSH host keys pinned end to end, on mocks: every droplet has its own key, installed by
cloud-init; every connection the program makes pins the key of the droplet it reaches;
sshKnownHosts lists every host; what replaces a droplet replaces its key; scaling adds
lines and changes none."""

import pytest
import yaml

from harness import STACKS, plain, run_program
from matra_policies.types import DROPLET, PRIVATE_KEY, REMOTE_COMMAND


def host_keys(run):
    """{droplet name: the public host key its tls.PrivateKey holds}."""
    keys = {k.name: k.state["publicKeyOpenssh"].strip() for k in run.of_type(PRIVATE_KEY)}
    return {d.name: keys[f"{d.name}-host-key"] for d in run.of_type(DROPLET)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_droplet_has_its_own_key_installed_by_cloud_init(stack):
    run = run_program(stack)
    keys = host_keys(run)
    assert len(set(keys.values())) == len(keys) == len(run.of_type(DROPLET))
    for droplet in run.of_type(DROPLET):
        document = yaml.safe_load(plain(droplet.inputs["userData"]))
        assert document["ssh_keys"]["ed25519_public"] == keys[droplet.name]
        key = run.by_name(f"{droplet.name}-host-key")
        assert key.inputs == {"algorithm": "ED25519"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_connection_pins_the_key_of_the_droplet_it_reaches(stack):
    run = run_program(stack)
    keys = host_keys(run)
    by_address = {d.state["ipv4Address"]: d.name for d in run.of_type(DROPLET)}
    commands = run.of_type(REMOTE_COMMAND)
    assert len(commands) >= 4
    for command in commands:
        connection = plain(command.inputs["connection"])
        droplet = by_address[connection["host"]]
        assert connection["hostKey"] == keys[droplet], command.name
        assert connection["hostKey"].startswith("ssh-ed25519 ")


@pytest.mark.parametrize("stack", STACKS)
def test_ssh_known_hosts_names_every_host_with_its_address_and_key(stack):
    run = run_program(stack)
    keys = host_keys(run)
    output = run.outputs["sshKnownHosts"]
    assert output.secret is False
    expected = [
        f"{d.inputs['name']},{d.state['ipv4Address']} {' '.join(keys[d.name].split()[:2])}"
        for d in [
            *run.api_droplets(),
            *[r for r in run.of_type(DROPLET) if r.name == "cache-droplet"],
        ]
    ]
    assert output.value == "".join(f"{line}\n" for line in expected)
    for line in output.value.splitlines():
        names, key_type, key = line.split(" ")
        assert key_type == "ssh-ed25519" and key.startswith("AAAA") and "," in names


def test_scaling_adds_a_known_hosts_line_and_changes_none():
    three = run_program("prod").outputs["sshKnownHosts"].value.splitlines()
    four = run_program("prod", overrides={"dropletCount": 4}).outputs["sshKnownHosts"]
    four_lines = four.value.splitlines()
    assert four_lines[:3] == three
    assert len(four_lines) == 4 and four_lines[3].startswith("matra-prod-api-3,")


def triggers(run):
    return {k.name: k.replacement_trigger for k in run.of_type(PRIVATE_KEY) if "host-key" in k.name}


@pytest.mark.parametrize(
    "change, replaced",
    [
        ({"dropletImage": "ubuntu-22-04-x64"}, True),  # a new image: new droplets, new keys
        ({"region": "fra1"}, True),
        ({"sshPublicKeys": []}, False),
        # The deploy key arrives with HostSetup, not in user data.
        ({"deploySshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployJob ci"}, False),
        ({"dropletSize": "s-8vcpu-16gb"}, False),  # a resize keeps the droplet and its key
        ({"sshPublicKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator a@b"]}, False),
        ({"appEnv": ["NODE_ENV=production", "FEATURE=on"]}, False),
    ],
)
def test_what_replaces_a_droplet_replaces_its_host_key_and_nothing_else_does(change, replaced):
    before, after = triggers(run_program("prod")), triggers(run_program("prod", overrides=change))
    assert set(before) == {"api-0-host-key", "api-1-host-key", "api-2-host-key"}
    assert all(value is not None for value in before.values())
    changed = {name for name in before if before[name] != after[name]}
    assert changed == (set(before) if replaced else set()), change
