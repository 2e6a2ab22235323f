"""python -m deploy: roll a release of the app out to a stack's hosts, from the stack's
outputs, without failing a request; or say what each host runs (--status), changing
nothing.

    pulumi stack output --json --show-secrets --stack prod \\
        | python -m deploy --outputs - --release 3f9c2ab

Input is checked whole first (the release, the outputs, the key); then every host is asked
how it stands and has the release's image (a tag becomes one digest, the same on every
host); only if all of that holds does the first host change. Each host is watched after it
takes traffic (the first one for at least the load balancer's detection time) and switched
back if the release fails there; the rollout stops at the first such host."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from matra_data.docker import Release, release_problem

from .outputs import DeployOutputs, OutputsError, is_private_key, parse, read
from .rollout import DeployError, Fleet, HostResult, HostStatus, Rollout, rollback_release
from .ssh import SshClient, Target, credentials

PROG = "python -m deploy"
WATCH = 10
"""Seconds each host after the first batch is watched, unless --watch says."""
WATCH_MAX = 3600
EPILOG = """\
exit status: 0 the release serves on every host, healthy (--status: every host answered);
1 a host failed, or a connection was lost, or a host is not healthy at the end (the
rollout stopped there: what each host runs is printed; --status: a host could not be
read); 2 bad input or a host that can't be reached or prepared (nothing changed
anywhere); 130 interrupted (what each host runs is printed).

--status --json prints {"stack", "image", "release", "agree", "hosts": [{"name",
"address", "release": {"tag", "digest", "ref"}, "previous", "healthy", "slot", "env",
"consistent", "busy", "error"}]}; "release" is the TAG@sha256:<digest> every host runs
(null unless they all run the same one), for deploying exactly that elsewhere."""


class UsageError(Exception):
    """Bad arguments; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Deploy a release of the app to every host of a stack, one batch at a "
        "time: each host starts it beside the running one, switches to it once it passes its "
        "health check, and watches it before the next host starts. Or, with --status, say "
        "what every host runs and change nothing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--outputs",
        required=True,
        metavar="FILE",
        help="the stack's `pulumi stack output --json --show-secrets`, or - for stdin",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--release",
        metavar="REF",
        help="what to deploy: TAG@sha256:<64 hex> (exactly that image, the way to promote "
        "what another stack runs), or a TAG (the registry's image for it now, pinned to its "
        "digest for the whole rollout)",
    )
    which.add_argument(
        "--rollback",
        action="store_true",
        help="deploy, to every host, the release that ran before the current one (from the "
        "image each host kept: no registry needed)",
    )
    which.add_argument(
        "--status",
        action="store_true",
        help="print what each host runs (tag and digest), its health and what ran before; "
        "read-only",
    )
    p.add_argument("--json", action="store_true", help="with --status: print it as JSON")
    p.add_argument(
        "--batch-size",
        type=_whole(1, 1000),
        default=1,
        metavar="N",
        help="hosts deployed at once (default 1)",
    )
    p.add_argument(
        "--canary-watch",
        type=_whole(0, WATCH_MAX),
        metavar="SECONDS",
        help="how long the first batch is watched after it takes traffic before the next "
        "starts (default: the load balancer's detection time, its healthCheck's unhealthy "
        "threshold x interval)",
    )
    p.add_argument(
        "--watch",
        type=_whole(0, WATCH_MAX),
        default=WATCH,
        metavar="SECONDS",
        help=f"how long every later host is watched (default {WATCH})",
    )
    p.add_argument(
        "--ssh-key",
        type=Path,
        metavar="FILE",
        help="the deploy user's private key, when the stack exports none (deploySshPublicKey "
        "set in config)",
    )
    return p


def _whole(low: int, high: int) -> Any:
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a whole number from {low} to {high}"
            )
        return number

    return check


def say(line: str) -> None:
    print(f"deploy: {line}", flush=True)


def fail(line: str) -> None:
    print(f"deploy: {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        if args.json and not args.status:
            raise UsageError(f"--json: only with --status (see {PROG} --help)")
        if args.release is not None and (problem := release_problem(args.release)):
            raise UsageError(f"--release {args.release!r}: {problem}")
        outputs = parse(read(args.outputs))
        key = _private_key(outputs, args.ssh_key)
        with credentials(_line_ended(key), outputs.known_hosts) as (key_file, known_hosts):
            client = SshClient(user=outputs.user, key_file=key_file, known_hosts=known_hosts)
            fleet = Fleet(client, outputs.targets, say=say)
            if args.status:
                return _status(fleet, outputs, as_json=args.json)
            return _deploy(fleet, outputs, args)
    except (UsageError, OutputsError) as error:
        fail(f"error: {error}")
        return 2
    except DeployError as error:
        fail(f"error: {error}; no host was changed")
        return 2
    except KeyboardInterrupt:
        fail("interrupted before any host changed")
        return 130


def _line_ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


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


def _status(fleet: Fleet, outputs: DeployOutputs, *, as_json: bool) -> int:
    found = fleet.read(outputs.image)
    runs = {s.release for s in found.values() if isinstance(s, HostStatus)}
    common = next(iter(runs)) if len(runs) == 1 and len(found) == len(fleet.targets) else None
    agree = (
        common is not None
        and bool(common.digest)
        and all(isinstance(s, HostStatus) for s in found.values())
    )
    if as_json:
        hosts = []
        for target in fleet.targets:
            status = found[target]
            entry: dict[str, Any] = {"name": target.name, "address": target.address}
            if isinstance(status, HostStatus):
                entry.update(status.as_json(), error=None)
            else:
                entry["error"] = str(status).removeprefix(f"{target}: ")
            hosts.append(entry)
        document = {
            "stack": outputs.stack,
            "image": outputs.image,
            "release": str(common) if agree and common else None,
            "agree": agree,
            "hosts": hosts,
        }
        print(json.dumps(document, indent=2))
    else:
        count = len(fleet.targets)
        say(f"{outputs.stack}: {outputs.image} on {count} host{'s' * (count != 1)}")
        for target in fleet.targets:
            status = found[target]
            if isinstance(status, HostStatus):
                say(f"  {target}: {status.describe()}")
            else:
                say(f"  {target}: can't be read: {str(status).removeprefix(f'{target}: ')}")
        if agree and common:
            say(f"every host runs {common}")
        else:
            say("the hosts don't all run one release (see above)")
    return 0 if all(isinstance(s, HostStatus) for s in found.values()) else 1


def _deploy(fleet: Fleet, outputs: DeployOutputs, args: argparse.Namespace) -> int:
    started = time.monotonic()
    count = len(outputs.targets)
    statuses = fleet.statuses(outputs.image)
    if args.rollback:
        release = rollback_release(statuses)
        say(f"rollback: every host goes back to {release}")
    else:
        release = Release.parse(args.release)
    canary = outputs.detection_seconds if args.canary_watch is None else args.canary_watch
    say(
        f"{outputs.stack}: {outputs.image} {release} to {count} host{'s' * (count != 1)}, "
        f"{min(args.batch_size, count)} at a time; the first watched {canary} s"
        + (f", the others {args.watch} s" if count > args.batch_size else "")
    )
    if canary < outputs.detection_seconds:
        say(
            f"note: the first host is watched {canary} s, less than the load balancer's "
            f"detection time ({outputs.detection_seconds} s)"
        )
    for target, status in statuses.items():
        say(f"  {target}: runs {status.describe()}")
    release = _resolve(fleet, release)
    sessions = Rollout(
        fleet,
        release,
        batch_size=args.batch_size,
        canary_watch=canary,
        watch=args.watch,
        run_id=os.urandom(8).hex(),
    )
    handlers = {
        number: signal.signal(number, sessions.interrupt)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        results = sessions.roll()
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    return _summary(fleet, outputs, release, results, sessions, time.monotonic() - started)


def _resolve(fleet: Fleet, release: Release) -> Release:
    """The release as one digest that every host holds."""
    held = fleet.check(release)
    digests = {found.digest for found, _ in held.values()}
    if len(digests) != 1:
        described = ", ".join(
            f"{t.name} {found.digest} ({how})" for t, (found, how) in held.items()
        )
        raise DeployError(
            f"{release.tag} names more than one image ({described}); deploy one of them by its "
            f"digest (--release {release.tag}@sha256:...)"
        )
    resolved = Release(release.tag, digests.pop())
    recorded = [t.name for t, (_, how) in held.items() if how == "recorded"]
    if recorded:
        say(
            f"the registry did not answer for {', '.join(recorded)}: {release.tag} is "
            f"{resolved.digest} as recorded there, whose image each still holds"
        )
    pulled = sum(how == "pulled" for _, how in held.values())
    say(f"every host has {resolved}" + (f" ({pulled} pulled it)" if pulled else " (none pulled)"))
    return resolved


def _summary(
    fleet: Fleet,
    outputs: DeployOutputs,
    release: Release,
    results: list[HostResult],
    rollout: Rollout,
    elapsed: float,
) -> int:
    count = len(outputs.targets)
    final = fleet.read(outputs.image)
    say("now:")
    for target in outputs.targets:
        status = final[target]
        shown = status.describe() if isinstance(status, HostStatus) else f"can't be read: {status}"
        say(f"  {target}: {shown.replace(f'{target}: ', '')}")
    untouched = count - len(results)
    left = f", {untouched} host{'s' * (untouched != 1)} not deployed" if untouched else ""
    failed = [result for result in results if not result.ok]
    if rollout.stopping:
        last = results[-1].target.name if results else "no host"
        said = f" ({failed[0].target.name}: {failed[0].message})" if failed else ""
        fail(f"interrupted: stopped after {last}{said}{left.replace(', ', '; ', 1)}")
        return 130
    if failed:
        fail(f"error: {failed[0].target}: {failed[0].message}; stopped there{left}")
        return 1
    for target in outputs.targets:
        status = final[target]
        problem = (
            f"can't be read ({status})"
            if not isinstance(status, HostStatus)
            else f"runs {status.release}, not {release}"
            if status.release != release
            else "is NOT healthy"
            if not status.healthy
            else ""
        )
        if problem:
            fail(f"error: after the deploy, {target} {problem.replace(f'{target}: ', '')}")
            return 1
    hosts = f"all {count} hosts" if count > 1 else "its one host"
    say(f"{release} serves on {hosts}, healthy ({elapsed:.1f} s)")
    return 0


__all__ = ["main", "parser", "Target"]
