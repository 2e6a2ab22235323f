#!/usr/bin/env python3
"""Deploy benchmark: seconds per host and for the fleet, and failed requests, for a lone
host (requests straight to its nginx, as a single-droplet stack's clients reach it) and a
fleet behind HAProxy (the stack's health check), on the real parts tests/rig.py starts:
test hosts running Docker's engine and nginx, set up by the program's own scripts, a
registry, clients sending requests for the whole deploy.

Needs root and what `make test` sets up (Debian packages, Go-built tools, venv):

    make bench-deploy [ARGS="--hosts 1 3 --rounds 3 --clients 4"]

Each round deploys the other release (v1 <-> v2) to every host with `python -m deploy`,
once with the post-switch watch as the command sets it by default (the first host for the
balancer's detection time, the others 10 s) and once with no watch (--canary-watch 0
--watch 0): the difference is what the watch costs. Per host it reads the command's
progress lines: the whole host ("done in"), and its swap (the host's time less the watch).
Not a test: nothing here passes or fails but a deploy that errors."""

from __future__ import annotations

import argparse
import re
import statistics
import time
from dataclasses import dataclass

from rig import QUICK, Release, fleet  # tests/rig.py: make bench-deploy puts tests/ on the path

DONE = re.compile(r"^deploy: \[\d+/\d+\] (\S+): done in ([0-9.]+) s: .*watched (\d+) s\)$")
MODES = {"watched": (), "unwatched": ("--canary-watch", "0", "--watch", "0")}


@dataclass
class Row:
    hosts: int
    mode: str
    round: int
    release: str
    fleet: float
    """Seconds the deploy command ran (every host, preflight included)."""
    per_host: list[float]
    """Seconds each host took, its watch included, in rollout order."""
    swaps: list[float]
    """Seconds each host took less its watch: start, health gate, switch, stop of the old."""
    requests: int
    failed: int

    def __str__(self) -> str:
        return (
            f"{self.hosts:>5}  {self.mode:<9}  {self.round:>5}  {self.release:>7}  "
            f"{self.fleet:>7.1f}  {' '.join(f'{s:.1f}' for s in self.per_host):<17}  "
            f"{' '.join(f'{s:.1f}' for s in self.swaps):<14}  {self.requests:>8}  {self.failed:>6}"
        )


def bench(count: int, rounds: int, clients: int) -> list[Row]:
    rows: list[Row] = []
    with fleet(count, [Release("v1"), Release("v2")], stack="prod" if count > 1 else "dev") as rig:
        first = rig.deploy("--release", "v1", *QUICK)
        if first.returncode != 0:
            raise SystemExit(f"bench-deploy: the first deploy failed: {first.stderr.strip()}")
        if count > 1:
            rig.balance()
        release = "v1"
        for number in range(1, rounds + 1):
            for mode, flags in MODES.items():
                release = "v2" if release == "v1" else "v1"
                with rig.under_load(clients) as load:
                    load.wait_for(20)
                    started = time.monotonic()
                    done = rig.deploy("--release", release, *flags)
                    fleet_seconds = time.monotonic() - started
                    load.wait_for(load.total + 20)
                if done.returncode != 0:
                    raise SystemExit(f"bench-deploy: the deploy failed: {done.stderr.strip()}")
                found = [m for m in map(DONE.match, done.stdout.splitlines()) if m]
                per_host = [float(m[2]) for m in found]
                swaps = [float(m[2]) - int(m[3]) for m in found]
                rows.append(
                    Row(
                        count,
                        mode,
                        number,
                        release,
                        fleet_seconds,
                        per_host,
                        swaps,
                        load.total,
                        len(load.failures),
                    )
                )
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 3], metavar="N")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    columns = ("hosts", "mode     ", "round", "release", "fleet s", "per-host s       ")
    print("  ".join((*columns, "swap s        ", "requests", "failed")))
    summary = []
    for count in args.hosts:
        rows = bench(count, args.rounds, args.clients)
        for mode in MODES:
            mine = [row for row in rows if row.mode == mode]
            swaps = [seconds for row in mine for seconds in row.swaps]
            summary.append(
                f"{count} host{'s' * (count != 1)}, {mode}: swap per host median "
                f"{statistics.median(swaps):.1f} s (max {max(swaps):.1f} s), fleet median "
                f"{statistics.median(row.fleet for row in mine):.1f} s, failed requests "
                f"{sum(row.failed for row in mine)} of {sum(row.requests for row in mine)}"
            )
    print()
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
