#!/usr/bin/env python3
"""Program benchmark: what our own code costs on top of the Pulumi SDK, as the fleet grows.

    make bench-program [ARGS="--droplets 50 --runs 5"]

Under the tests' mocks (tests/harness.py), in a fresh process each run, it times:

- program: prod's program (`__main__.py`) with ``dropletCount`` set to N;
- floor:   the same registrations (types, names, parents, inputs, dependencies, aliases;
           the components' and the stack's outputs), recorded once from that program,
           replayed with none of our code in between, each resource through the class the
           program registers it with (pulumi_digitalocean.Droplet, pulumi_command's
           remote.Command, ...): what the SDK and the providers' classes alone cost;
- bare:    the same replay through pulumi.CustomResource, no provider class: the SDK
           without the providers' classes (each makes an output for every property its
           resource has, where a bare resource makes one per input it was given).

They alternate (program, floor, bare, program, ...); each figure is the median of the
runs' wall seconds, each ratio the median of the run-by-run ratios. Not a test: nothing
here passes or fails."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pulumi

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


def provider_class(token: str) -> type[pulumi.CustomResource]:
    """The class a Pulumi Python SDK generates for a resource type token:
    ``digitalocean:index/droplet:Droplet`` is pulumi_digitalocean.Droplet,
    ``command:remote:Command`` is pulumi_command.remote.Command."""
    package, module, name = token.split(":")
    module = module.split("/")[0]
    found = importlib.import_module(
        f"pulumi_{package}" + ("" if module == "index" else f".{module}")
    )
    return getattr(found, name)


def snake(name: str) -> str:
    """A wire property name (camelCase) as the Python argument it comes from."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def floor(recorded: Path, *, typed: bool, check: bool = False) -> None:
    """Register what ``record`` wrote, with no logic between the registrations: through
    each resource's provider class (``typed``), or through pulumi.CustomResource. With
    ``check`` (the warm-up run), it checks that the replay registered what the program
    did (types, URNs, parents, inputs)."""
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
            inputs = plain(r["inputs"])
            if r["custom"] and typed:
                arguments = {snake(key): value for key, value in inputs.items()}
                made[r["urn"]] = provider_class(r["type"])(r["name"], opts=opts, **arguments)
            elif r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], inputs, opts)
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
    if not check:
        return
    replayed = {r.urn: (r.type, r.parent, plain(r.inputs)) for r in result.registrations}
    expected = {
        r["urn"]: (r["type"], r["parent"], plain(r["inputs"])) for r in program["resources"]
    }
    assert replayed == expected, "the replay registered something else than the program did"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--droplets", type=int, nargs="+", default=[3, 50])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["program", "floor", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--recorded", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "program":
        return program(args.droplets[0])
    if args.mode in ("floor", "bare"):
        return floor(args.recorded, typed=args.mode == "floor", check=args.check)

    me = [sys.executable, __file__]
    for droplets in args.droplets:
        with tempfile.TemporaryDirectory() as scratch:
            recorded = Path(scratch) / "registrations.json"
            count = record(droplets, recorded)
            commands = {
                "program": [*me, "--mode", "program", "--droplets", str(droplets)],
                "floor": [*me, "--mode", "floor", "--recorded", str(recorded)],
                "bare": [*me, "--mode", "bare", "--recorded", str(recorded)],
            }
            for name, command in commands.items():  # warm-up; the replays checked
                timed([*command, "--check"] if name != "program" else command)
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, command in commands.items():
                    times[name].append(timed(command))

        def ratio(over: str, times: dict[str, list[float]] = times) -> str:
            ratios = [a / b for a, b in zip(times["program"], times[over], strict=True)]
            return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"

        median = {name: statistics.median(runs) for name, runs in times.items()}
        print(
            f"{droplets:>3} droplets, {count} registrations, median of {args.runs}: "
            f"program {median['program']:.2f} s, SDK floor {median['floor']:.2f} s, "
            f"bare {median['bare']:.2f} s; program/floor {ratio('floor')}, "
            f"program/bare {ratio('bare')}"
        )


if __name__ == "__main__":
    main()
