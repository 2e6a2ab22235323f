"""actionlint (pinned in tests/tools.env, built by scripts/test-tools.sh) passes every
workflow, with shellcheck over every `run:` block; the app repository's callers are also
checked against the reusable workflows they call (their inputs). The shared
action's `run:` blocks, which actionlint leaves alone, go through shellcheck here. A
broken workflow is rejected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness import ROOT
from tools import require
from workflow_files import WORKFLOW_DIR, actions, examples

WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))


def actionlint(
    *files: Path, cwd: Path = ROOT, shellcheck: bool = True
) -> subprocess.CompletedProcess[str]:
    found = shutil.which("shellcheck")
    assert found, "shellcheck is not installed: make test installs Debian's shellcheck"
    return subprocess.run(
        [
            str(require("actionlint", "actionlint")),
            f"-shellcheck={found if shellcheck else ''}",
            "-no-color",
            "-oneline",
            *map(str, files),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_workflow_passes_actionlint_and_shellcheck():
    assert WORKFLOWS, "no workflows"
    result = actionlint(*WORKFLOWS, *(ROOT / doc.path for doc in examples().values()))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


REMOTE = "matra-io/matra-infra/.github/workflows/{}@0000000000000000000000000000000000000000"


def test_the_app_callers_inputs_fit_the_reusable_workflows(tmp_path):
    """A caller names matra-infra's workflow by repository; here it calls the local copy,
    so actionlint checks every input it passes against the definition."""
    project = tmp_path / "app"
    (project / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "actionlint.yaml", project / ".github")
    callers = examples()
    assert callers
    for name, doc in callers.items():
        called = [
            job["uses"].split("@")[0].rsplit("/", 1)[1]
            for job in doc.jobs().values()
            if "uses" in job
        ]
        for workflow in called:
            shutil.copy(WORKFLOW_DIR / workflow, project / ".github" / "workflows")
            remote = REMOTE.format(workflow)
            assert remote in doc.text
            (project / ".github" / "workflows" / name).write_text(
                doc.text.replace(remote, f"./.github/workflows/{workflow}")
            )
    (project / ".git").mkdir()  # actionlint finds the project by its .git
    # (The scripts are shellchecked above; here the call alone matters.)
    result = actionlint(cwd=project, shellcheck=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")

    caller = callers["app-deploy.yml"].text
    broken = caller.replace(
        REMOTE.format("deploy-app.yml"), "./.github/workflows/deploy-app.yml"
    ).replace('      infra-ref: "0000000000000000000000000000000000000000"\n', "")
    (project / ".github" / "workflows" / "app-deploy.yml").write_text(broken)
    result = actionlint(cwd=project, shellcheck=False)
    assert result.returncode == 1
    assert 'input "infra-ref" is required' in result.stdout


def test_the_shared_actions_scripts_pass_shellcheck(tmp_path):
    scripts = [
        (name, index, step["run"])
        for name, doc in actions().items()
        for index, step in enumerate(doc.data["runs"]["steps"])
        if "run" in step
    ]
    assert scripts
    for name, index, script in scripts:
        path = tmp_path / f"{name}-{index}.sh"
        path.write_text("#!/bin/bash\nset -eo pipefail\n" + script)
        result = subprocess.run(
            ["shellcheck", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{name} step {index}:\n{result.stdout}"


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "permissions:\n  contents: read\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - run: rm -rf $TARGET/*\n"
        "      - run: echo '${{ steps.image.outputs.tag }}'\n"
        "      - uses: actions/checkout@v6\n"
        "        with:\n          persist-credential: false\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    found = result.stdout
    assert "SC2115" in found and "[shellcheck]" in found  # the unquoted $TARGET/*
    assert 'property "image" is not defined' in found and "[expression]" in found
    assert 'input "persist-credential" is not defined' in found and "[action]" in found
