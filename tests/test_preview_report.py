"""scripts/preview_report.py: what a preview found, read from the CLI's structured output
(`pulumi preview --json` with PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true), masked and cut
to fit where it goes.

tests/data holds two real captures from the engine in ../shared/engine (trimmed): a
preview of the dev stack with the policy pack (every resource a create, the pack's
violations, mandatory ones among them, so the preview failed), and a refreshed preview
with --expect-no-changes of a stack whose resources changed outside Pulumi (exit code 7)."""

from __future__ import annotations

import json
from pathlib import Path

from preview_report import (
    BUDGET,
    GITHUB_LIMIT,
    MASK,
    Change,
    Masker,
    Report,
    Violation,
    load,
    markdown,
    read_events,
    text,
)

DATA = Path(__file__).parent / "data"
NO_MASK = Masker([])


def dev() -> Report:
    return load("dev", 255, DATA / "preview-dev-events.jsonl")


def test_the_report_of_a_failed_preview_names_each_violation_and_the_error():
    report = dev()
    assert report.result == "failed"
    assert report.counts == {"create": 50}
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    assert mandatory and all(v.policy == "command-remote-host-key-pinned" for v in mandatory)
    assert {v.policy for v in report.violations if v.level == "advisory"} >= {
        "digitalocean-droplet-backups"
    }
    assert "error: preview failed" in report.errors
    body = markdown(report, NO_MASK, title="`pulumi preview` of **dev**")
    assert f"failed (exit code 255): {len(mandatory)} mandatory policy violations, below" in body
    assert "**Changes:** + 50 to create" in body
    assert "| mandatory | `command-remote-host-key-pinned` | command.Command" in body
    # The advisory ones are there too, after the mandatory ones.
    assert body.index("| advisory |") > body.rindex("| mandatory |")
    # The traceback the language host prints when the engine stops it is no error of ours.
    assert "Traceback" not in body and "KeyboardInterrupt" not in body


def test_drift_shows_what_changed_outside_pulumi_and_what_an_update_would_do():
    errors = (DATA / "preview-drift.err").read_text().splitlines()
    lines = (DATA / "preview-drift-events.jsonl").read_text().splitlines()
    report = read_events("dev", 7, lines, errors)
    # db's size is a secret: the CLI shows "[secret]" before and after, so its drift shows
    # only as the update that would undo it.
    assert {c.name: c.properties for c in report.drifted} == {"droplet": ["size"]}
    assert [(c.op, c.name) for c in report.changes] == [("update", "db"), ("update", "droplet")]
    assert report.errors == [
        "error: no changes were expected for preview but changes were proposed"
    ]
    body = markdown(report, NO_MASK, title="drift")
    assert "**What changed outside Pulumi (the refresh)** (1)" in body
    assert "| `~` update | `droplet` |" in body
    assert "**Changes:** ~ 2 to update, 1 unchanged" in body


def test_no_secret_the_job_holds_reaches_the_report():
    report = Report(
        "prod",
        255,
        violations=[
            Violation("mandatory", "x", "digitalocean.Droplet api-0", "token dop_v1_abc123 leaked")
        ],
        errors=[
            "error: bad key -----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
            "-----END OPENSSH PRIVATE KEY----- here"
        ],
        changes=[
            Change("update", "command:remote:Command", "deploy", ["stdin", "hunter2-passphrase"])
        ],
    )
    mask = Masker.from_env(
        ["PULUMI_CONFIG_PASSPHRASE", "DIGITALOCEAN_TOKEN", "EMPTY"],
        {
            "PULUMI_CONFIG_PASSPHRASE": "hunter2-passphrase",
            "DIGITALOCEAN_TOKEN": "dop_v1_abc123",
            "EMPTY": "",
        },
    )
    for rendered in (markdown(report, mask, title="t"), text(report, mask)):
        assert "hunter2-passphrase" not in rendered and "dop_v1_abc123" not in rendered
        assert "PRIVATE KEY" not in rendered and "AAAA" not in rendered
        assert MASK in rendered and "[private key]" in rendered


def test_a_multi_line_secret_is_masked_line_by_line():
    mask = Masker(["first-line-of-it\nsecond-line-of-it"])
    assert mask("x second-line-of-it y") == f"x {MASK} y"


def test_a_huge_preview_stays_under_githubs_limit_and_says_what_it_left_out():
    changes = [
        Change(
            "replace", "digitalocean:index/droplet:Droplet", f"api-{i}" * 5, ["userData", "image"]
        )
        for i in range(5000)
    ]
    violations = [
        Violation(
            "advisory", "digitalocean-droplet-backups", f"digitalocean.Droplet api-{i}", "x" * 300
        )
        for i in range(40)
    ]
    report = Report("prod", 0, counts={"replace": 5000}, changes=changes, violations=violations)
    body = markdown(
        report, NO_MASK, title="`pulumi preview` of **prod**", header=["<!-- marker -->"]
    )
    assert len(body) <= BUDGET < GITHUB_LIMIT
    assert body.startswith("<!-- marker -->")
    assert "left out to fit (the run's log has all of them)" in body
    assert body.count("| advisory |") == 40  # the policy report first, whole


def test_a_policy_report_too_long_for_a_comment_is_cut_with_a_note():
    violations = [Violation("advisory", "p", "r", "y" * 700) for _ in range(200)]
    body = markdown(Report("prod", 0, violations=violations), NO_MASK, title="t")
    assert len(body) <= BUDGET and body.rstrip().endswith(
        "(cut here to fit; the run's log has the rest)"
    )


def test_plain_text_lines_in_the_json_output_are_kept_when_they_are_errors():
    report = read_events(
        "dev",
        255,
        [
            "Installing policy pack...",
            "error: getting stack: no such bucket",
            json.dumps({"summaryEvent": {"result": "failed", "resourceChanges": {}}}),
        ],
    )
    assert report.errors == ["error: getting stack: no such bucket"]


def test_no_output_at_all_says_so(tmp_path):
    report = load("dev", 255, tmp_path / "missing.jsonl", tmp_path / "missing.err")
    assert report.errors == ["the preview wrote no output (see the run's log)"]
