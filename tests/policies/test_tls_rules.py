"""TLS rules: HTTPS at a load balancer ends in a certificate (or passes through to
droplets that each hold their own), and behind a balancer no remote command carries a
DigitalOcean token. Passing and failing cases, through the policy server's servicer."""

from matra_policies import tls
from matra_policies.types import DROPLET, LOAD_BALANCER, REMOTE_COMMAND
from policy_harness import UNKNOWN, Resource, assert_no_violations, assert_violation, secret

TOKEN = "dop_v1_" + "0123456789abcdef" * 4
HTTP = {"entryProtocol": "http", "entryPort": 80, "targetProtocol": "http", "targetPort": 80}


def balancer(*rules, tag="matra-prod-api"):
    return Resource(
        LOAD_BALANCER,
        "api-lb",
        {"forwardingRules": [HTTP, *rules], "redirectHttpToHttps": True, "dropletTag": tag},
    )


def https(**rule):
    return {"entryProtocol": "https", "entryPort": 443, "targetProtocol": "http", **rule}


def droplet(name, tag="matra-prod-api"):
    return Resource(DROPLET, name, {"tags": [tag, "matra"]})


def command(name, on=None, **props):
    deps = {"connection": [on.urn]} if on is not None else {}
    return Resource(REMOTE_COMMAND, name, props, property_dependencies=deps)


CERTBOT = "... certbot certonly ..."


def passthrough(api_1_script):
    """A balancer passing TLS through to api-0 and api-1, each with its TLS command:
    api-0's obtains a certificate with certbot, api-1's runs ``api_1_script``."""
    a, b = droplet("api-0"), droplet("api-1")
    return [
        balancer(https(tlsPassthrough=True, targetProtocol="https", targetPort=443)),
        a,
        b,
        command("tls-api-0", on=a, create=CERTBOT),
        command("tls-api-1", on=b, create=api_1_script),
    ]


class TestTlsTermination:
    policy = tls.tls_termination

    def test_a_certificate_at_the_balancer_passes(self):
        assert_no_violations(self.policy, [balancer(https(certificateName="api-cert"))])

    def test_http2_without_a_certificate_fails(self):
        rule = {"entryProtocol": "http2", "entryPort": 443, "targetProtocol": "http"}
        assert_violation(
            self.policy, [balancer(rule)], contains="serves http2 on port 443 with no certificate"
        )

    def test_https_without_a_certificate_fails_with_the_fix(self):
        violation = assert_violation(
            self.policy,
            [balancer(https())],
            contains="digitalocean.LoadBalancer 'api-lb': serves https on port 443 with no "
            "certificate",
        )
        assert "Fix: set certificateName" in violation.message

    def test_passthrough_to_droplets_that_each_run_certbot_passes(self):
        assert_no_violations(self.policy, passthrough(CERTBOT))

    def test_passthrough_to_a_droplet_without_a_certificate_fails_naming_it(self):
        # Naming certbot is not obtaining a certificate (the removal script).
        assert_violation(
            self.policy,
            passthrough("apt-get purge certbot"),
            contains="passes TLS through on port 443 to droplets with no certificate of their "
            "own (api-1)",
        )

    def test_droplets_of_another_tag_are_not_its_targets(self):
        assert_no_violations(
            self.policy, [balancer(https(tlsPassthrough=True)), droplet("other-0", tag="other")]
        )


class TestNoTokenOnBalancedHosts:
    policy = tls.no_token_on_hosts

    def test_a_token_on_stdin_fails_even_as_a_secret(self):
        violation = assert_violation(
            self.policy,
            [balancer(https(certificateName="c")), command("tls-api-0", stdin=secret(TOKEN))],
            contains="command.Command 'tls-api-0': carries a DigitalOcean token to its host "
            "(in stdin)",
        )
        assert violation.mandatory

    def test_certbots_digitalocean_plugin_in_a_script_fails(self):
        assert_violation(
            self.policy,
            [
                balancer(https(certificateName="c")),
                command("tls-api-0", create="certbot certonly --dns-digitalocean ..."),
            ],
            contains="(in create)",
        )

    def test_a_token_in_the_environment_fails(self):
        assert_violation(
            self.policy,
            [
                balancer(https(certificateName="c")),
                command("sync", create="doctl ...", environment={"DIGITALOCEAN_TOKEN": "x"}),
            ],
            contains="(in environment)",
        )

    def test_commands_without_a_token_pass_even_while_stdin_is_unknown(self):
        assert_no_violations(
            self.policy,
            [
                balancer(https(certificateName="c")),
                command("delivery-api-0-env", create="deliver a file", stdin=UNKNOWN),
                command("tls-api-0", create="rm -f /etc/letsencrypt/digitalocean.ini"),
            ],
        )

    def test_a_stack_without_a_balancer_is_not_concerned(self):
        assert_no_violations(self.policy, [command("tls-api-0", stdin=secret(TOKEN))])
