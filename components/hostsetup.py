"""HostSetup: what an API host runs besides its first boot, over SSH, re-runnable, so a
change to any of it replaces no droplet.

Per host, in order: the setup script (Docker, nginx, the host contract in /opt/matra, the
deploy entry point, the deploy user locked down to it), the registry's read-only
credentials and the app's .env (secrets, on stdin), the host's telemetry (log forwarding,
the New Relic agent: components/observability.py), then the release bootstrap: a host
that runs no release yet starts the one the stack serves now. ``prepare(host)`` makes
these and returns the last, so the fleet creates a droplet only once the one before it
serves (components/fleet.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_digitalocean as digitalocean

from deploy.reference import TAG

from .hosts import delivery_script
from .observability import HostTelemetry
from .rendering import render
from .settings import DeliverySettings, FleetSettings
from .ssh import Host, SshAccount

APP_DIR = "/opt/matra"
REGISTRY_HOST = "registry.digitalocean.com"
HEALTH_TIMEOUT_SECONDS = 60
"""How long a new release has to pass its health check before the deploy gives up."""
DRAIN_TIMEOUT_SECONDS = 30
"""How long nginx's old workers may take to finish their requests after a switch."""
STOP_TIMEOUT_SECONDS = 30
"""How long the old release has to stop after SIGTERM."""
REDEPLOY = f"if [ -s {APP_DIR}/release ]; then /usr/local/sbin/matra-deploy redeploy; fi"


@dataclass(frozen=True)
class HostContract:
    """The parameters the host scripts are rendered with (all public)."""

    image: str
    """The app's image without a tag (registry.digitalocean.com/<registry>/<app>)."""
    app_port: int
    """The port the app listens on inside its container."""
    health_path: str
    server_name: str
    admin_user: str
    deploy_user: str
    health_timeout: int = HEALTH_TIMEOUT_SECONDS
    """Seconds a new release has to pass its health check before the deploy gives up."""

    @property
    def slot_ports(self) -> tuple[int, int]:
        """The loopback ports of the two slots a release runs in."""
        return self.app_port, self.app_port + 1

    def _release_params(self) -> dict[str, object]:
        """What the compose file and the deploy script that drives it must agree on: the
        image a release runs, the path its health check asks and how long it has to stop."""
        return {
            "image": self.image,
            "health_path": self.health_path,
            "stop_timeout": STOP_TIMEOUT_SECONDS,
        }

    def deploy_script(self) -> str:
        port_a, port_b = self.slot_ports
        return render(
            "matra-deploy.sh.j2",
            **self._release_params(),
            health_timeout=self.health_timeout,
            drain_timeout=DRAIN_TIMEOUT_SECONDS,
            port_a=port_a,
            port_b=port_b,
            tag_pattern=TAG.pattern,
        )

    @staticmethod
    def gate_script() -> str:
        """The deploy user's only command (its sshd ForceCommand)."""
        return render("matra-deploy-gate.sh.j2", tag_pattern=TAG.pattern)

    def compose_file(self) -> str:
        return render("docker-compose.yml.j2", **self._release_params(), app_port=self.app_port)

    def setup_script(self, deploy_key: str) -> str:
        port_a, port_b = self.slot_ports
        return render(
            "host-setup.sh.j2",
            admin_user=self.admin_user,
            deploy_user=self.deploy_user,
            deploy_key=deploy_key,
            port_a=port_a,
            install_docker=render("install-docker.sh.j2").rstrip("\n"),
            deploy_script=self.deploy_script().rstrip("\n"),
            gate_script=self.gate_script().rstrip("\n"),
            compose_shim=render("docker-compose-shim.sh.j2", port_b=port_b).rstrip("\n"),
            compose_file=self.compose_file().rstrip("\n"),
            nginx_site=render("nginx-site.conf.j2", server_name=self.server_name).rstrip("\n"),
        )

    @staticmethod
    def registry_script() -> str:
        """Writes stdin (the registry's read-only docker config) where matra-deploy pulls
        with it: root and the docker group read it, the deploy user can't."""
        return delivery_script(
            dest="/etc/matra/docker/config.json",
            mode="0640",
            owner="root",
            group="docker",
            dir_mode="0750",
        )

    @staticmethod
    def env_script() -> str:
        """Writes stdin (the app's .env) into /opt/matra; a running release is redeployed
        with it (beside itself, health-gated, as any deploy)."""
        return delivery_script(
            dest=f"{APP_DIR}/.env",
            mode="0640",
            owner="root",
            group="docker",
            dir_mode="0755",
            after=REDEPLOY,
        )

    @staticmethod
    def release_bootstrap_script(release_source: str) -> str:
        """Starts the stack's current release (asked of ``release_source``) on a host that
        runs none."""
        return render(
            "release-bootstrap.sh.j2", release_source=release_source, tag_pattern=TAG.pattern
        )


def env_file(
    *,
    mongodb_uri: str,
    redis_url: str,
    plain: Sequence[tuple[str, str]] = (),
    secret_lines: str = "",
    telemetry: str = "",
) -> str:
    """The app's .env: connection strings first, then the stack's settings, then its
    telemetry (Sentry, New Relic: components/observability.py)."""
    lines = [
        f"MONGODB_URI={mongodb_uri}",
        f"REDIS_URL={redis_url}",
        *(f"{key}={value}" for key, value in plain),
    ]
    lines += [
        line
        for line in (secret_lines + "\n" + telemetry).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return "\n".join(lines) + "\n"


@dataclass
class HostSetupArgs:
    account: SshAccount
    """The admin (ops) user and the automation key."""
    deploy_user: str
    deploy_key: pulumi.Input[str]
    """The deploy job's public key: the one key the deploy user accepts."""
    fleet: FleetSettings
    """The app's port and health path, the API hostname."""
    delivery: DeliverySettings
    """The registry, the app's name and its own settings."""
    mongodb_uri: pulumi.Input[str]
    """The app's database connection string (a secret)."""
    redis_url: pulumi.Input[str]
    """The app's cache URL (a secret)."""
    release_source: str
    """Where a new host asks which release runs (the API's /.matra/release); "" for none."""
    telemetry: HostTelemetry | None = None
    """Log forwarding, the New Relic agent and the app's telemetry settings; None: none."""


class HostSetup(pulumi.ComponentResource):
    """Sets up each API host the fleet hands it (``prepare``)."""

    contract: HostContract
    image: str
    """The app's image without a tag."""

    def __init__(
        self, name: str, args: HostSetupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:HostSetup", name, None, opts)
        self._name = name
        self._args = args
        delivery = args.delivery
        self.image = f"{REGISTRY_HOST}/{delivery.registry_name}/{delivery.app_name}"
        self.contract = HostContract(
            image=self.image,
            app_port=args.fleet.app_port,
            health_path=args.fleet.health_path,
            server_name=args.fleet.api_hostname,
            admin_user=args.account.user,
            deploy_user=args.deploy_user,
        )
        credentials = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-registry-credentials",
            registry_name=delivery.registry_name,
            write=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._registry: pulumi.Output[str] = pulumi.Output.secret(credentials.docker_credentials)
        telemetry = args.telemetry
        self._dotenv: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(
                args.mongodb_uri,
                args.redis_url,
                delivery.app_secret_env or "",
                telemetry.app_env() if telemetry else "",
            ).apply(
                lambda parts: env_file(
                    mongodb_uri=parts[0],
                    redis_url=parts[1],
                    plain=delivery.app_env,
                    secret_lines=parts[2],
                    telemetry=parts[3],
                )
            )
        )
        self.register_outputs({"image": self.image})

    def prepare(
        self, host: Host, *, after: Sequence[pulumi.Resource] = ()
    ) -> command.remote.Command:
        """Set up ``host``; returns the command after which it serves the current release
        (started only after ``after``: what the app needs first, such as database access)."""
        args = self._args

        def step(
            suffix: str,
            script: pulumi.Input[str],
            after: Sequence[pulumi.Resource],
            stdin: pulumi.Input[str] | None = None,
        ) -> command.remote.Command:
            return args.account.run(
                f"{self._name}-{host.name}-{suffix}",
                host,
                script,
                stdin=stdin,
                parent=self,
                depends_on=list(after),
            )

        setup = step(
            "setup",
            pulumi.Output.from_input(args.deploy_key).apply(self.contract.setup_script),
            after=[],
        )
        registry = step("registry", self.contract.registry_script(), [setup], self._registry)
        env = step("env", self.contract.env_script(), [setup], self._dotenv)
        reporting: list[pulumi.Resource] = []
        telemetry = args.telemetry
        if telemetry is not None:
            # After the setup and one after the other: each may install packages. The
            # license key arrives as the agent's config file: on stdin, a secret.
            logs = step("logs", telemetry.log_forwarding_script(), [setup])
            agent = step(
                "newrelic", telemetry.new_relic_script(), [logs], telemetry.new_relic_config()
            )
            reporting = [logs, agent]
        return step(
            "release",
            self.contract.release_bootstrap_script(args.release_source),
            [registry, env, *reporting, *after],
        )
