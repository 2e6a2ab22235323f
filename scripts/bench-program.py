#!/usr/bin/env python3
"""Program benchmark: what our own code costs on top of the Pulumi SDK, as the fleet grows.

    make bench-program [ARGS="--droplets 50 --runs 5"]

Under the tests' mocks (tests/harness.py), in a fresh process each run, it times:

- program: prod's program (`__main__.py`) with ``dropletCount`` set to N;
- floor:   the same registrations (types, names, parents, inputs, dependencies, aliases;
           the components' and the stack's outputs), recorded once from that program,
           replayed bare: what the SDK (and the mocks) alone cost to register them, with
           none of our code.

The two alternate (program, floor, program, ...) and each figure is the median of the
runs' wall seconds; the ratio is taken run by run. Not a test: nothing here passes or
fails."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STACK = "prod"


def record(droplets: int, out: Path) -> int:
    """Run the program once and write its registrations, in the order they were made."""
    from harness import run_program

    run = run_program(STACK, overrides={"dropletCount": droplets})
    assert run.error is None, run.error
    out.write_text(
        json.dumps(
            {
                "resources": [
                    {
                        "type": r.type,
                        "name": r.name,
                        "urn": r.urn,
                        "custom": r.custom,
                        "parent": r.parent,
                        "inputs": r.inputs,
                        "dependencies": list(r.dependencies),
                        "aliases": r.aliases,
                        "outputs": {} if r.custom else r.outputs,
                    }
                    for r in run.registrations
                ],
                "stack_outputs": {
                    name: {"value": value.value, "secret": value.secret}
                    for name, value in run.outputs.items()
                },
            }
        )
    )
    return len(run.registrations)


def program(droplets: int) -> None:
    from harness import run_program

    run = run_program(STACK, overrides={"dropletCount": droplets})
    assert run.error is None, run.error


def floor(recorded: Path) -> None:
    """Register what ``record`` wrote, with no logic between the registrations."""
    import pulumi

    from harness import plain, run

    program: dict[str, Any] = json.loads(recorded.read_text())

    def body() -> None:
        made: dict[str, pulumi.Resource] = {}
        components: list[tuple[pulumi.ComponentResource, dict[str, Any]]] = []
        for r in program["resources"]:
            aliases = [
                pulumi.Alias(parent=made.get(a["spec"]["parentUrn"]))
                for a in r["aliases"]
                if "parentUrn" in a.get("spec", {}) and a["spec"]["parentUrn"] in made
            ]
            opts = pulumi.ResourceOptions(
                parent=made.get(r["parent"]),
                depends_on=[made[u] for u in r["dependencies"] if u in made],
                aliases=aliases or None,
            )
            if r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(
                    r["type"], r["name"], plain(r["inputs"]), opts
                )
            else:
                component = pulumi.ComponentResource(r["type"], r["name"], None, opts)
                made[r["urn"]] = component
                components.append((component, plain(r["outputs"])))
        for component, outputs in components:
            component.register_outputs(outputs)
        for name, output in program["stack_outputs"].items():
            value = output["value"]
            pulumi.export(name, pulumi.Output.secret(value) if output["secret"] else value)

    result = run(body, stack=STACK, preview=True)
    assert result.error is None, result.error


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--droplets", type=int, nargs="+", default=[3, 50])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["program", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--recorded", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "program":
        return program(args.droplets[0])
    if args.mode == "floor":
        return floor(args.recorded)

    me = [sys.executable, __file__]
    for droplets in args.droplets:
        with tempfile.TemporaryDirectory() as scratch:
            recorded = Path(scratch) / "registrations.json"
            count = record(droplets, recorded)
            ours, bare, ratios = [], [], []
            timed([*me, "--mode", "floor", "--recorded", str(recorded)])  # warm-up
            for _ in range(args.runs):
                ours.append(timed([*me, "--mode", "program", "--droplets", str(droplets)]))
                bare.append(timed([*me, "--mode", "floor", "--recorded", str(recorded)]))
                ratios.append(ours[-1] / bare[-1])
        print(
            f"{droplets:>3} droplets, {count} registrations: program "
            f"{statistics.median(ours):.2f} s, SDK floor {statistics.median(bare):.2f} s, "
            f"ratio {statistics.median(ratios):.2f} (median of {args.runs}; "
            f"{min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
