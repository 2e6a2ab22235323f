"""python -m deploy: roll a release of the app out to a stack's hosts, from the stack's
outputs, without failing a request.

    pulumi stack output --json --show-secrets --stack prod \\
        | python -m deploy --outputs - --release 3f9c2ab

Input is checked whole first (the tag, the outputs, the key); then every host is asked
how it stands and pulls the release; only if all of that holds does the first host
change. Exit status: 0 deployed everywhere, 1 stopped at a host (the rest untouched, the
failed one still serving what it served), 2 bad input or a host that can't be reached
(nothing changed anywhere)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .outputs import DeployOutputs, OutputsError, is_private_key, parse, read
from .reference import tag_problem
from .rollout import DeployError, Fleet, rollback_release
from .ssh import SshClient, Target

PROG = "python -m deploy"


class UsageError(Exception):
    """Bad arguments; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Deploy a release of the app to every host of a stack, one batch at a "
        "time, each host swapping to it only once it passes its health check.",
    )
    p.add_argument(
        "--outputs",
        required=True,
        metavar="FILE",
        help="the stack's `pulumi stack output --json --show-secrets`, or - for stdin",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--release", metavar="TAG", help="the image tag to deploy")
    which.add_argument(
        "--rollback",
        action="store_true",
        help="deploy, to every host, the release that ran before the current one",
    )
    p.add_argument(
        "--batch-size",
        type=_batch_size,
        default=1,
        metavar="N",
        help="hosts deployed at once (default 1)",
    )
    p.add_argument(
        "--ssh-key",
        type=Path,
        metavar="FILE",
        help="the deploy user's private key, when the stack exports none (deploySshPublicKey "
        "set in config)",
    )
    return p


def _batch_size(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of hosts, 1 or more")
    return number


def say(line: str) -> None:
    print(f"deploy: {line}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        if args.release is not None:
            problem = tag_problem(args.release)
            if problem:
                raise UsageError(f"--release {args.release!r}: {problem}")
        outputs = parse(read(args.outputs))
        key = _private_key(outputs, args.ssh_key)
        with tempfile.TemporaryDirectory(prefix="matra-deploy-") as work:
            client = _client(Path(work), outputs, key)
            fleet = Fleet(client, outputs.targets, say=say)
            return _deploy(fleet, outputs, args.release, args.batch_size)
    except (UsageError, OutputsError) as error:
        print(f"deploy: error: {error}", file=sys.stderr)
        return 2
    except DeployError as error:
        print(f"deploy: error: {error}; no host was changed", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deploy: interrupted; a host part-way keeps serving its release", file=sys.stderr)
        return 130


def _private_key(outputs: DeployOutputs, path: Path | None) -> str:
    if path is not None:
        try:
            key = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--ssh-key {path}: can't be read ({error.strerror})") from None
        if not is_private_key(key):
            raise UsageError(f"--ssh-key {path}: not an OpenSSH private key")
        return key
    if outputs.private_key is None:
        raise UsageError(
            "the stack exports no deploySshPrivateKey (it was given its own deploy key): "
            "pass --ssh-key FILE"
        )
    return outputs.private_key


def _client(work: Path, outputs: DeployOutputs, key: str) -> SshClient:
    key_file, known_hosts = work / "deploy-key", work / "known_hosts"
    key_file.touch(mode=0o600)
    key_file.write_text(key if key.endswith("\n") else key + "\n")
    known_hosts.write_text(outputs.known_hosts)
    return SshClient(user=outputs.user, key_file=key_file, known_hosts=known_hosts)


def _deploy(fleet: Fleet, outputs: DeployOutputs, release: str | None, batch_size: int) -> int:
    started = time.monotonic()
    count = len(outputs.targets)
    statuses = fleet.statuses(outputs.image)
    if release is None:
        release = rollback_release(statuses)
        say(f"rollback: every host goes back to {release}")
    say(
        f"{outputs.stack}: {outputs.image}:{release} to {count} host{'s' * (count != 1)}, "
        f"{min(batch_size, count)} at a time"
    )
    for target, status in statuses.items():
        say(f"  {target}: runs {status.describe()}")
    fleet.pull(release)
    say(f"every host has pulled {release}")
    results = fleet.roll(release, batch_size)
    final = _final_statuses(fleet, outputs.image)
    say("now:")
    for target in outputs.targets:
        say(f"  {target}: {final[target]}")
    elapsed = time.monotonic() - started
    failed = [result for result in results if not result.ok]
    if failed:
        untouched = count - len(results)
        print(
            f"deploy: error: {failed[0].target}: {failed[0].message}; stopped there"
            + (f", {untouched} host{'s' * (untouched != 1)} not deployed" if untouched else ""),
            file=sys.stderr,
        )
        return 1
    say(f"{release} serves on all {count} host{'s' * (count != 1)} ({elapsed:.1f} s)")
    return 0


def _final_statuses(fleet: Fleet, image: str) -> dict[Target, str]:
    try:
        return {target: status.describe() for target, status in fleet.statuses(image).items()}
    except DeployError as error:
        return {target: f"(status unknown: {error})" for target in fleet.targets}
