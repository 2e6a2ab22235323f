"""The last mile to the hosts over SSH: the lone droplet's certificate (CertbotSetup) or,
behind the load balancer, no certbot at all (CertbotRemoval), host delivery (registry
credentials and the app's .env) and the ops user's keys (AdminKeys). Secrets travel on
stdin only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_digitalocean as digitalocean

from .rendering import render
from .settings import DeliverySettings
from .ssh import Host, SshAccount

CERTBOT_SCRIPT = "certbot-setup.sh.j2"
REMOVAL_SCRIPT = "certbot-remove.sh.j2"
DELIVERY_SCRIPT = "deliver-file.sh.j2"
APP_DIR = "/opt/matra"


@dataclass
class CertbotSetupArgs:
    host: Host
    """The lone droplet (a stack without a load balancer)."""
    account: SshAccount
    hostname: str
    email: str
    acme_directory_url: str
    app_port: int


def certbot_script(
    *,
    hostname: str,
    email: str,
    acme_directory_url: str,
    app_port: int,
    issue_certificate: bool = True,
) -> str:
    """The rendered certbot script (HTTP-01; it holds no secret)."""
    return render(
        CERTBOT_SCRIPT,
        hostname=hostname,
        email=email,
        acme_server=acme_directory_url,
        app_port=app_port,
        issue_certificate="true" if issue_certificate else "false",
    )


def delivery_script(*, dest: str, mode: str, owner: str, dir_mode: str) -> str:
    """The rendered script that writes stdin to ``dest`` with that mode and owner."""
    return render(DELIVERY_SCRIPT, dest=dest, mode=mode, owner=owner, dir_mode=dir_mode)


class CertbotSetup(pulumi.ComponentResource):
    """The lone droplet's certificate, from certbot over HTTP-01 (a stack without a load
    balancer; behind one, the balancer holds a DigitalOcean-managed certificate)."""

    command: command.remote.Command

    def __init__(
        self, name: str, args: CertbotSetupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:CertbotSetup", name, None, opts)
        script = certbot_script(
            hostname=args.hostname,
            email=args.email,
            acme_directory_url=args.acme_directory_url,
            app_port=args.app_port,
        )
        host = args.host
        # Runs again for a new droplet, hostname or ACME directory.
        self.command = args.account.run(
            f"{name}-{host.name}",
            host,
            script,
            triggers=[args.hostname, args.acme_directory_url],
            parent=self,
        )
        self.register_outputs({})


@dataclass
class CertbotRemovalArgs:
    hosts: Sequence[Host]
    """The droplets behind the load balancer."""
    account: SshAccount


class CertbotRemoval(pulumi.ComponentResource):
    """Behind the load balancer, no droplet keeps a DigitalOcean token, a certificate or
    certbot: this takes away what an earlier per-droplet certbot setup left (a no-op on
    droplets that never had it), once per droplet."""

    commands: list[command.remote.Command]

    def __init__(
        self, name: str, args: CertbotRemovalArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:CertbotRemoval", name, None, opts)
        script = render(REMOVAL_SCRIPT)
        self.commands = [
            args.account.run(f"{name}-{host.name}", host, script, parent=self)
            for host in args.hosts
        ]
        self.register_outputs({})


@dataclass
class HostDeliveryArgs:
    hosts: Sequence[Host]
    account: SshAccount
    deploy_user: str
    """Owner of the delivered files: the user the app's deploy job runs docker as."""
    settings: DeliverySettings
    """The registry and the app's own settings."""
    mongodb_uri: pulumi.Input[str]
    """The app's database connection string (a secret)."""
    redis_url: pulumi.Input[str]
    """The app's cache URL (a secret)."""


class HostDelivery(pulumi.ComponentResource):
    """The registry's read-only credentials and the app's .env on each host. A new
    credential or .env re-runs the commands (their stdin changed) and rewrites the files
    in place; a new droplet gets them too."""

    registry_commands: list[command.remote.Command]
    env_commands: list[command.remote.Command]

    def __init__(
        self, name: str, args: HostDeliveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:HostDelivery", name, None, opts)
        user, settings = args.deploy_user, args.settings
        credentials = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-registry-credentials",
            registry_name=settings.registry_name,
            write=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        registry: pulumi.Output[str] = pulumi.Output.secret(credentials.docker_credentials)
        dotenv: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(
                args.mongodb_uri, args.redis_url, settings.app_secret_env or ""
            ).apply(
                lambda parts: env_file(
                    mongodb_uri=parts[0],
                    redis_url=parts[1],
                    plain=settings.app_env,
                    secret_lines=parts[2],
                )
            )
        )
        files = {
            "registry": (f"/home/{user}/.docker/config.json", "0700", registry),
            "env": (f"{APP_DIR}/.env", "0750", dotenv),
        }
        commands: dict[str, list[command.remote.Command]] = {kind: [] for kind in files}
        for host in args.hosts:
            for kind, (dest, dir_mode, content) in files.items():
                script = delivery_script(dest=dest, mode="0600", owner=user, dir_mode=dir_mode)
                commands[kind].append(
                    args.account.run(
                        f"{name}-{host.name}-{kind}", host, script, stdin=content, parent=self
                    )
                )
        self.registry_commands, self.env_commands = commands["registry"], commands["env"]
        self.register_outputs({})


@dataclass
class AdminKeysArgs:
    hosts: Sequence[Host]
    account: SshAccount
    """The admin (ops) user whose authorized_keys this writes, and the automation key."""
    keys: pulumi.Input[Sequence[str]]
    """Every key the admin user accepts; the automation key must be among them."""


class AdminKeys(pulumi.ComponentResource):
    """The admin user's authorized_keys on each host, delivered over SSH: adding or
    removing an operator's key rewrites the file and replaces no droplet."""

    commands: list[command.remote.Command]

    def __init__(
        self, name: str, args: AdminKeysArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:AdminKeys", name, None, opts)
        user = args.account.user
        script = delivery_script(
            dest=f"/home/{user}/.ssh/authorized_keys", mode="0600", owner=user, dir_mode="0700"
        )
        content = pulumi.Output.from_input(args.keys).apply(
            lambda keys: "".join(f"{key}\n" for key in keys)
        )
        self.commands = [
            args.account.run(f"{name}-{host.name}", host, script, stdin=content, parent=self)
            for host in args.hosts
        ]
        self.register_outputs({})


def env_file(
    *,
    mongodb_uri: str,
    redis_url: str,
    plain: Sequence[tuple[str, str]] = (),
    secret_lines: str = "",
) -> str:
    """The app's .env: connection strings first, then the stack's settings."""
    lines = [
        f"MONGODB_URI={mongodb_uri}",
        f"REDIS_URL={redis_url}",
        *(f"{key}={value}" for key, value in plain),
    ]
    lines += [
        line
        for line in secret_lines.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "CertbotRemoval",
    "CertbotRemovalArgs",
    "AdminKeys",
    "AdminKeysArgs",
    "CertbotSetup",
    "CertbotSetupArgs",
    "HostDelivery",
    "HostDeliveryArgs",
    "certbot_script",
    "delivery_script",
    "env_file",
]
