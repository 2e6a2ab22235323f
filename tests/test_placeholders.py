"""The shipped stack files carry placeholders (a documentation network for SSH, an example
Atlas organisation). A preview runs on them and warns once; an update refuses them with
one line per key, naming it and what to set, before anything is registered."""

import pytest

from harness import OPERATOR_VALUES, STACKS, run_program
from matra.settings import ConfigError
from matra.settings.checks import documentation_network


def update(stack, **overrides):
    return run_program(stack, overrides=overrides, preview=False)


@pytest.mark.parametrize("stack", STACKS)
def test_an_update_of_a_shipped_stack_refuses_each_placeholder(stack):
    run = update(stack)
    assert isinstance(run.error, ConfigError)
    lines = str(run.error).splitlines()
    assert lines == [
        "matra-infra:adminSshSources: '198.51.100.0/24' is a documentation network "
        "(RFC 5737); set the networks your operators and CI runners reach port 22 from "
        "(pulumi config set --path 'matra-infra:adminSshSources[0]' <cidr>)",
        "matra-infra:atlasOrgId: '0123456789abcdef01234567' is the placeholder the shipped "
        "stack files carry; set your Atlas organisation's id (Atlas UI: Organization "
        "Settings) with pulumi config set matra-infra:atlasOrgId <id>",
    ]
    assert run.registrations == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_preview_of_a_shipped_stack_warns_once_and_goes_on(stack):
    run = run_program(stack)
    assert run.error is None, run.error
    placeholders = [w for w in run.warnings if "placeholder config" in w]
    assert len(placeholders) == 1
    assert "matra-infra:adminSshSources" in placeholders[0]
    assert "matra-infra:atlasOrgId" in placeholders[0]
    assert len(run.registrations) > 10


@pytest.mark.parametrize("stack", STACKS)
def test_an_update_with_the_operators_values_goes_on(stack):
    run = update(stack, **OPERATOR_VALUES)
    assert run.error is None, run.error
    assert not [w for w in run.warnings if "placeholder config" in w]


@pytest.mark.parametrize(
    "network, rfc",
    [
        ("192.0.2.0/24", "RFC 5737"),
        ("198.51.100.7/32", "RFC 5737"),
        ("203.0.113.128/25", "RFC 5737"),
        ("2001:db8::/32", "RFC 3849"),
        ("2001:db8:1234::/48", "RFC 3849"),
    ],
)
def test_every_documentation_network_is_refused_on_update(network, rfc):
    run = update("prod", atlasOrgId=OPERATOR_VALUES["atlasOrgId"], adminSshSources=[network])
    assert str(run.error).startswith(
        f"matra-infra:adminSshSources: '{network}' is a documentation network ({rfc})"
    )
    assert run.registrations == []


@pytest.mark.parametrize(
    "network", ["192.0.3.0/24", "198.51.101.0/24", "10.0.0.0/8", "2001:db9::/32", "0.0.0.0/0"]
)
def test_real_networks_are_not_documentation_networks(network):
    assert documentation_network(network) is None


def test_a_documentation_network_among_real_ones_is_still_refused():
    run = update(
        "prod",
        atlasOrgId=OPERATOR_VALUES["atlasOrgId"],
        adminSshSources=["81.2.69.0/28", "2001:db8::/48"],
    )
    assert str(run.error).startswith(
        "matra-infra:adminSshSources: '2001:db8::/48' is a documentation network (RFC 3849)"
    )
