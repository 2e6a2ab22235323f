"""The rollout: ask every host how it stands and have it hold the release's image (nothing
changes anywhere if one can't, and a tag becomes one digest for the whole fleet), then
deploy host by host (or batch by batch). Each host's swap is its own matra-deploy's
(host/matra_deploy.py: the new release beside the old, health-gated, a tested nginx
switch, then watched while the old one stays up). The first batch is watched longest (the
canary); the first host whose release fails, or whose connection is lost, stops the
rollout, and what each host did is read back from the host itself."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from matra_data.docker import Release

from .ssh import SshClient, SshError, Target, last_line

T = TypeVar("T")

STATUS_TIMEOUT = 60
CHECK_TIMEOUT = 900
READ_BACK_SECONDS = 180
"""How long the command keeps asking a host whose connection was lost what became of its
deploy (the host notices a lost session within 15 s, and then puts back what served)."""
HEARTBEAT = 2
"""Seconds between the lines the command sends a host during its deploy."""
PROTOCOL_EXIT = {0: "served", 1: "failed", 3: "abandoned", 75: "busy"}
"""matra-deploy's exit status, by outcome; 255 is ssh's own (the connection failed)."""


class DeployError(Exception):
    """The deploy can't go on; the message is one line."""


@dataclass(frozen=True)
class HostStatus:
    """A host's `matra-deploy status` line: what its nginx serves, read from the host."""

    release: Release | None
    previous: Release | None
    healthy: bool
    image: str
    slot: str | None = None
    env: str = "unknown"
    """current: the release runs with the host's .env and compose file; stale: not yet."""
    consistent: bool = True
    """The host's record says what nginx serves (a deploy puts it right if not)."""
    busy: str | None = None
    """What holds the host's lock now (a deploy, a .env applied by pulumi up)."""

    @classmethod
    def parse(cls, target: Target, line: str) -> HostStatus:
        fields = dict(word.partition("=")[::2] for word in line.split())
        if "release" not in fields or "image" not in fields:
            raise DeployError(f"{target}: unexpected status from matra-deploy: {line.strip()!r}")
        if "digest" not in fields:
            raise DeployError(
                f"{target}: runs an older deploy entry point (its status names no digest); "
                "run pulumi up for this stack first"
            )

        def release(tag: str, digest: str) -> Release | None:
            value = fields.get(tag, "none")
            if value == "none":
                return None
            return Release(value, "" if fields.get(digest, "none") == "none" else fields[digest])

        return cls(
            release=release("release", "digest"),
            previous=release("previous", "previous_digest"),
            healthy=fields.get("healthy") == "yes",
            image=fields["image"],
            slot=None if fields.get("slot", "none") == "none" else fields["slot"],
            env=fields.get("env", "unknown"),
            consistent=fields.get("consistent", "yes") == "yes",
            busy=None if fields.get("busy", "no") == "no" else fields["busy"],
        )

    def describe(self) -> str:
        if self.release is None:
            return "no release"
        notes = [f"previous {self.previous.short if self.previous else 'none'}"]
        if self.env == "stale":
            notes.append("its .env or compose file is newer: the next deploy applies it")
        if self.busy:
            notes.append(f"busy: {self.busy}")
        health = "healthy" if self.healthy else "NOT healthy"
        return f"{self.release} ({', '.join(notes)}), {health}"

    def as_json(self) -> dict[str, Any]:
        def release(found: Release | None) -> dict[str, str] | None:
            return {"tag": found.tag, "digest": found.digest, "ref": str(found)} if found else None

        return {
            "release": release(self.release),
            "previous": release(self.previous),
            "healthy": self.healthy,
            "slot": self.slot,
            "env": self.env,
            "consistent": self.consistent,
            "busy": self.busy,
        }


@dataclass(frozen=True)
class HostResult:
    target: Target
    seconds: float
    outcome: str
    """served, failed, abandoned, busy, or lost: the connection went and the host's
    outcome could not be read back."""
    message: str
    """What the host said last: what runs now, or why the new release doesn't."""
    connection_lost: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "served" and not self.connection_lost


class Fleet:
    """The hosts of one stack, reached as the deploy user through ``client``."""

    def __init__(
        self,
        client: SshClient,
        targets: Sequence[Target],
        *,
        say: Callable[[str], None],
        max_parallel: int = 8,
    ) -> None:
        self.client = client
        self.targets = list(targets)
        self.say = say
        self.max_parallel = max_parallel

    def _call(self, target: Target, argv: Sequence[str], timeout: float) -> str:
        """matra-deploy's last line of output on ``target``; its failure (or the
        connection's) raises DeployError with one line naming the host."""
        try:
            result = self.client.run(target, argv, timeout=timeout)
        except SshError as error:
            raise DeployError(str(error)) from None
        except subprocess.TimeoutExpired:
            raise DeployError(f"{target}: no answer within {timeout:.0f} s") from None
        if result.returncode != 0:
            raise DeployError(f"{target}: {_reason(result.stderr or result.stdout)}")
        return last_line(result.stdout)

    def _everywhere(self, action: Callable[[Target], T]) -> dict[Target, T | DeployError]:
        """``action`` on every host at once: each host's result, or its DeployError."""
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(self.targets))) as pool:
            futures = {target: pool.submit(action, target) for target in self.targets}
        results: dict[Target, T | DeployError] = {}
        for target, future in futures.items():
            error = future.exception()
            if error is not None and not isinstance(error, DeployError):
                raise error
            results[target] = error if error is not None else future.result()
        return results

    @staticmethod
    def _all(results: dict[Target, T | DeployError]) -> dict[Target, T]:
        """Every host's result; any failure, joined into one line."""
        problems = [str(r) for r in results.values() if isinstance(r, DeployError)]
        if problems:
            raise DeployError("; ".join(problems))
        return {target: r for target, r in results.items() if not isinstance(r, DeployError)}

    def read(self, image: str) -> dict[Target, HostStatus | DeployError]:
        """Each host's status, or why it can't be read (each host on its own)."""

        def status(target: Target) -> HostStatus:
            found = HostStatus.parse(target, self._call(target, ["status"], STATUS_TIMEOUT))
            if found.image != image:
                raise DeployError(
                    f"{target}: is set up for {found.image}, the outputs say {image} "
                    "(run pulumi up for this stack first)"
                )
            return found

        return self._everywhere(status)

    def statuses(self, image: str) -> dict[Target, HostStatus]:
        """Every host's status; each must be reachable, present its pinned host key, and
        be set up for ``image`` (else the stack and the hosts disagree: run pulumi up)."""
        return self._all(self.read(image))

    def check(self, release: Release) -> dict[Target, tuple[Release, str]]:
        """Every host holds ``release``'s image (pulling only what it lacks): the release
        with its digest as each host has it, and how (present, pulled, recorded)."""

        def check(target: Target) -> tuple[Release, str]:
            line = self._call(target, ["check", str(release)], CHECK_TIMEOUT)
            fields = dict(word.partition("=")[::2] for word in line.split())
            if not fields.get("digest", "").startswith("sha256:"):
                raise DeployError(f"{target}: unexpected answer to check: {line!r}")
            return Release(release.tag, fields["digest"]), fields.get("source", "?")

        return self._all(self._everywhere(check))

    def deploy(
        self,
        target: Target,
        release: Release,
        watch: int,
        run_id: str,
        *,
        on_line: Callable[[str], None],
        sessions: dict[Target, subprocess.Popen[str]],
    ) -> HostResult:
        """``release`` on ``target``, watched ``watch`` seconds: its lines go to
        ``on_line`` as they come; its session is in ``sessions`` while it runs (closing
        its standard input makes the host put back what it served). A lost connection is
        followed by asking the host what became of run ``run_id``."""
        started = time.monotonic()
        try:
            process = self.client.start(target, ["deploy", str(release), str(watch), run_id])
        except SshError as error:
            return HostResult(target, 0.0, "lost", str(error).removeprefix(f"{target}: "), True)
        sessions[target] = process
        errors: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        reader = threading.Thread(target=lambda: errors.extend(process.stderr or []))
        reader.start()
        threading.Thread(target=_heartbeat, args=(process,), daemon=True).start()
        last = ""
        for line in process.stdout:
            if line.strip():
                last = line.strip().removeprefix("matra-deploy: ")
                if not last.startswith("done: "):  # the rollout's own line says it
                    on_line(last)
        process.wait()
        reader.join()
        sessions.pop(target, None)
        seconds = time.monotonic() - started
        reason = _reason("".join(errors))
        if process.returncode in PROTOCOL_EXIT:
            outcome = PROTOCOL_EXIT[process.returncode]
            message = last.removeprefix("done: ") if outcome == "served" else reason
            return HostResult(target, seconds, outcome, message)
        if process.returncode != 255:
            return HostResult(target, seconds, "failed", reason)
        lost = _reason("".join(errors))
        self.say(f"{target.name}: the connection was lost ({lost}); asking the host what it did")
        found = self.read_back(target, run_id)
        seconds = time.monotonic() - started
        if found is None:
            return HostResult(
                target,
                seconds,
                "lost",
                f"the connection was lost during its deploy ({lost}), and the host did not "
                f"answer again within {READ_BACK_SECONDS} s: what it serves is unknown",
                True,
            )
        said = found.get("message", "")
        if found.get("outcome") == "served":
            said = f"it finished: {said}"
        elif found.get("outcome") == "unknown":
            said = "the deploy never began there"
        return HostResult(
            target,
            seconds,
            str(found.get("outcome")),
            f"the connection was lost during its deploy; read back from the host: {said}",
            True,
        )

    def read_back(self, target: Target, run_id: str) -> dict[str, Any] | None:
        """What the host records of run ``run_id`` once it is over (None: the host did not
        answer for READ_BACK_SECONDS)."""
        deadline = time.monotonic() + READ_BACK_SECONDS
        while True:
            try:
                done = self.client.run(target, ["result", run_id], timeout=30)
                found = json.loads(last_line(done.stdout)) if done.returncode == 0 else {}
                if found.get("outcome") not in (None, "running"):
                    return dict(found)
            except (SshError, subprocess.TimeoutExpired, ValueError):
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(3)


class Rollout:
    """``release`` to ``fleet``, ``batch_size`` hosts at a time; the first batch watched
    ``canary_watch`` seconds, the others ``watch``. A first Ctrl-C lets the hosts in flight
    finish and starts no other; a second one (or SIGTERM) makes them put back what they
    served."""

    def __init__(
        self,
        fleet: Fleet,
        release: Release,
        *,
        batch_size: int,
        canary_watch: int,
        watch: int,
        run_id: str,
    ) -> None:
        self.fleet, self.release, self.batch_size = fleet, release, batch_size
        self.canary_watch, self.watch, self.run_id = canary_watch, watch, run_id
        self.stopping = False
        self.abandoning = False
        self.sessions: dict[Target, subprocess.Popen[str]] = {}

    def interrupt(self, number: int, _frame: object = None) -> None:
        """The signal handler while hosts deploy."""
        in_flight = ", ".join(target.name for target in self.sessions) or "no host"
        if number == signal.SIGINT and not self.stopping:
            self.stopping = True
            self.fleet.say(
                f"interrupted: {in_flight} finishes, then the rollout stops (Ctrl-C again: "
                "it puts back what it served instead)"
            )
            return
        self.stopping = self.abandoning = True
        self.fleet.say(f"interrupted again: {in_flight} puts back what it served")
        for process in list(self.sessions.values()):
            if process.stdin is not None:
                process.stdin.close()

    def _relay(self, prefix: str) -> Callable[[str], None]:
        return lambda line: self.fleet.say(f"{prefix}: {line}")

    def roll(self) -> list[HostResult]:
        """Batch by batch; stops after a batch with a failure or a lost connection, or
        after an interrupt."""
        results: list[HostResult] = []
        total = len(self.fleet.targets)
        say = self.fleet.say
        for start in range(0, total, self.batch_size):
            if self.stopping:
                break
            batch = self.fleet.targets[start : start + self.batch_size]
            watch = self.canary_watch if start == 0 else self.watch
            numbers = {target: number for number, target in enumerate(batch, start + 1)}
            for target, number in numbers.items():
                kind = "the canary, " if start == 0 and total > 1 else ""
                say(
                    f"[{number}/{total}] {target}: deploying {self.release} ({kind}watched "
                    f"{watch} s)"
                )
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                futures = [
                    pool.submit(
                        self.fleet.deploy,
                        target,
                        self.release,
                        watch,
                        f"{self.run_id[:12]}{number:04x}",
                        on_line=self._relay(f"[{number}/{total}] {target.name}"),
                        sessions=self.sessions,
                    )
                    for target, number in numbers.items()
                ]
                while wait(futures, timeout=0.2).not_done:
                    pass
            done = [future.result() for future in futures]
            for result in done:
                state = "done" if result.ok else "FAILED" if not result.connection_lost else "LOST"
                say(
                    f"[{numbers[result.target]}/{total}] {result.target.name}: {state} in "
                    f"{result.seconds:.1f} s: {result.message}"
                )
            results += done
            if not all(result.ok for result in done):
                break
        return results


def rollback_release(statuses: dict[Target, HostStatus]) -> Release:
    """The release a rollback puts every host back to: the one before the fleet's current
    release. After a deploy that stopped part-way, the hosts it reached run the new
    release and record the old one as previous while the others still run the old one:
    the old one is the answer then too. A host created since then records no previous
    release and follows the others. Anything else is ambiguous and refused."""
    if any(status.release is None for status in statuses.values()):
        bare = next(t for t, s in statuses.items() if s.release is None)
        raise DeployError(f"{bare}: runs no release yet: nothing to roll back to")
    current = {status.release for status in statuses.values()}
    candidates: list[Release] = []
    for new in current:
        # A host created since (bootstrapped with the current release) records none.
        old = {s.previous for s in statuses.values() if s.release == new} - {None}
        if len(old) == 1 and current <= {new, *old}:
            candidates += [found for found in old if found is not None]
    if len(candidates) == 1:
        return candidates[0]
    described = ", ".join(f"{t.name} runs {s.describe()}" for t, s in statuses.items())
    raise DeployError(
        f"the hosts don't agree on what to roll back to ({described}); "
        "deploy the release you want with --release TAG@sha256:<digest>"
    )


def _heartbeat(process: subprocess.Popen[str]) -> None:
    """A line to the host every HEARTBEAT seconds while its deploy runs: the host takes a
    session silent for 10 s for gone (and puts back what served). Closing the session's
    standard input (a second Ctrl-C) stops it."""
    while process.poll() is None:
        try:
            assert process.stdin is not None
            process.stdin.write("\n")
            process.stdin.flush()
        except (OSError, ValueError, AssertionError):
            return
        time.sleep(HEARTBEAT)


def _reason(text: str) -> str:
    return last_line(text).removeprefix("matra-deploy: ") or "failed without a message"
