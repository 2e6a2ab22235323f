"""The last mile to the hosts over SSH: TLS certificates (CertbotSetup), host delivery
(registry credentials and the app's .env) and the ops user's keys (AdminKeys). Secrets
travel on stdin only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_command as command
import pulumi_digitalocean as digitalocean

from .rendering import render

CERTBOT_SCRIPT = "certbot-setup.sh.j2"
DELIVERY_SCRIPT = "deliver-file.sh.j2"
APP_DIR = "/opt/matra"


@dataclass
class Host:
    """One droplet to reach over SSH."""

    name: str
    """Short name for child resources (e.g. api-0)."""
    address: pulumi.Input[str]
    """Public IPv4 to SSH to."""
    droplet_id: pulumi.Input[str]
    """Changes when the droplet is replaced: the commands run again then."""


@dataclass
class SshAccount:
    user: str
    private_key: pulumi.Input[str]
    """The automation key's private half (a secret)."""

    def connection(self, host: Host) -> command.remote.ConnectionArgs:
        return command.remote.ConnectionArgs(host=host.address, user=self.user,
                                             private_key=self.private_key)


@dataclass
class CertbotSetupArgs:
    hosts: Sequence[Host]
    account: SshAccount
    hostname: str
    email: str
    acme_directory_url: str
    challenge: str
    """http-01 for a lone droplet; dns-01 (DigitalOcean DNS) behind a load balancer."""
    app_port: int
    dns_token: Optional[pulumi.Input[str]] = None
    """DigitalOcean token for dns-01 (a secret), sent on stdin."""

    def __post_init__(self) -> None:
        if self.challenge not in ("http-01", "dns-01"):
            raise ValueError(f"CertbotSetupArgs.challenge must be http-01 or dns-01, got "
                             f"{self.challenge!r}")
        if self.challenge == "http-01" and len(self.hosts) != 1:
            raise ValueError("CertbotSetupArgs: http-01 works for exactly one droplet; a "
                             "fleet behind a load balancer needs dns-01")
        if self.challenge == "dns-01" and self.dns_token is None:
            raise ValueError("CertbotSetupArgs: dns-01 needs dns_token")


def certbot_script(*, hostname: str, email: str, acme_directory_url: str, challenge: str,
                   app_port: int, issue_certificate: bool = True) -> str:
    """The rendered certbot script (no secret in it: the token comes on stdin)."""
    return render(CERTBOT_SCRIPT, hostname=hostname, email=email,
                  acme_server=acme_directory_url, challenge=challenge, app_port=app_port,
                  issue_certificate="true" if issue_certificate else "false")


def delivery_script(*, dest: str, mode: str, owner: str, dir_mode: str) -> str:
    """The rendered script that writes stdin to ``dest`` with that mode and owner."""
    return render(DELIVERY_SCRIPT, dest=dest, mode=mode, owner=owner, dir_mode=dir_mode)


class CertbotSetup(pulumi.ComponentResource):
    commands: list[command.remote.Command]
    """One command per host, in the hosts' order."""

    def __init__(self, name: str, args: CertbotSetupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:CertbotSetup", name, None, opts)
        script = certbot_script(hostname=args.hostname, email=args.email,
                                acme_directory_url=args.acme_directory_url,
                                challenge=args.challenge, app_port=args.app_port)
        stdin: Optional[pulumi.Output[str]] = None
        if args.challenge == "dns-01":
            assert args.dns_token is not None  # CertbotSetupArgs checks it
            stdin = pulumi.Output.secret(args.dns_token)
        self.commands = [
            command.remote.Command(
                f"{name}-{host.name}",
                connection=args.account.connection(host),
                create=script,
                stdin=stdin,
                # Run again for a new droplet, hostname, challenge or ACME directory, and
                # never merely because `pulumi up` ran.
                triggers=[host.droplet_id, args.hostname, args.challenge,
                          args.acme_directory_url],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for host in args.hosts
        ]
        self.register_outputs({})


@dataclass
class HostDeliveryArgs:
    hosts: Sequence[Host]
    account: SshAccount
    deploy_user: str
    """Owner of the delivered files: the user the app's deploy job runs docker as."""
    registry_name: str
    env_file: pulumi.Input[str]
    """Content of /opt/matra/.env (a secret: it holds the connection strings)."""


class HostDelivery(pulumi.ComponentResource):
    registry_commands: list[command.remote.Command]
    env_commands: list[command.remote.Command]

    def __init__(self, name: str, args: HostDeliveryArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:HostDelivery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        user = args.deploy_user
        credentials = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-registry-credentials", registry_name=args.registry_name, write=False,
            opts=child)
        docker_config = delivery_script(dest=f"/home/{user}/.docker/config.json",
                                        mode="0600", owner=user, dir_mode="0700")
        env_script = delivery_script(dest=f"{APP_DIR}/.env", mode="0600", owner=user,
                                     dir_mode="0750")
        env_file = pulumi.Output.secret(args.env_file)
        registry_auth: pulumi.Output[str] = pulumi.Output.secret(
            credentials.docker_credentials)
        self.registry_commands, self.env_commands = [], []
        for host in args.hosts:
            # A new credential or .env re-runs the command (its stdin changed) and
            # rewrites the file in place; a new droplet runs it again via the trigger.
            self.registry_commands.append(command.remote.Command(
                f"{name}-{host.name}-registry", connection=args.account.connection(host),
                create=docker_config, stdin=registry_auth,
                triggers=[host.droplet_id], opts=child))
            self.env_commands.append(command.remote.Command(
                f"{name}-{host.name}-env", connection=args.account.connection(host),
                create=env_script, stdin=env_file, triggers=[host.droplet_id], opts=child))
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

    def __init__(self, name: str, args: AdminKeysArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matra:index:AdminKeys", name, None, opts)
        user = args.account.user
        script = delivery_script(dest=f"/home/{user}/.ssh/authorized_keys", mode="0600",
                                 owner=user, dir_mode="0700")
        content = pulumi.Output.from_input(args.keys).apply(
            lambda keys: "".join(f"{key}\n" for key in keys))
        self.commands = [
            command.remote.Command(
                f"{name}-{host.name}", connection=args.account.connection(host),
                create=script, stdin=content, triggers=[host.droplet_id],
                opts=pulumi.ResourceOptions(parent=self))
            for host in args.hosts
        ]
        self.register_outputs({})


def env_file(*, mongodb_uri: str, redis_url: str, plain: Sequence[tuple[str, str]] = (),
             secret_lines: str = "") -> str:
    """The app's .env: connection strings first, then the stack's settings."""
    lines = [f"MONGODB_URI={mongodb_uri}", f"REDIS_URL={redis_url}",
             *(f"{key}={value}" for key, value in plain)]
    lines += [line for line in secret_lines.splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(lines) + "\n"


__all__ = ["AdminKeys", "AdminKeysArgs", "CertbotSetup", "CertbotSetupArgs", "Host",
           "HostDelivery", "HostDeliveryArgs", "SshAccount", "certbot_script",
           "delivery_script", "env_file"]
