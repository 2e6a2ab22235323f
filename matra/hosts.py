"""TLS on the hosts over SSH: the lone droplet's certificate (CertbotSetup) or, behind
the load balancer, no certbot at all (CertbotRemoval); and the ops user's keys
(AdminKeys). The rest of a host's setup is matra/hostsetup.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from .hostfiles import host_command
from .rendering import render
from .ssh import Host, SshAccount

CERTBOT_SCRIPT = "certbot-setup.sh"
REMOVAL_SCRIPT = "certbot-remove.sh"
DELIVERY_SCRIPT = "deliver-file.sh"
TLS_SITE = "nginx-tls-site.conf.j2"


@dataclass
class CertbotSetupArgs:
    host: Host
    """The lone droplet (a stack without a load balancer)."""
    account: SshAccount
    hostname: str
    email: str
    acme_directory_url: str


def certbot_script(
    *, hostname: str, email: str, acme_directory_url: str, issue_certificate: bool = True
) -> str:
    """The certbot step's command (HTTP-01; it holds no secret): host/certbot-setup.sh and
    the TLS site it installs."""
    return host_command(
        CERTBOT_SCRIPT,
        params={
            "MATRA_HOSTNAME": hostname,
            "MATRA_EMAIL": email,
            "MATRA_ACME_SERVER": acme_directory_url,
            "MATRA_ISSUE_CERTIFICATE": "true" if issue_certificate else "false",
        },
        files={"nginx-tls-site.conf": render(TLS_SITE, hostname=hostname)},
    )


def certbot_removal_script() -> str:
    """The command that takes certbot and what it left off a host (host/certbot-remove.sh)."""
    return host_command(REMOVAL_SCRIPT)


def delivery_script(
    *,
    dest: str,
    mode: str,
    owner: str,
    dir_mode: str,
    group: str = "",
    after: str = "",
    after_always: bool = False,
) -> str:
    """The command that writes stdin to ``dest`` with that mode, owner and group (the
    owner's, unless given), creating its directory with ``dir_mode`` if it is missing;
    ``after`` runs as root when the content changed (or always). host/deliver-file.sh."""
    return host_command(
        DELIVERY_SCRIPT,
        params={
            "MATRA_DEST": dest,
            "MATRA_MODE": mode,
            "MATRA_OWNER": owner,
            "MATRA_GROUP": group or owner,
            "MATRA_DIR_MODE": dir_mode,
            "MATRA_AFTER": after,
            "MATRA_AFTER_WHEN": "always" if after_always else "changed",
        },
    )


class CertbotSetup(pulumi.ComponentResource):
    """The lone droplet's certificate, from certbot over HTTP-01 (a stack without a load
    balancer; behind one, the balancer holds a DigitalOcean-managed certificate)."""

    command: command.remote.Command

    def __init__(
        self, name: str, args: CertbotSetupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("matra:index:CertbotSetup", name, None, opts)
        script = certbot_script(
            hostname=args.hostname, email=args.email, acme_directory_url=args.acme_directory_url
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
        script = certbot_removal_script()
        self.commands = [
            args.account.run(f"{name}-{host.name}", host, script, parent=self)
            for host in args.hosts
        ]
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


__all__ = [
    "CertbotRemoval",
    "CertbotRemovalArgs",
    "AdminKeys",
    "AdminKeysArgs",
    "CertbotSetup",
    "CertbotSetupArgs",
    "certbot_removal_script",
    "certbot_script",
    "delivery_script",
]
