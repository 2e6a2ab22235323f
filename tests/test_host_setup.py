"""HostSetup on mocks: per API host the setup script, then the registry credentials and
the app's .env (secrets on stdin), then the release bootstrap; each droplet created only
once the one before it serves. The host contract rendered from the stack's settings.
What changes with what: the app's settings touch only the .env commands, the deploy key
and the setup scripts only the setup commands, and no such change replaces a droplet."""

import pytest
import yaml

from harness import ROOT, STACKS, changed, is_secret_input, plain, run_program, update
from matra.hostfiles import HostStep, host_file
from matra.hostsetup import SETUP_FILES, env_file
from matra_policies.types import ATLAS_ACCESS_LIST, DROPLET, REMOTE_COMMAND

NODE_ENV = {"dev": "development", "staging": "staging", "prod": "production"}


def host_commands(run, host):
    return {
        c.name.rsplit("-", 1)[1]: c
        for c in run.of_type(REMOTE_COMMAND)
        if c.name.startswith(f"hosts-{host}-")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_each_host_is_set_up_then_given_its_secrets_then_its_release(stack):
    run = run_program(stack)
    droplets = {d.name: d for d in run.of_type(DROPLET)}
    access = {a.name: a for a in run.of_type(ATLAS_ACCESS_LIST)}
    count = len(run.api_droplets())
    for index in range(count):
        steps = host_commands(run, f"api-{index}")
        assert set(steps) == {"setup", "registry", "env", "logs", "newrelic", "release"}
        assert steps["setup"].urn in steps["registry"].dependencies
        assert steps["setup"].urn in steps["env"].dependencies
        # Telemetry after the setup, one step after the other (each may install packages).
        assert steps["setup"].urn in steps["logs"].dependencies
        assert steps["logs"].urn in steps["newrelic"].dependencies
        # The release after all of them (the log forwarding through the agent's step).
        release = set(steps["release"].dependencies)
        assert {
            steps["registry"].urn,
            steps["env"].urn,
            steps["newrelic"].urn,
            access[f"atlas-access-{index}"].urn,
        } <= release
        if index:
            previous = host_commands(run, f"api-{index - 1}")["release"].urn
            assert previous in droplets[f"api-{index}"].dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_the_setup_script_installs_the_host_contract(stack):
    run = run_program(stack)
    step = HostStep.read(host_commands(run, "api-0")["setup"].inputs["create"])
    assert step.script == "host-setup.sh"
    files = step.files
    script = files["host-setup.sh"]
    # Docker CE and compose from Docker's repository, its key checked by fingerprint.
    assert 'sh "$here/install-docker.sh"' in script
    docker = files["install-docker.sh"]
    assert "curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg" in docker
    assert "fingerprint=9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in docker
    assert "docker-compose-plugin" in docker
    # The host's files as they are in host/.
    for name in ("functions.sh", "host-setup.sh", *SETUP_FILES):
        assert files[name] == host_file(name)
    # The compose file: the stack's image, the release a variable, the .env taken as it
    # is, loopback only, restart, health check, bounded logs.
    compose = yaml.safe_load(files["docker-compose.yml"])
    app = compose["services"]["app"]
    # By digest: what the deploy pinned, whatever a tag names later.
    assert app["image"].startswith("registry.digitalocean.com/matra/api@${MATRA_DIGEST:?")
    assert app["env_file"] == [{"path": ".env", "format": "raw"}]
    assert app["ports"] == ["127.0.0.1:${MATRA_PORT:?set MATRA_PORT}:8080"]
    assert app["restart"] == "unless-stopped"
    assert "http://127.0.0.1:8080/healthz" in app["healthcheck"]["test"][1]
    # journald keeps `docker logs` and never holds up a container (the host forwards the
    # journal); Sentry is told the release the deploy command runs.
    assert app["logging"] == {"driver": "journald", "options": {"tag": "{{.Name}}"}}
    assert app["environment"]["SENTRY_RELEASE"] == "${MATRA_RELEASE}"
    # The deploy user: its key in a file it can't edit, one command, no docker.
    deploy_key = run.outputs["deploySshPublicKey"].value
    assert step.params == {
        "MATRA_ADMIN_USER": "ops",
        "MATRA_DEPLOY_USER": "deploy",
        "MATRA_DEPLOY_KEY": deploy_key,
    }
    assert "ForceCommand /usr/local/sbin/matra-deploy-gate" in script
    # sshd closes a deploy session whose client stops answering its keepalives.
    assert "ClientAliveInterval 5\n    ClientAliveCountMax 3" in script
    assert "AuthorizedKeysFile /etc/ssh/authorized_keys/%u" in script
    assert 'gpasswd --delete "$deploy_user" docker' in script
    assert "NOPASSWD: /usr/local/sbin/matra-deploy\\n" in script
    # The seed's `docker-compose pull && up -d` keeps working; nginx in front of the slots.
    assert '/usr/local/bin/docker-compose 0755 root <"$here/docker-compose.sh"' in script
    site = files["nginx-site.conf"]
    assert "upstream matra_app {" in site and "location = /.matra/release {" in site
    assert "include matra/upstream.conf;" in site
    assert "location = /.matra/health {\n        allow 127.0.0.1;\n        deny all;" in site
    # The entry point and its parameters (public), the host's one lock taken first.
    assert '"$lib/matra_deploy.py" 0755 root <"$here/matra_deploy.py"' in script
    assert files["docker.py"] == (ROOT / "matra_data" / "docker.py").read_text()
    assert "MATRA_IMAGE=registry.digitalocean.com/matra/api" in files["deploy.env"]
    assert "MATRA_HEALTH_PATH=/healthz" in files["deploy.env"]
    assert "MATRA_WATCH=30" in files["deploy.env"]
    assert script.index('flock -w "$lock_wait" 9') < script.index("put_file /etc/matra/deploy.env")
    assert "stdin" not in host_commands(run, "api-0")["setup"].inputs


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_arrive_on_stdin_readable_by_root_and_docker_only(stack):
    run = run_program(stack)
    steps = host_commands(run, "api-0")
    registry, env = steps["registry"].inputs, steps["env"].inputs
    registry_step, env_step = HostStep.read(registry["create"]), HostStep.read(env["create"])
    assert registry_step.params["MATRA_DEST"] == "/etc/matra/docker/config.json"
    assert env_step.params["MATRA_DEST"] == "/opt/matra/.env"
    for inputs in (registry, env):
        assert is_secret_input(inputs["stdin"])
        params = HostStep.read(inputs["create"]).params
        assert (params["MATRA_MODE"], params["MATRA_OWNER"]) == ("0640", "root")
        assert params["MATRA_GROUP"] == "docker"
    assert plain(registry["stdin"]).startswith('{"auths":')
    # A release that runs with another .env starts again with it, without downtime
    # (beside itself), after any deploy in flight: every time, so none is dropped.
    assert env_step.params["MATRA_AFTER"] == "/usr/local/sbin/matra-deploy refresh"
    assert env_step.params["MATRA_AFTER_WHEN"] == "always"
    assert plain(env["stdin"]) == env_file(
        mongodb_uri=run.outputs["mongodbUri"].value,
        redis_url=run.outputs["redisUrl"].value,
        plain=[("NODE_ENV", NODE_ENV[stack])],
    )


@pytest.mark.parametrize("stack, hostname", [("dev", "api.dev.matra.io"), ("prod", "api.matra.io")])
def test_a_new_host_asks_the_ingress_which_release_to_start(stack, hostname):
    run = run_program(stack)
    setup = host_commands(run, "api-0")["setup"].inputs["create"]
    assert f"MATRA_RELEASE_SOURCE=http://{hostname}/.matra/release" in setup
    script = host_commands(run, "api-0")["release"].inputs["create"]
    assert script.endswith("exec sudo /usr/local/sbin/matra-deploy bootstrap\n")


def test_app_settings_change_only_the_env_commands():
    assert changed(update(), update(appEnv=["NODE_ENV=production", "FEATURE_X=on"])) == {
        f"hosts-api-{i}-env" for i in range(3)
    }


def test_a_new_deploy_key_changes_only_the_setup_commands():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployJob ci"
    assert changed(update(), update(deploySshPublicKey=key)) == {
        f"hosts-api-{i}-setup" for i in range(3)
    }


def test_a_change_to_what_the_hosts_run_replaces_no_droplet():
    """The health path reaches the nginx site, the compose file and the deploy entry point
    (the setup scripts) and the balancer's health check; user data holds none of it."""
    assert changed(update(), update(healthPath="/ready")) == {
        "api-lb",
        "monitoring-uptime",
        *(f"hosts-api-{i}-setup" for i in range(3)),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_the_deploy_command_reads(stack):
    run = run_program(stack)
    out = {key: value.value for key, value in run.outputs.items()}
    assert out["project"] == "matra-infra" and out["stack"] == stack
    assert out["appImage"] == "registry.digitalocean.com/matra/api"
    assert out["healthCheck"]["path"] == "/healthz"
    assert {key for key, value in run.outputs.items() if value.secret} >= {"deploySshPrivateKey"}
