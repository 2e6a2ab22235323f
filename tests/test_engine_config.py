"""Bad config on the real engine: what only the CLI sees (the types Pulumi.yaml declares)
and the mistakes hidden in valid-looking values (an alert window, a droplet size, an Atlas
tier), each stopped with one clear line naming the key and the value, before any resource
is registered."""

from __future__ import annotations

import pytest

from engine import Workspace

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("engine-config"))


def preview_with(workspace: Workspace, key: str, value: object):
    workspace.configure("dev", {key: value})
    try:
        return workspace.preview("dev")
    finally:
        workspace.configure("dev", {key: None})


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [("dropletCount", "three", "integer"), ("dropletBackups", "maybe", "boolean")],
)
def test_the_cli_checks_the_types_pulumi_yaml_declares(workspace, key, value, kind):
    preview = preview_with(workspace, key, value)
    assert not preview.ok
    assert preview.steps == {}  # the program never ran
    assert f"configuration key '{key}' must be of type '{kind}'" in preview.stderr
    assert len(preview.stderr.strip().splitlines()) == 1, preview.stderr


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("alertWindow", "7m", "expected one of: 5m, 10m, 30m, 1h"),
        ("dropletSize", "s-9vcpu-1gb", "s-1vcpu-2gb"),
        ("atlasTier", "M7", "expected one of: M0, M10"),
    ],
)
def test_a_hidden_mistake_is_one_line_naming_key_and_value(workspace, key, value, allowed):
    preview = preview_with(workspace, key, value)
    assert not preview.ok
    (line,) = preview.errors
    assert line.startswith(f"matra-infra:{key}: '{value}' ")
    assert allowed in line
    # Nothing registered but the stack itself.
    assert {step["type"] for step in preview.steps.values()} <= {"pulumi:pulumi:Stack"}
