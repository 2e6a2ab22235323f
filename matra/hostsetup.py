"""HostSetup: what an API host runs besides its first boot, over SSH, re-runnable, so a
change to any of it replaces no droplet.

Per host, in order: the setup script (Docker, nginx, the host contract in /opt/matra, the
deploy entry point, the deploy user locked down to it), the registry's read-only
credentials and the app's .env (secrets, on stdin), the host's telemetry (log forwarding,
the New Relic agent: matra/observability.py), then the release bootstrap: a host
that runs no release yet starts the one the stack serves now. ``prepare(host)`` makes
these and returns the last, so the fleet creates a droplet only once the one before it
serves (matra/fleet.py)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_command as command
import pulumi_digitalocean as digitalocean

from matra_data.docker import TAG

from .hostfiles import host_command, host_file
from .hosts import delivery_script
from .loadbalancer import HealthCheck
from .observability import HostTelemetry
from .rendering import render
from .settings import DeliverySettings, FleetSettings
from .ssh import Host, SshAccount

APP_DIR = "/opt/matra"
REGISTRY_HOST = "registry.digitalocean.com"
SETUP_FILES = ("install-docker.sh", "matra_deploy.py", "matra-deploy-gate.sh", "docker-compose.sh")
"""What host/host-setup.sh installs from host/ (besides the files made from settings)."""
HEALTH_TIMEOUT_SECONDS = 60
"""How long a new release has to pass its health check before the deploy gives up."""
DRAIN_TIMEOUT_SECONDS = 30
"""How long nginx's old workers may take to finish their requests after a switch."""
STOP_TIMEOUT_SECONDS = 30
"""How long the old release has to stop after SIGTERM."""
LOCK_WAIT_SECONDS = 600
"""How long a deploy, a .env delivery or host setup waits for another run on the host."""
_CHECK = HealthCheck(path="/")
WATCH_SECONDS = _CHECK.unhealthy_threshold * _CHECK.interval_seconds
"""How long a release that takes over on a host is watched when no deploy command says
(a .env or compose file applied by pulumi up, an operator's deploy): the load
balancer's detection time, its unhealthy threshold x interval."""
REFRESH = "/usr/local/sbin/matra-deploy refresh"
"""After a .env delivery: the running release starts again beside itself if it runs with
another .env (waiting for a deploy in flight; a no-op on a host that runs nothing)."""


@dataclass(frozen=True)
class HostContract:
    """The parameters the host files are set up with (all public)."""

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
    watch: int = WATCH_SECONDS
    """Seconds a release is watched when the deploy command doesn't say."""
    lock_wait: int = LOCK_WAIT_SECONDS
    release_source: str = ""
    """Where a new host asks which release runs (the API's /.matra/release); "" for none."""

    @property
    def slot_ports(self) -> tuple[int, int]:
        """The loopback ports of the two slots a release runs in."""
        return self.app_port, self.app_port + 1

    def deploy_env(self) -> str:
        """/etc/matra/deploy.env: what the entry point, its gate and the docker-compose
        shim read (shell-quoted: the gate and the shim source it)."""
        port_a, port_b = self.slot_ports
        values: dict[str, object] = {
            "MATRA_IMAGE": self.image,
            "MATRA_HEALTH_PATH": self.health_path,
            "MATRA_PORT_A": port_a,
            "MATRA_PORT_B": port_b,
            "MATRA_HEALTH_TIMEOUT": self.health_timeout,
            "MATRA_DRAIN_TIMEOUT": DRAIN_TIMEOUT_SECONDS,
            "MATRA_STOP_TIMEOUT": STOP_TIMEOUT_SECONDS,
            "MATRA_WATCH": self.watch,
            "MATRA_LOCK_WAIT": self.lock_wait,
            "MATRA_RELEASE_SOURCE": self.release_source,
            # A release tag: Docker's grammar, the one the deploy command checks.
            "MATRA_REF_PATTERN": TAG.pattern,
        }
        return "# matra-deploy's parameters, written by matra-infra's host setup.\n" + "".join(
            f"{key}={shlex.quote(str(value))}\n" for key, value in values.items()
        )

    def compose_file(self) -> str:
        return render(
            "docker-compose.yml.j2",
            image=self.image,
            health_path=self.health_path,
            stop_timeout=STOP_TIMEOUT_SECONDS,
            app_port=self.app_port,
        )

    def nginx_site(self) -> str:
        return render(
            "nginx-site.conf.j2", server_name=self.server_name, health_path=self.health_path
        )

    def setup_script(self, deploy_key: str) -> str:
        """host/host-setup.sh with what it installs: the deploy side (host/), deploy.env,
        the compose file and the nginx site."""
        return host_command(
            "host-setup.sh",
            params={
                "MATRA_ADMIN_USER": self.admin_user,
                "MATRA_DEPLOY_USER": self.deploy_user,
                "MATRA_DEPLOY_KEY": deploy_key,
            },
            files={
                **{name: host_file(name) for name in SETUP_FILES},
                # The release grammar matra-deploy shares with the deploy command.
                "docker.py": resources.files("matra_data").joinpath("docker.py").read_text("utf-8"),
                "deploy.env": self.deploy_env(),
                "docker-compose.yml": self.compose_file(),
                "nginx-site.conf": self.nginx_site(),
            },
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
        """Writes stdin (the app's .env) into /opt/matra; then a release that runs with
        another .env starts again with this one (beside itself, health-gated, watched),
        after any deploy in flight on the host."""
        return delivery_script(
            dest=f"{APP_DIR}/.env",
            mode="0640",
            owner="root",
            group="docker",
            dir_mode="0755",
            after=REFRESH,
            after_always=True,
        )

    @staticmethod
    def release_bootstrap_script() -> str:
        """Starts the stack's current release on a host that runs none (matra-deploy
        bootstrap asks MATRA_RELEASE_SOURCE)."""
        return host_file("release-bootstrap.sh")


def env_file(
    *,
    mongodb_uri: str,
    redis_url: str,
    plain: Sequence[tuple[str, str]] = (),
    secret_lines: str = "",
    telemetry: str = "",
) -> str:
    """The app's .env: connection strings first, then the stack's settings, then its
    telemetry (Sentry, New Relic: matra/observability.py)."""
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
    """The app's port and health path, the API hostname, where a new host asks which
    release runs."""
    delivery: DeliverySettings
    """The registry, the app's name and its own settings."""
    mongodb_uri: pulumi.Input[str]
    """The app's database connection string (a secret)."""
    redis_url: pulumi.Input[str]
    """The app's cache URL (a secret)."""
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
            release_source=args.fleet.release_source,
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
        # Every host runs the same scripts: each is made once, here.
        self._scripts: dict[str, pulumi.Input[str]] = {
            "setup": pulumi.Output.from_input(args.deploy_key).apply(self.contract.setup_script),
            "registry": self.contract.registry_script(),
            "env": self.contract.env_script(),
            "release": self.contract.release_bootstrap_script(),
        }
        if telemetry is not None:
            self._scripts["logs"] = telemetry.log_forwarding_script()
            self._scripts["newrelic"] = telemetry.new_relic_script()
            self._agent_config = telemetry.new_relic_config()
        self.register_outputs({"image": self.image})

    def prepare(
        self,
        host: Host,
        *,
        after: Sequence[pulumi.Resource] = (),
        owner: pulumi.Resource | None = None,
    ) -> command.remote.Command:
        """Set up ``host``; returns the command after which it serves the current release
        (started only after ``after``: what the app needs first, such as database access).
        ``owner``: the component whose children the commands are (the API host they set
        up; they were this component's before: aliased to it), this one if None."""
        args = self._args
        parent = owner or self
        moved_from = self if owner is not None else None

        def step(
            suffix: str, after: Sequence[pulumi.Resource], stdin: pulumi.Input[str] | None = None
        ) -> command.remote.Command:
            return args.account.run(
                f"{self._name}-{host.name}-{suffix}",
                host,
                self._scripts[suffix],
                stdin=stdin,
                parent=parent,
                depends_on=list(after),
                moved_from=moved_from,
            )

        setup = step("setup", after=[])
        registry = step("registry", [setup], self._registry)
        env = step("env", [setup], self._dotenv)
        reporting: list[pulumi.Resource] = []
        telemetry = args.telemetry
        if telemetry is not None:
            # After the setup and one after the other: each may install packages. The
            # license key arrives as the agent's config file: on stdin, a secret.
            logs = step("logs", [setup])
            agent = step("newrelic", [logs], self._agent_config)
            reporting = [agent]  # after the log forwarding itself
        return step("release", [registry, env, *reporting, *after])
