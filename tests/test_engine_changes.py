"""What a change does to a running fleet, as the real engine plans it: `pulumi preview
--diff` of prod with state (built without a cloud: tests/engine_state.py), one change at a
time. These are the claims of docs' "What a change does to a running fleet" table: which
changes touch a host's delivery only, which add or remove droplets, which resize them in
place and which replace them (each with its host key, created before the old one goes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine import Preview, Workspace
from engine_state import EXCLUDED, deploy_without_cloud

pytestmark = pytest.mark.engine

STACK = "prod"
HOSTS = range(3)  # prod's dropletCount
CLOUD_INIT = "matra/templates/api-cloud-init.yaml.j2"
PER_HOST = ("setup", "registry", "env", "logs", "newrelic", "release")
"""A host's delivery commands (hosts-api-N-<what>)."""


def whole_host(n: int) -> set[str]:
    """API host N as the preview names its steps: its component (ApiHost api-N) and its
    droplet (api-N) share a name, so each carries its type; then the rest."""
    return {f"api-{n} (ApiHost)", f"api-{n} (Droplet)", *host_children(n)}


def host_children(n: int) -> set[str]:
    """What the program makes for API droplet N besides the droplet itself."""
    return {
        f"api-{n}-host-key",
        f"atlas-access-{n}",
        f"tls-api-{n}",
        f"operator-keys-api-{n}",
        *(f"hosts-api-{n}-{what}" for what in PER_HOST),
    }


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Workspace:
    """prod, with the state an update would have left."""
    workspace = Workspace(tmp_path_factory.mktemp("engine-changes"))
    deploy_without_cloud(workspace, STACK)
    return workspace


def preview(workspace: Workspace) -> Preview:
    found = workspace.preview(STACK, "--diff", *EXCLUDED, pack=False)
    assert found.ok, found.explain()
    return found


@contextmanager
def edited(workspace: Workspace, path: str, old: str, new: str) -> Iterator[None]:
    """A file of the workspace's copy with ``old`` replaced by ``new``, then put back."""
    file = workspace.repo / path
    saved = file.read_text()
    assert old in saved, f"{path} has no {old!r}"
    file.write_text(saved.replace(old, new))
    try:
        yield
    finally:
        file.write_text(saved)


def test_the_built_state_is_what_the_program_converges_to(fleet):
    assert preview(fleet).changes() == {}


def test_the_apps_settings_rewrite_each_hosts_env_only(fleet):
    with fleet.changed(STACK, {"appEnv": ["FEATURE_X=on"]}):
        changes = preview(fleet).changes()
    assert changes == {f"hosts-api-{n}-env": "update" for n in HOSTS}


def test_a_host_setting_reruns_each_hosts_setup_and_replaces_no_droplet(fleet):
    with fleet.changed(STACK, {"healthPath": "/health"}):
        changes = preview(fleet).changes()
    assert {f"hosts-api-{n}-setup" for n in HOSTS} <= set(changes)
    assert set(changes.values()) == {"update"}
    assert not {f"api-{n}" for n in HOSTS} & set(changes)


def test_a_host_script_change_reruns_each_hosts_setup(fleet):
    with edited(fleet, "host/host-setup.sh", "set -eu", "set -eu\n:"):
        changes = preview(fleet).changes()
    assert changes == {f"hosts-api-{n}-setup": "update" for n in HOSTS}


def test_scaling_up_creates_the_new_droplet_and_touches_no_other_host(fleet):
    with fleet.changed(STACK, {"dropletCount": 4}):
        changes = preview(fleet).changes()
    created = {name for name, ops in changes.items() if ops == "create"}
    assert created == whole_host(3)
    others = {name: ops for name, ops in changes.items() if name not in created}
    assert set(others.values()) <= {"update"}  # the alerts that count the droplets
    assert all(name.startswith("monitoring-") for name in others)


def test_scaling_down_deletes_the_highest_droplets_and_nothing_else(fleet):
    with fleet.changed(STACK, {"dropletCount": 2}):
        changes = preview(fleet).changes()
    deleted = {name for name, ops in changes.items() if ops == "delete"}
    assert deleted == whole_host(2)
    assert set(changes.values()) - {"delete"} <= {"update"}
    updated = {name for name, ops in changes.items() if ops == "update"}
    assert not updated & (whole_host(0) | whole_host(1) | {"api-0", "api-1"})


def test_a_new_size_resizes_each_droplet_in_place(fleet):
    with fleet.changed(STACK, {"dropletSize": "s-8vcpu-16gb"}):
        changes = preview(fleet).changes()
    assert {changes[f"api-{n}"] for n in HOSTS} == {"update"}
    assert not any("replace" in ops for ops in changes.values())


def test_a_new_image_replaces_every_droplet_and_its_host_key(fleet):
    with fleet.changed(STACK, {"dropletImage": "ubuntu-22-04-x64"}):
        changes = preview(fleet).changes()
    _replaced_whole_fleet(changes)


def test_operators_keys_reach_the_hosts_over_ssh_and_replace_nothing(fleet):
    key = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw9n3nM2a8b1O5cY3l1oQ7bXq2jz6vXk1f0c4s8dE1R ops@matra"
    )
    with fleet.changed(STACK, {"sshPublicKeys": [key]}):
        changes = preview(fleet).changes()
    assert set(changes) == {f"operator-keys-api-{n}" for n in HOSTS}
    assert set(changes.values()) == {"update"}


def test_a_cloud_init_change_replaces_every_droplet_and_its_host_key(fleet):
    ufw = "[ufw, allow, 443/tcp]"
    with edited(fleet, CLOUD_INIT, ufw, f"{ufw}\n  - [ufw, logging, low]"):
        changes = preview(fleet).changes()
    _replaced_whole_fleet(changes)


def _replaced_whole_fleet(changes: dict[str, str]) -> None:
    """Every API droplet, its host key and its delivery are replaced, each new one
    created before the old one is deleted."""
    for n in HOSTS:
        for name in (f"api-{n}", f"api-{n}-host-key", f"hosts-api-{n}-setup"):
            assert changes.get(name, "").startswith("create-replacement"), (name, changes.get(name))
