"""scripts/deploy.sh (make deploy): the stack and the release checked first, the outputs
read with their secrets from the backend and handed to the deploy command on a pipe, the
release passed as one argument whatever it holds, never through a shell line."""

import json
import os
import subprocess

from fake_cli import recording_cli
from harness import ROOT

SCRIPT = ROOT / "scripts" / "deploy.sh"


def fake_pulumi(tmp_path, outputs):
    """A `pulumi` of the pinned version whose `stack output` prints ``outputs``."""
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    return recording_cli(
        tmp_path,
        "3.272.0",
        f'if [ "$1 $2" = "stack output" ]; then cat {tmp_path}/outputs.json; exit 0; fi\nexit 1\n',
    )


def make_deploy(tmp_path, *assignments, path=None):
    return subprocess.run(
        ["make", "--no-print-directory", "deploy", *assignments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": path or os.environ["PATH"], "HOME": str(tmp_path)},
    )


def test_an_unknown_stack_or_no_release_is_one_line(tmp_path):
    unknown = make_deploy(tmp_path, "STACK=qa", "RELEASE=v1")
    assert unknown.stderr.splitlines()[0] == (
        "make deploy: no stack qa (no Pulumi.qa.yaml); the stacks are: dev prod staging"
    )
    bare = make_deploy(tmp_path, "STACK=prod")
    assert bare.stderr.splitlines()[0].startswith("make deploy: no RELEASE: give the image tag")


def test_the_outputs_go_to_the_deploy_command_with_their_secrets(tmp_path):
    path = fake_pulumi(tmp_path, {"project": "matra-infra", "stack": "prod"})
    done = make_deploy(tmp_path, "STACK=prod", "RELEASE=3f9c2ab", path=path)
    assert (tmp_path / "calls").read_text() == "stack output --stack prod --json --show-secrets\n"
    # The deploy command read them (and found no appImage in these).
    assert "deploy: error: outputs: no appImage" in done.stderr


def test_the_release_is_one_argument_and_never_runs_as_shell(tmp_path):
    path = fake_pulumi(tmp_path, {"project": "matra-infra"})
    marker = tmp_path / "ran"
    for release in (f"v1;touch {marker}", f"`touch {marker}`", f'"; touch {marker}; "'):
        done = make_deploy(tmp_path, "STACK=prod", f"RELEASE={release}", path=path)
        assert f"deploy: error: --release {release!r}: a release tag is" in done.stderr
    # make expands $(...) itself (to nothing) rather than hand it to a shell.
    make_deploy(tmp_path, "STACK=prod", f"RELEASE=$(touch {marker})", path=path)
    assert not marker.exists()


def test_rollback_is_asked_for_by_name(tmp_path):
    path = fake_pulumi(tmp_path, {"project": "other"})
    done = make_deploy(tmp_path, "STACK=prod", "RELEASE=rollback", path=path)
    assert "deploy: error: outputs: project is 'other'" in done.stderr


def test_a_release_by_digest_reaches_the_deploy_command_whole(tmp_path):
    path = fake_pulumi(tmp_path, {"project": "matra-infra", "stack": "prod"})
    release = "3f9c2ab@sha256:" + "0123456789abcdef" * 4
    done = make_deploy(tmp_path, "STACK=prod", f"RELEASE={release}", path=path)
    # Past the release's check: the deploy command read the outputs (no appImage in these).
    assert "deploy: error: outputs: no appImage" in done.stderr, done.stderr
    broken = make_deploy(tmp_path, "STACK=prod", "RELEASE=3f9c2ab@sha256:12", path=path)
    assert "deploy: error: --release '3f9c2ab@sha256:12': a digest is sha256:" in broken.stderr
