"""Network rules, each with passing and failing cases, run through the policy server's
own servicer (matra_policies.testing)."""

from typing import ClassVar

import pytest

from matra_policies import network, types
from policy_harness import (
    UNKNOWN,
    PolicyHarness,
    Resource,
    assert_no_violations,
    assert_violation,
    secret,
)


def firewall(inbound=(), outbound=(), **props):
    return Resource(
        types.FIREWALL,
        "api-firewall",
        {"inboundRules": list(inbound), "outboundRules": list(outbound), **props},
    )


def api_droplet(**props):
    return Resource(types.DROPLET, "api-0", props)


def access_entry(**props):
    return Resource(types.ATLAS_ACCESS_LIST, "atlas-access-0", props)


def rule(protocol, port, *sources):
    return {"protocol": protocol, "portRange": port, "sourceAddresses": list(sources)}


def egress(protocol, port, *destinations):
    return {"protocol": protocol, "portRange": port, "destinationAddresses": list(destinations)}


class TestNoPublicIngress:
    policy = network.no_public_ingress

    def test_web_ports_from_anywhere_pass_by_default(self):
        assert_no_violations(
            self.policy,
            firewall([rule("tcp", "80", "0.0.0.0/0", "::/0"), rule("tcp", "443", "0.0.0.0/0")]),
        )

    def test_ssh_from_admin_cidrs_passes(self):
        assert_no_violations(self.policy, firewall([rule("tcp", "22", "198.51.100.0/24")]))

    def test_ssh_from_the_world_fails_and_names_the_fix(self):
        violation = assert_violation(
            self.policy,
            firewall([rule("tcp", "22", "0.0.0.0/0")]),
            contains="digitalocean.Firewall 'api-firewall': inbound "
            "rule opens tcp port 22 to 0.0.0.0/0",
        )
        assert "Fix: admit SSH only from the admin CIDRs" in violation.message
        assert violation.mandatory

    @pytest.mark.parametrize(
        "sources", [["0.0.0.0/1", "128.0.0.0/1"], ["8.0.0.0/8"], ["::/1"], ["2a00::/16"]]
    )
    def test_ssh_from_a_public_network_wider_than_the_limit_fails(self, sources):
        assert_violation(
            self.policy,
            firewall([rule("tcp", "22", *sources)]),
            contains=f"opens tcp port 22 to {sources[0]}",
        )

    @pytest.mark.parametrize(
        "sources", [["10.0.0.0/8"], ["81.2.69.0/28"], ["fd00::/8"], ["2a01:4f8:1::/48"]]
    )
    def test_ssh_from_private_or_narrow_networks_passes(self, sources):
        assert_no_violations(self.policy, firewall([rule("tcp", "22", *sources)]))

    def test_the_width_limit_comes_from_policy_config(self):
        assert_violation(
            self.policy,
            firewall([rule("tcp", "22", "81.2.69.0/28")]),
            contains="opens tcp port 22 to 81.2.69.0/28",
            config={"worldPrefixV4": 32},
        )

    def test_ssh_from_the_world_passes_where_the_stack_allows_it(self):
        assert_no_violations(
            self.policy,
            firewall([rule("tcp", "22", "::/0")]),
            config={"allowSshFromAnywhere": True},
        )

    @pytest.mark.parametrize(
        "protocol, port, expected",
        [
            ("tcp", "", "every tcp port"),
            ("tcp", "all", "every tcp port"),
            ("udp", "1-65535", "every udp port"),
            ("tcp", "8000-8002", "tcp ports 8000-8002"),
            ("tcp", "5432", "tcp port 5432"),
            ("icmp", None, "ICMP"),
        ],
    )
    def test_anything_else_to_the_world_fails(self, protocol, port, expected):
        assert_violation(
            self.policy,
            firewall([rule(protocol, port, "::/0")]),
            contains=f"opens {expected} to ::/0",
        )

    def test_a_range_spanning_a_web_port_reports_only_the_extra_ports(self):
        assert_violation(
            self.policy,
            firewall([rule("tcp", "442-444", "0.0.0.0/0")]),
            contains="opens tcp ports 442, 444 to 0.0.0.0/0",
        )

    def test_strict_config_rejects_even_web_ports(self):
        assert_violation(
            self.policy,
            firewall([rule("tcp", "443", "0.0.0.0/0")]),
            contains="opens tcp port 443",
            config={"publicPorts": []},
        )

    def test_load_balancer_sources_pass_even_when_strict(self):
        lb_rule = {"protocol": "tcp", "portRange": "443", "sourceLoadBalancerUids": ["lb-1"]}
        assert_no_violations(self.policy, firewall([lb_rule]), config={"publicPorts": []})


class TestRestrictedEgress:
    policy = network.restricted_egress

    def test_allowed_ports_and_vpc_ranges_pass(self):
        assert_no_violations(
            self.policy,
            firewall(
                outbound=[
                    egress("udp", "53", "0.0.0.0/0"),
                    egress("tcp", "443", "0.0.0.0/0", "::/0"),
                    egress("icmp", None, "0.0.0.0/0"),
                    egress("tcp", "1-65535", "10.30.0.0/20"),
                ]
            ),
        )

    def test_everything_to_the_world_fails(self):
        assert_violation(
            self.policy,
            firewall(outbound=[egress("tcp", "1-65535", "0.0.0.0/0")]),
            contains="outbound rule allows every tcp port to 0.0.0.0/0",
        )

    def test_a_port_outside_the_allowed_list_fails(self):
        assert_violation(
            self.policy,
            firewall(outbound=[egress("tcp", "25", "0.0.0.0/0")]),
            contains="allows tcp port 25 to 0.0.0.0/0",
            config={"allowedPorts": ["443"]},
        )

    def test_icmp_fails_when_not_allowed(self):
        assert_violation(
            self.policy,
            firewall(outbound=[egress("icmp", None, "::/0")]),
            contains="allows ICMP to ::/0",
            config={"allowIcmp": False},
        )


class TestNoPlainHttp:
    policy = network.no_plain_http
    http: ClassVar[dict] = {
        "entryProtocol": "http",
        "entryPort": 80,
        "targetProtocol": "http",
        "targetPort": 80,
    }
    https: ClassVar[dict] = {
        "entryProtocol": "https",
        "entryPort": 443,
        "targetProtocol": "https",
        "targetPort": 443,
        "tlsPassthrough": True,
    }

    def test_http_with_redirect_passes(self):
        assert_no_violations(
            self.policy,
            Resource(
                types.LOAD_BALANCER,
                "api-lb",
                {"forwardingRules": [self.http, self.https], "redirectHttpToHttps": True},
            ),
        )

    def test_https_only_passes(self):
        assert_no_violations(
            self.policy, Resource(types.LOAD_BALANCER, "api-lb", {"forwardingRules": [self.https]})
        )

    def test_plain_http_fails(self):
        assert_violation(
            self.policy,
            Resource(
                types.LOAD_BALANCER,
                "api-lb",
                {"forwardingRules": [self.http, self.https], "redirectHttpToHttps": False},
            ),
            contains="serves plain HTTP on port 80 without redirecting to HTTPS. Fix: set "
            "redirectHttpToHttps: true",
        )


class TestSshKeysAndVpc:
    def test_droplet_with_keys_in_a_vpc_passes(self):
        droplet = api_droplet(sshKeys=["123"], vpcUuid="vpc-1")
        assert_no_violations(network.ssh_keys, droplet)
        assert_no_violations(network.in_vpc, droplet)

    def test_droplet_without_keys_fails(self):
        assert_violation(
            network.ssh_keys,
            api_droplet(sshKeys=[]),
            contains="digitalocean.Droplet 'api-0': has no SSH keys",
        )

    def test_droplet_outside_a_vpc_fails(self):
        assert_violation(
            network.in_vpc,
            api_droplet(sshKeys=["1"]),
            contains="is not placed in a VPC (vpcUuid unset)",
        )

    def test_a_vpc_id_unknown_during_preview_counts_as_set(self):
        droplet = api_droplet(sshKeys=[UNKNOWN], vpcUuid=UNKNOWN)
        assert_no_violations(network.in_vpc, droplet)
        assert_no_violations(network.ssh_keys, droplet)

    def test_database_outside_a_vpc_fails(self):
        assert_violation(
            network.in_vpc,
            Resource(types.DATABASE_CLUSTER, "cache", {"engine": "valkey"}),
            contains="is not placed in a VPC (privateNetworkUuid unset)",
        )


class TestFirewallCoverage:
    policy = network.firewall_coverage

    def test_droplet_covered_by_tag_passes(self):
        assert_no_violations(
            self.policy,
            [api_droplet(tags=["matra-prod-api", "matra"]), firewall(tags=["matra-prod-api"])],
        )

    def test_droplet_covered_by_id_passes(self):
        assert_no_violations(
            self.policy, [api_droplet(id="42", tags=[]), firewall(dropletIds=["42"])]
        )

    def test_uncovered_droplet_fails_with_its_urn(self):
        droplet = api_droplet(tags=["other"])
        violation = assert_violation(
            self.policy,
            [droplet, firewall(tags=["matra-prod-api"])],
            contains="'api-0': is covered by no Cloud Firewall",
        )
        assert violation.urn == droplet.urn

    def test_no_firewall_at_all_fails(self):
        assert_violation(
            self.policy, [api_droplet(tags=["t"])], contains="covered by no Cloud Firewall"
        )


class TestDatabaseFirewallCoverage:
    policy = network.database_firewall_coverage

    def test_cluster_with_firewall_passes_even_while_its_id_is_unknown(self):
        cluster = Resource(types.DATABASE_CLUSTER, "cache-valkey", {"engine": "valkey"})
        guard = Resource(
            types.DATABASE_FIREWALL,
            "cache-fw",
            {"clusterId": UNKNOWN},
            property_dependencies={"clusterId": [cluster.urn]},
        )
        assert_no_violations(self.policy, [cluster, guard])

    def test_cluster_without_firewall_fails(self):
        assert_violation(
            self.policy,
            [Resource(types.DATABASE_CLUSTER, "cache-valkey", {})],
            contains="'cache-valkey': has no database firewall",
        )


class TestAtlasAccessList:
    policy = network.atlas_access_list

    def test_single_addresses_pass(self):
        assert_no_violations(self.policy, access_entry(ipAddress="203.0.113.11"))

    @pytest.mark.parametrize(
        "props",
        [
            {"cidrBlock": "0.0.0.0/0"},
            {"ipAddress": "0.0.0.0"},
            {"cidrBlock": "0.0.0.0/1"},
            {"cidrBlock": "8.0.0.0/8"},
        ],
    )
    def test_the_world_fails(self, props):
        assert_violation(
            self.policy,
            access_entry(**props),
            contains="every address on the internet reach the cluster",
        )

    @pytest.mark.parametrize("cidr", ["10.0.0.0/8", "81.2.69.0/28"])
    def test_private_or_narrow_blocks_pass(self, cidr):
        assert_no_violations(self.policy, access_entry(cidrBlock=cidr))


class TestUnknownsAndSecrets:
    """What the server does with values unknown during preview, and with secrets."""

    def test_an_unknown_value_gives_no_false_violation_and_no_crash(self):
        harness = PolicyHarness(network.POLICIES)
        unknown_rules = firewall([UNKNOWN])
        found = harness.analyze(unknown_rules)
        assert [v for v in found if v.mandatory] == []
        assert all("can't run policy" in v.message for v in found)

    def test_unknown_tags_skip_the_stack_rule_as_advisory(self):
        harness = PolicyHarness([network.firewall_coverage])
        found = harness.analyze_stack([api_droplet(tags=UNKNOWN), firewall(tags=["t"])])
        assert [v.level for v in found] == ["advisory"]
        assert "can't run policy 'digitalocean-droplet-firewall-coverage'" in found[0].message

    def test_secret_values_are_unwrapped_by_the_server(self):
        assert_violation(
            network.no_public_ingress,
            firewall([rule("tcp", "22", secret("0.0.0.0/0"))]),
            contains="opens tcp port 22 to 0.0.0.0/0",
        )
        assert_no_violations(
            network.atlas_access_list,
            Resource(types.ATLAS_ACCESS_LIST, "a", {"ipAddress": secret("203.0.113.9")}),
        )
