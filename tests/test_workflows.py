"""The workflows hold what they promise, read as data (tests/workflow_files.py):

- every pull request runs the test suite and previews every shipped stack with the
  policy pack and that stack's own policy config, comments, and fails on a failed preview;
- prod is updated (and the app deployed to prod) only in the production environment and
  only after staging; one update per stack at a time; refreshed; the pack enforced;
- no secret value is written in a file: secrets come from secrets.* into `env:`, `with:`
  and a reusable workflow's `secrets:` alone, never into a script's text;
- every action is pinned: a full commit SHA with its release tag in a comment, or an
  exact release tag;
- permissions are minimal: contents: read everywhere, pull-requests: write only for the
  job that writes the pull request comment.

Each check also runs on a copy of the files broken on purpose, and must fail there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import ROOT, project_stacks
from workflow_files import (
    Doc,
    broken,
    commands,
    environment,
    everything,
    example,
    flag,
    named,
    pulumi_commands,
    run_stacks_step,
)

DOCS = everything()
MATRIX_STACK = "${{ matrix.stack }}"
UPDATED = {"staging": "staging", "prod": "production"}
"""The stacks main updates, with the environment each update runs in."""
DEPLOYED = {
    "${{ inputs.staging-stack }}": "staging",
    "${{ inputs.production-stack }}": "production",
}
"""The stacks the app workflow deploys to, with their environments."""


def only_after_success(job: dict[str, Any]) -> bool:
    """No `if:` that runs the job when a job it needs failed or was cancelled."""
    return not re.search(r"always\(\)|failure\(\)|cancelled\(\)", str(job.get("if", "")))


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs") or []
    return {value} if isinstance(value, str) else set(value)


# -- previews ---------------------------------------------------------------------------


def check_previews(docs: list[Doc], root: Path) -> None:
    pr = named(docs, "pull-request.yml")
    trigger = pr.data["on"]
    assert "pull_request" in trigger, "the workflow must run on pull requests"
    filters = trigger["pull_request"] or {}
    assert not {"paths", "paths-ignore"} & set(filters), "required checks must run on every PR"
    jobs = pr.jobs()
    assert any(
        ".ci/run" in words for _, step in pr.steps() for words in commands(step.get("run") or "")
    ), "the test job must run the test suite (.ci/run)"

    previewing = {
        job_id: job
        for job_id, job in jobs.items()
        for step in job.get("steps") or []
        if pulumi_commands(step, "preview")
    }
    assert len(previewing) == 1, f"one preview job expected, found {sorted(previewing)}"
    ((job_id, job),) = previewing.items()
    assert {"test", "stacks"} <= needs(job), f"{job_id} must run after the tests and the list"
    strategy = job.get("strategy") or {}
    assert strategy.get("matrix") == {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}, (
        f"{job_id}: the matrix must be the stacks job's list, got {strategy.get('matrix')}"
    )
    assert strategy.get("fail-fast") is False, f"{job_id}: each stack must report its own check"
    steps = job["steps"]
    for step in steps:
        for words in pulumi_commands(step, "preview"):
            assert flag(words, "--stack") == MATRIX_STACK, f"previews {flag(words, '--stack')}"
            assert flag(words, "--policy-pack") == "policies", "the preview needs the policy pack"
            config = flag(words, "--policy-pack-config")
            assert config == f"policies/config/{MATRIX_STACK}.json", (
                f"each stack needs its own --policy-pack-config, got {config}"
            )
            assert "exit-code=${PIPESTATUS[0]}" in step["run"], "the preview's status is lost"
    stacks = run_stacks_step(pr, root)
    assert stacks == list(project_stacks(root)), f"the stacks job lists {stacks}"
    for stack in stacks:
        assert (root / "policies" / "config" / f"{stack}.json").is_file(), f"no config: {stack}"

    comment = [s for s in steps if "scripts/pr_comment.py" in (s.get("run") or "")]
    assert len(comment) == 1, "one pull request comment per stack"
    assert "always()" in str(comment[0].get("if")), "a failed preview must be commented too"
    assert any(
        ["exit", "1"] in commands(s.get("run") or "") and "exit-code != '0'" in str(s.get("if"))
        for s in steps
    ), "a failed preview (a mandatory violation) must fail the check"


# -- updates and deploys ------------------------------------------------------------------


def check_updates(docs: list[Doc]) -> None:
    update = named(docs, "update.yml")
    assert (update.data["on"].get("push") or {}).get("branches") == ["main"], "push to main"
    found: dict[str, list[tuple[str, str, list[str]]]] = {}
    for doc in docs:
        for job_id, step in doc.steps():
            for verb in ("up", "update", "destroy", "refresh"):
                for words in pulumi_commands(step, verb):
                    assert doc.name == "update.yml", f"{doc.path} runs pulumi {verb}"
                    found.setdefault(str(flag(words, "--stack")), []).append((job_id, verb, words))
    assert set(found) == set(UPDATED), f"main updates {sorted(found)}, expected {set(UPDATED)}"
    jobs = update.jobs()
    groups = set()
    for stack, [(job_id, verb, words)] in found.items():
        job = jobs[job_id]
        assert verb == "up", f"{stack}: pulumi {verb}"
        assert environment(job) == UPDATED[stack], (
            f"{job_id} updates {stack} outside the {UPDATED[stack]} environment"
        )
        assert "--refresh" in words, f"{job_id}: refresh before the update"
        assert "--yes" in words and "--non-interactive" in words
        assert flag(words, "--policy-pack") == "policies", f"{job_id}: the pack is enforced"
        assert flag(words, "--policy-pack-config") == f"policies/config/{stack}.json"
        concurrency = job.get("concurrency") or {}
        assert stack in str(concurrency.get("group", "")), f"{job_id}: a concurrency group"
        assert concurrency.get("cancel-in-progress") is False, f"{job_id}: never cancel an up"
        groups.add(concurrency["group"])
    assert len(groups) == len(UPDATED), "one concurrency group per stack"
    (prod,) = found["prod"]
    (staging,) = found["staging"]
    assert staging[0] in needs(jobs[prod[0]]), "prod is updated only after staging"
    assert only_after_success(jobs[prod[0]]), "prod must not run when staging failed"


def check_deploys(docs: list[Doc]) -> None:
    app = named(docs, "deploy-app.yml")
    jobs = app.jobs()
    deploying: dict[str, str] = {}
    for job_id, job in jobs.items():
        reads = [
            words
            for step in job.get("steps") or []
            for words in commands(step.get("run") or "")
            if "scripts/stack_outputs.py" in words
        ]
        deploys = [
            words
            for step in job.get("steps") or []
            for words in commands(step.get("run") or "")
            if words[1:3] == ["-m", "deploy"]
        ]
        if not deploys:
            continue
        assert len(reads) == 1 == len(deploys), f"{job_id}: read the outputs, then deploy"
        env = {k: v for s in job["steps"] for k, v in (s.get("env") or {}).items()}
        stack = env.get(str(flag(reads[0], "--stack")).lstrip("$"))
        assert stack in DEPLOYED, f"{job_id} deploys {stack}"
        assert environment(job) == DEPLOYED[stack], f"{job_id} deploys outside its environment"
        assert flag(deploys[0], "--outputs") == flag(reads[0], "--out")
        assert flag(deploys[0], "--release") == "$RELEASE"
        assert only_after_success(job), f"{job_id} must not run after a failure"
        deploying[DEPLOYED[stack]] = job_id
    assert set(deploying) == {"staging", "production"}, f"deploys to {sorted(deploying)}"
    assert deploying["staging"] in needs(jobs[deploying["production"]]), "prod after staging"

    caller = named(docs, "app-deploy.yml")
    push = caller.data["on"]["push"]
    assert push == {"branches": ["main"], "paths": ["backend/**"]}, push
    (call,) = caller.jobs().values()
    workflow, ref = call["uses"].rsplit("@", 1)
    assert workflow.endswith("/.github/workflows/deploy-app.yml")
    assert call["with"]["infra-ref"] == ref, "the deploy command comes from the workflow's ref"


# -- secrets ------------------------------------------------------------------------------

SECRETISH = re.compile(
    r"token|secret|password|passphrase|private|_key(_id)?$|ssh-key|username", re.I
)
FROM_STORE = re.compile(r"^\$\{\{\s*(secrets\.[A-Za-z_][A-Za-z0-9_]*|github\.token)\s*\}\}$")
CREDENTIAL = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|dop_v1_[0-9a-f]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}|\bAKIA[0-9A-Z]{16}\b|\bDO0[0-9A-Z]{17}\b"
)


def _walk(node: Any, key: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        if key in ("env", "with"):
            for name, value in node.items():
                if SECRETISH.search(str(name)) and not FROM_STORE.match(str(value).strip()):
                    problems.append(f"{key}.{name} is not from secrets.*: {str(value)[:20]}")
        if key == "secrets" and all(isinstance(v, str) for v in node.values()):
            for name, value in node.items():
                if not FROM_STORE.match(value.strip()):
                    problems.append(f"secrets.{name} passes on a value, not a secret")
        for name, value in node.items():
            _walk(value, str(name), problems)
    elif isinstance(node, list):
        for item in node:
            _walk(item, key, problems)


def check_no_inline_secrets(docs: list[Doc]) -> None:
    for doc in docs:
        match = CREDENTIAL.search(doc.text)
        assert match is None, f"{doc.path}: a credential in the file ({match and match[0][:12]})"
        problems: list[str] = []
        _walk(doc.data, "", problems)
        assert not problems, f"{doc.path}: {problems}"
        for job_id, step in doc.steps():
            script = step.get("run") or ""
            assert "secrets." not in script, f"{doc.path} {job_id}: a secret in a script's text"
            assert not re.search(r"set -[a-z]*x|xtrace", script), f"{doc.path}: xtrace echoes"


# -- pins ---------------------------------------------------------------------------------

SHA = re.compile(r"^[0-9a-f]{40}$")
RELEASE = re.compile(r"^v\d+\.\d+\.\d+$")


def check_pinned(docs: list[Doc]) -> None:
    for doc in docs:
        used = [step["uses"] for _, step in doc.steps() if "uses" in step]
        used += [job["uses"] for job in doc.jobs().values() if "uses" in job]
        assert used or doc.is_action, f"{doc.path} uses nothing?"
        for uses in used:
            if uses.startswith("./"):
                continue  # this repository's own action, at the checked-out commit
            assert "@" in uses, f"{doc.path}: {uses} names no version"
            ref = uses.rsplit("@", 1)[1]
            assert SHA.match(ref) or RELEASE.match(ref), f"{doc.path}: {uses} is not pinned"
            if SHA.match(ref):
                lines = [line for line in doc.text.splitlines() if uses in line]
                assert lines and all(
                    re.search(r"#\s*v\d+\.\d+\.\d+\s*$", line) for line in lines
                ), f"{doc.path}: {uses} without its release tag in a comment"


# -- permissions --------------------------------------------------------------------------

READ = {"contents": "read"}


def check_permissions(docs: list[Doc]) -> None:
    for doc in docs:
        if doc.is_action:
            continue
        assert doc.data.get("permissions") == READ, f"{doc.path}: workflow permissions"
        for job_id, job in doc.jobs().items():
            comments = any(
                "scripts/pr_comment.py" in (s.get("run") or "") for s in job.get("steps") or []
            )
            wanted = {**READ, "pull-requests": "write"} if comments else READ
            assert job.get("permissions") == wanted, (
                f"{doc.path} {job_id}: permissions {job.get('permissions')}, expected {wanted}"
            )


# -- the real files pass ------------------------------------------------------------------


def test_every_stack_is_previewed_with_its_own_policy_config():
    check_previews(DOCS, ROOT)


def test_prod_is_updated_only_behind_its_environment_after_staging():
    check_updates(DOCS)


def test_the_app_reaches_prod_only_behind_its_environment_after_staging():
    check_deploys(DOCS)


def test_no_secret_value_is_written_in_a_workflow():
    check_no_inline_secrets(DOCS)


def test_every_action_is_pinned():
    check_pinned(DOCS)


def test_permissions_are_minimal():
    check_permissions(DOCS)


def test_the_examples_caller_is_the_app_repositorys_workflow():
    assert example().data["name"] == "deploy"


# -- ... and each check fails on a file broken on purpose ---------------------------------

Check = Callable[[list[Doc]], None]


def _previews(docs: list[Doc]) -> None:
    check_previews(docs, ROOT)


BREAKS: list[tuple[str, Check, str, str, str, str, str]] = [
    # (id, check, file, old, new, after, the failure's words)
    (
        "one-config-for-all",
        _previews,
        "pull-request.yml",
        '"policies/config/$STACK.json"',
        "policies/config/prod.json",
        "",
        "its own --policy-pack-config",
    ),
    (
        "no-policy-pack",
        _previews,
        "pull-request.yml",
        "--policy-pack policies ",
        "",
        "",
        "needs the policy pack",
    ),
    (
        "fixed-matrix",
        _previews,
        "pull-request.yml",
        "stack: ${{ fromJSON(needs.stacks.outputs.stacks) }}",
        "stack: [dev, prod]",
        "",
        "the matrix must be the stacks job's list",
    ),
    (
        "a-stack-left-out",
        _previews,
        "pull-request.yml",
        'glob("Pulumi.*.yaml")',
        'glob("Pulumi.[dp]*.yaml")',
        "",
        "the stacks job lists",
    ),
    (
        "violation-passes",
        _previews,
        "pull-request.yml",
        "          exit 1\n",
        "",
        "",
        "must fail the check",
    ),
    (
        "prod-without-environment",
        check_updates,
        "update.yml",
        "    environment: production\n",
        "",
        "",
        "outside the production environment",
    ),
    (
        "prod-not-after-staging",
        check_updates,
        "update.yml",
        "    needs: staging\n",
        "",
        "",
        "only after staging",
    ),
    (
        "prod-even-if-staging-failed",
        check_updates,
        "update.yml",
        "    needs: staging\n",
        "    needs: staging\n    if: always()\n",
        "",
        "must not run when staging failed",
    ),
    (
        "no-refresh",
        check_updates,
        "update.yml",
        "--refresh ",
        "",
        "STACK: prod",
        "refresh before the update",
    ),
    (
        "no-concurrency",
        check_updates,
        "update.yml",
        "      group: pulumi-up-prod\n",
        "      group: pulumi-up\n",
        "",
        "a concurrency group",
    ),
    (
        "update-outside-main",
        check_updates,
        "pull-request.yml",
        "          set +e\n",
        "          set +e\n          pulumi up --stack prod --yes\n",
        "",
        "runs pulumi up",
    ),
    (
        "app-prod-without-environment",
        check_deploys,
        "deploy-app.yml",
        "    environment: production\n",
        "",
        "",
        "outside its environment",
    ),
    (
        "app-prod-not-after-staging",
        check_deploys,
        "deploy-app.yml",
        "    needs: [build, staging]\n",
        "    needs: [build]\n",
        "",
        "prod after staging",
    ),
    (
        "literal-key",
        check_no_inline_secrets,
        "pull-request.yml",
        "${{ secrets.SPACES_ACCESS_KEY_ID }}",
        "AKIAIOSFODNN7EXAMPL3",
        "",
        "a credential in the file",
    ),
    (
        "literal-password",
        check_no_inline_secrets,
        "deploy-app.yml",
        "password: ${{ secrets.DOCR_TOKEN }}",
        "password: hunter2-but-longer",
        "",
        "with.password is not from secrets",
    ),
    (
        "secret-in-a-script",
        check_no_inline_secrets,
        "pull-request.yml",
        'pulumi preview --stack "$STACK"',
        'DIGITALOCEAN_TOKEN="${{ secrets.DIGITALOCEAN_TOKEN }}" pulumi preview --stack "$STACK"',
        "",
        "a secret in a script's text",
    ),
    (
        "xtrace",
        check_no_inline_secrets,
        "deploy-app.yml",
        "run: venv/bin/python -m deploy",
        "run: set -x; venv/bin/python -m deploy",
        "name: deploy (prod)",
        "xtrace echoes",
    ),
    (
        "floating-major",
        check_pinned,
        "pull-request.yml",
        "actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e # v7.0.0",
        "actions/setup-go@v7",
        "",
        "is not pinned",
    ),
    (
        "a-branch",
        check_pinned,
        "setup-pulumi",
        "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d # v7.0.0",
        "pulumi/actions@main",
        "",
        "is not pinned",
    ),
    (
        "sha-without-its-tag",
        check_pinned,
        "deploy-app.yml",
        "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e # v4.3.0",
        "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e",
        "",
        "without its release tag",
    ),
    (
        "write-all",
        check_permissions,
        "update.yml",
        "permissions:\n  contents: read\n\nenv:",
        "permissions: write-all\n\nenv:",
        "",
        "workflow permissions",
    ),
    (
        "a-job-writes-issues",
        check_permissions,
        "pull-request.yml",
        "      contents: read\n",
        "      contents: read\n      issues: write\n",
        "name: test",
        "test: permissions",
    ),
    (
        "a-job-without-permissions",
        check_permissions,
        "deploy-app.yml",
        "    permissions:\n      contents: read\n",
        "",
        "name: build",
        "build: permissions None",
    ),
    (
        "comment-for-a-job-that-doesnt",
        check_permissions,
        "update.yml",
        "      contents: read\n",
        "      contents: read\n      pull-requests: write\n",
        "name: update (staging)",
        "staging: permissions",
    ),
]


@pytest.mark.parametrize(
    ("check", "name", "old", "new", "after", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in BREAKS],
)
def test_each_check_fails_on_a_broken_copy(check, name, old, new, after, words):
    docs = broken(DOCS, name, old, new, after)
    assert docs != DOCS, "the break changed nothing"
    with pytest.raises(AssertionError, match=re.escape(words)):
        check(docs)
