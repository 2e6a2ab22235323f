"""scripts/stack_outputs.py (the deploy jobs' outputs reader): every line of every secret
output masked in the job's log before anything else, the outputs in a file only its
owner can read, and no value printed; a CLI failure is one line."""

import json
import stat

from fake_cli import fake_cli
from stack_outputs import escape_data, main, mask_commands

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGR0g=\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
REVEALED = {
    "deployUser": "deploy",
    "deployTargets": [{"name": "matra-prod-api-0", "ip": "203.0.113.11"}],
    "deploySshPrivateKey": KEY,
    "mongodbUri": "mongodb+srv://matra-api:S3cr%t@matra-prod.ab1cd.mongodb.net",
    "appImage": "registry.digitalocean.com/matra/api",
}
SHOWN = {**REVEALED, "deploySshPrivateKey": "[secret]", "mongodbUri": "[secret]"}


def fake_pulumi(tmp_path, fail=False):
    """A `pulumi` that prints the outputs, hiding the secrets without --show-secrets."""
    (tmp_path / "shown.json").write_text(json.dumps(SHOWN))
    (tmp_path / "revealed.json").write_text(json.dumps(REVEALED))
    return fake_cli(
        tmp_path,
        "echo \"error: no stack named 'prod' found\" >&2; exit 255\n"
        if fail
        else f'case "$*" in *--show-secrets*) cat {tmp_path}/revealed.json;; '
        f"*) cat {tmp_path}/shown.json;; esac\n",
    )


def outputs(path, out, monkeypatch, capsys):
    """The script's main(), as the deploy job runs it, with ``path`` as PATH: its exit
    code and what it printed."""
    monkeypatch.setenv("PATH", path)
    code = main(["--stack", "prod", "--out", str(out)])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_the_outputs_land_in_a_0600_file_every_secret_line_masked(tmp_path, monkeypatch, capsys):
    out = tmp_path / "outputs.json"
    code, printed, errors = outputs(fake_pulumi(tmp_path), out, monkeypatch, capsys)
    assert code == 0, errors
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text()) == REVEALED
    lines = printed.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    for line in KEY.splitlines():
        assert f"::add-mask::{line}" in masks
    assert "::add-mask::mongodb+srv://matra-api:S3cr%25t@matra-prod.ab1cd.mongodb.net" in masks
    # The masks come first; nothing else printed holds a value.
    assert lines[: len(masks)] == masks
    rest = "\n".join(lines[len(masks) :])
    assert "S3cr" not in rest and "b3BlbnNz" not in rest
    assert rest == (
        f"stack_outputs: 5 outputs of prod in {out} (0600); secret, masked: "
        "deploySshPrivateKey, mongodbUri"
    )


def test_a_file_already_there_is_made_private(tmp_path, monkeypatch, capsys):
    out = tmp_path / "outputs.json"
    out.write_text("old")
    out.chmod(0o644)
    assert outputs(fake_pulumi(tmp_path), out, monkeypatch, capsys)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_cli_failure_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "outputs.json"
    code, _, errors = outputs(fake_pulumi(tmp_path, fail=True), out, monkeypatch, capsys)
    assert code == 1
    assert errors == (
        "stack_outputs: pulumi stack output --stack prod failed: error: no stack named "
        "'prod' found\n"
    )
    assert not out.exists()


def test_only_secret_outputs_are_masked_and_structured_ones_in_every_form():
    shown = {"user": "deploy", "targets": "[secret]"}
    revealed = {"user": "deploy", "targets": [{"ip": "10.0.0.1"}]}
    assert mask_commands(shown, revealed) == [
        "::add-mask::10.0.0.1",
        '::add-mask::{"ip": "10.0.0.1"}',
        '::add-mask::[{"ip": "10.0.0.1"}]',
    ]
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"


def test_an_out_file_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "no-such-directory" / "outputs.json"
    code, _, errors = outputs(fake_pulumi(tmp_path), out, monkeypatch, capsys)
    assert code == 1
    assert errors.splitlines() == [f"stack_outputs: can't write {out} (No such file or directory)"]
