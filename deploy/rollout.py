"""The rollout: ask every host how it stands and have it pull the release (nothing changes
anywhere if one can't), then deploy host by host (or batch by batch), stopping at the
first host whose new release fails; each host's swap is its own matra-deploy's (a new
release beside the old, health-gated, then a graceful nginx switch)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from .ssh import SshClient, SshError, Target, last_line

T = TypeVar("T")

STATUS_TIMEOUT = 60
PULL_TIMEOUT = 900
DEPLOY_TIMEOUT = 900
"""Seconds per host: the entry point's own limits (pull, health 60 s, drain 30 s, stop
30 s) end well before these."""


class DeployError(Exception):
    """The deploy can't go on; the message is one line."""


@dataclass(frozen=True)
class HostStatus:
    """A host's `matra-deploy status` line."""

    release: str | None
    previous: str | None
    healthy: bool
    image: str

    @classmethod
    def parse(cls, target: Target, line: str) -> HostStatus:
        fields = dict(word.partition("=")[::2] for word in line.split())
        if "release" not in fields or "image" not in fields:
            raise DeployError(f"{target}: unexpected status from matra-deploy: {line.strip()!r}")

        def release(key: str) -> str | None:
            value = fields.get(key, "none")
            return None if value == "none" else value

        return cls(
            release=release("release"),
            previous=release("previous"),
            healthy=fields.get("healthy") == "yes",
            image=fields["image"],
        )

    def describe(self) -> str:
        if self.release is None:
            return "no release"
        health = "" if self.healthy else ", NOT healthy"
        return f"{self.release} (previous {self.previous or 'none'}{health})"


@dataclass(frozen=True)
class HostResult:
    target: Target
    seconds: float
    message: str
    """matra-deploy's last line: what runs now, or why the new release didn't."""
    ok: bool


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
        """matra-deploy's output on ``target``; its failure (or the connection's) raises
        DeployError with one line naming the host."""
        try:
            result = self.client.run(target, argv, timeout=timeout)
        except SshError as error:
            raise DeployError(str(error)) from None
        except subprocess.TimeoutExpired:
            raise DeployError(f"{target}: no answer within {timeout:.0f} s") from None
        if result.returncode != 0:
            raise DeployError(f"{target}: {_reason(result.stderr or result.stdout)}")
        return last_line(result.stdout)

    def _everywhere(self, action: Callable[[Target], T]) -> dict[Target, T]:
        """``action`` on every host at once; every failure, joined into one line."""
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(self.targets))) as pool:
            futures = {target: pool.submit(action, target) for target in self.targets}
        results: dict[Target, T] = {}
        problems: list[str] = []
        for target, future in futures.items():
            error = future.exception()
            if error is None:
                results[target] = future.result()
            elif isinstance(error, DeployError):
                problems.append(str(error))
            else:
                raise error
        if problems:
            raise DeployError("; ".join(problems))
        return results

    def statuses(self, image: str) -> dict[Target, HostStatus]:
        """Every host's status; each must be reachable, present its pinned host key, and be
        set up for ``image`` (else the stack and the hosts disagree: run pulumi up)."""

        def status(target: Target) -> HostStatus:
            found = HostStatus.parse(target, self._call(target, ["status"], STATUS_TIMEOUT))
            if found.image != image:
                raise DeployError(
                    f"{target}: is set up for {found.image}, the outputs say {image} "
                    "(run pulumi up for this stack first)"
                )
            return found

        return self._everywhere(status)

    def pull(self, tag: str) -> None:
        """Every host pulls ``tag`` (it must be in the registry and every host get it)."""
        self._everywhere(lambda target: self._call(target, ["check", tag], PULL_TIMEOUT))

    def roll(self, tag: str, batch_size: int) -> list[HostResult]:
        """Deploy ``tag`` batch by batch; stops after the first batch with a failure."""
        results: list[HostResult] = []
        total = len(self.targets)
        for start in range(0, total, batch_size):
            batch = self.targets[start : start + batch_size]
            for offset, target in enumerate(batch, start + 1):
                self.say(f"[{offset}/{total}] {target}: deploying {tag}")
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                done = list(pool.map(lambda target: self._deploy(target, tag), batch))
            for offset, result in enumerate(done, start + 1):
                state = "done" if result.ok else "FAILED"
                self.say(
                    f"[{offset}/{total}] {result.target.name}: {state} in "
                    f"{result.seconds:.1f} s: {result.message}"
                )
            results += done
            if not all(result.ok for result in done):
                break
        return results

    def _deploy(self, target: Target, tag: str) -> HostResult:
        started = time.monotonic()
        try:
            message = self._call(target, ["deploy", tag], DEPLOY_TIMEOUT)
            message, ok = message.removeprefix("matra-deploy: "), True
        except DeployError as error:
            message, ok = str(error).removeprefix(f"{target}: "), False
        return HostResult(target, time.monotonic() - started, message, ok)


def rollback_release(statuses: dict[Target, HostStatus]) -> str:
    """The release a rollback puts every host back to: the one before the fleet's current
    release. After a deploy that stopped part-way, the hosts it reached run the new
    release and record the old one as previous while the others still run the old one:
    the old one is the answer then too. A host created since then records no previous
    release and follows the others. Anything else is ambiguous and refused."""
    if any(status.release is None for status in statuses.values()):
        bare = next(t for t, s in statuses.items() if s.release is None)
        raise DeployError(f"{bare}: runs no release yet: nothing to roll back to")
    current = {status.release for status in statuses.values()}
    candidates: list[str | None] = []
    for new in current:
        # A host created since (bootstrapped with the current release) records none.
        old = {s.previous for s in statuses.values() if s.release == new} - {None}
        if len(old) == 1 and current <= {new, *old}:
            candidates += old
    if len(candidates) == 1 and candidates[0] is not None:
        return candidates[0]
    described = ", ".join(f"{t.name} runs {s.describe()}" for t, s in statuses.items())
    raise DeployError(
        f"the hosts don't agree on what to roll back to ({described}); "
        "deploy the release you want with --release TAG"
    )


def _reason(text: str) -> str:
    return last_line(text).removeprefix("matra-deploy: ") or "failed without a message"
