"""Builds the policy pack. Constructing a PolicyPack starts the policy server and never
returns, so the rules live in matra_policies/ where tests can import them."""

from pulumi_policy import EnforcementLevel, PolicyPack

from matra_policies import PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
