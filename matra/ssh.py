"""How the program reaches a host over SSH: the host (with the host key it must present),
the account, and what a droplet that is configured over SSH needs at creation.

Every droplet's SSH host key is generated here, before the droplet exists, and installed
by cloud-init; every connection of the program pins it, and the stack output
sshKnownHosts hands it to the deploy command and to operators. So no connection of ours
trusts whoever answers at a droplet's (reusable) address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_tls as tls


def moved(old_parent: pulumi.Resource | None) -> list[pulumi.Alias] | None:
    """The alias of a resource that had ``old_parent`` before it moved under its new
    component, its name and type unchanged (``None``: it never moved): the engine takes
    the state it has for the old URN as this one's, so the move changes nothing."""
    return None if old_parent is None else [pulumi.Alias(parent=old_parent)]


class HostKey:
    """A droplet's SSH host key (ed25519), made by the program (pulumi-tls).

    Its private half is the one private key that travels in user data: it belongs to that
    one host, is readable only from the droplet itself (the metadata endpoint answers
    the droplet alone) and from the stack's encrypted state, and dies with the droplet,
    whose replacement brings a new key (``replaced_with``). The alternative, trusting the
    key a new droplet presents on first contact, is exactly what this removes."""

    def __init__(
        self,
        name: str,
        *,
        replaced_with: pulumi.Input[Any],
        parent: pulumi.Resource,
        moved_from: pulumi.Resource | None = None,
    ) -> None:
        key = tls.PrivateKey(
            name,
            algorithm="ED25519",
            # Whatever replaces the droplet replaces its key (and so its known_hosts line).
            opts=pulumi.ResourceOptions(
                parent=parent, replacement_trigger=replaced_with, aliases=moved(moved_from)
            ),
        )
        self.public_key: pulumi.Output[str] = key.public_key_openssh.apply(str.strip)
        """The public half, as sshd presents it (ssh-ed25519 AAAA...)."""
        self.private_key: pulumi.Output[str] = pulumi.Output.secret(key.private_key_openssh)
        """The private half, for cloud-init (a secret)."""


@dataclass
class Host:
    """One droplet to reach over SSH."""

    name: str
    """Short name for child resources (e.g. api-0)."""
    address: pulumi.Input[str]
    """Public IPv4 to SSH to: the droplet's own output (a command's dependency on its
    droplet travels with it; the droplet-id trigger carries the value alone)."""
    droplet_id: pulumi.Input[str]
    """Changes when the droplet is replaced: the commands run again then."""
    host_key: pulumi.Input[str]
    """The host key the droplet must present (ssh-ed25519 AAAA...)."""
    hostname: pulumi.Input[str] = ""
    """The droplet's own name, for its known_hosts line."""
    connections: list[tuple[SshAccount, pulumi.Output[Any]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    """Each account's connection to this host (``SshAccount.connection``), made once."""

    def known_hosts_line(self) -> pulumi.Output[str]:
        """``<name>,<address> <key>``: what OpenSSH checks with StrictHostKeyChecking."""
        return pulumi.Output.all(self.hostname, self.address, self.host_key).apply(
            lambda parts: known_hosts_line([parts[0], parts[1]], parts[2])
        )


def known_hosts_line(names: Sequence[str], public_key: str) -> str:
    """One known_hosts line: the names and addresses a host answers to, and its key."""
    return f"{','.join(n for n in names if n)} {' '.join(public_key.split()[:2])}"


@dataclass
class SshAccount:
    """Who the program logs in as: the admin (ops) user with the automation key."""

    user: str
    private_key: pulumi.Input[str]
    """The automation key's private half (a secret)."""

    def connection(self, host: Host) -> pulumi.Output[Any]:
        """How this account reaches ``host`` (a secret: it holds the private key). One
        per host and account, shared by every command run there: the SDK unwraps each
        connection it is given, which costs more than the command's other inputs."""
        for account, made in host.connections:
            if account is self:
                return made
        made = pulumi.Output.secret(
            command.remote.ConnectionArgs(
                host=host.address,
                user=self.user,
                private_key=self.private_key,
                # Another key at this address stops the command before anything is sent.
                host_key=host.host_key,
            )
        )
        host.connections.append((self, made))
        return made

    def run(
        self,
        name: str,
        host: Host,
        script: pulumi.Input[str],
        *,
        parent: pulumi.Resource,
        stdin: pulumi.Input[str] | None = None,
        triggers: Sequence[pulumi.Input[Any]] = (),
        depends_on: Sequence[pulumi.Resource] = (),
        moved_from: pulumi.Resource | None = None,
    ) -> command.remote.Command:
        """Run ``script`` on ``host`` as this account. It runs again when the droplet is
        replaced, when a trigger changes or when its stdin (where secrets travel)
        changes, and never merely because `pulumi up` ran. ``moved_from``: the parent it
        had before (an alias: the same command, not a new one)."""
        return command.remote.Command(
            name,
            connection=self.connection(host),
            create=script,
            stdin=stdin,
            triggers=[_value_alone(host.droplet_id), *triggers],
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=list(depends_on), aliases=moved(moved_from)
            ),
        )


def _value_alone(value: pulumi.Input[Any]) -> pulumi.Output[Any]:
    """``value`` without the resources it came from. For a command's droplet-id trigger:
    its connection already depends on that droplet, and the SDK checks every resource
    each input depends on for a cycle, walking all it depends on, which for a host is
    every host made before it (tests/test_hosts.py holds the dependency; make
    bench-program shows the cost)."""
    output = pulumi.Output.from_input(value)
    return pulumi.Output(
        set(), output.future(with_unknowns=True), output.is_known(), output.is_secret()
    )


@dataclass
class SshLogin:
    """What a droplet the program configures over SSH needs: who logs in, with what key,
    from where."""

    account: SshAccount
    """The admin (ops) user and the automation key's secret private half."""
    public_key: pulumi.Input[str]
    """The automation key's public half, for that user in cloud-init."""
    ssh_key_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    admin_ssh_sources: Sequence[str]
