"""Builds the policy pack. Constructing a PolicyPack starts the policy server and never
returns, so the rules live in matra_policies/ where tests can import them. Each rule
carries its own default enforcement level; a stack's policies/config/<stack>.json lists
only where that stack differs."""

from pulumi_policy import PolicyPack

from matra_policies import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES)
