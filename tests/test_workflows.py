"""The workflows hold what they promise. Where a workflow decides something in a script
(which pull requests can read their environments, whether every preview passed, the
release a build hands on, whether a plan is the approved one, whether a restored venv is
used), the script is run here as the runner runs it, on each case. The rest is read as
data (tests/workflow_files.py):

- every pull request runs the test suite and previews every shipped stack with the
  policy pack and that stack's own policy config, in the stack's preview environment or
  offline, comments, and fails on a failed preview;
- every `pulumi up` applies a plan saved by a preview of the same stack, with the pack,
  in its own job (staging) or in a job it needs, outside the environment that writes
  (prod: plan-prod, before the approval); refreshed; one update per stack at a time;
  prod only after staging succeeded, in the production environment;
- the app is deployed by digest, the build's, staging first, through
  scripts/app_deploy.py (which records it) alone;
- no secret value is written in a file; every action is pinned;
- a job asks for a permission only where one of its steps uses it.

Each check also runs on a copy of the files broken on purpose, and must fail there.
(Which job can read which credential is tests/test_threat_model.py's.)
"""

from __future__ import annotations

import re
import shutil
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
    flag,
    named,
    pulumi_commands,
    run_script,
    run_stacks_step,
    step,
)

DOCS = everything()
MATRIX_STACK = "${{ matrix.stack }}"
UPDATED = {"staging": "staging", "prod": "production"}
"""The stacks main updates, with the environment each update runs in."""


def only_after_success(job: dict[str, Any]) -> bool:
    """No `if:` that runs the job when a job it needs failed or was cancelled."""
    return not re.search(r"always\(\)|failure\(\)|cancelled\(\)", str(job.get("if", "")))


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs") or []
    return {value} if isinstance(value, str) else set(value)


def upstream(jobs: dict[str, Any], job_id: str) -> set[str]:
    """Every job ``job_id`` waits for, directly or not."""
    found: set[str] = set()
    todo = list(needs(jobs[job_id]))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo += needs(jobs[current])
    return found


# -- previews ---------------------------------------------------------------------------


def _check_preview_command(job_id: str, words: list[str]) -> None:
    assert flag(words, "--stack") == MATRIX_STACK, f"{job_id} previews {flag(words, '--stack')}"
    assert flag(words, "--policy-pack") == "policies", (
        f"{job_id}: the preview needs the policy pack"
    )
    config = flag(words, "--policy-pack-config")
    assert config == f"policies/config/{MATRIX_STACK}.json", (
        f"{job_id}: each stack needs its own --policy-pack-config, got {config}"
    )
    assert "--json" in words, f"{job_id}: the report is built from the preview's events (--json)"


def check_previews(docs: list[Doc], root: Path) -> None:
    pr = named(docs, "pull-request.yml")
    trigger = pr.data["on"]
    assert "pull_request" in trigger, "the workflow must run on pull requests"
    filters = trigger["pull_request"] or {}
    assert not {"paths", "paths-ignore"} & set(filters), "required checks must run on every PR"
    jobs = pr.jobs()
    assert any(
        ".ci/run" in words for _, step_ in pr.steps() for words in commands(step_.get("run") or "")
    ), "the test job must run the test suite (.ci/run)"

    previewing = {}
    for job_id, job in jobs.items():
        for step_ in job.get("steps") or []:
            for words in pulumi_commands(step_, "preview"):
                previewing[job_id] = job
                _check_preview_command(job_id, words)
            if "scripts/offline_preview.py" in (step_.get("run") or ""):
                previewing[job_id] = job
                assert '--stack "$STACK"' in step_["run"] and step_["env"]["STACK"] == MATRIX_STACK
    assert len(previewing) == 2, (
        f"a preview job and an offline one expected, found {sorted(previewing)}"
    )
    for job_id, job in previewing.items():
        assert {"test", "stacks"} <= needs(job), f"{job_id} must run after the tests and the list"
        strategy = job.get("strategy") or {}
        assert strategy.get("matrix") == {
            "stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"
        }, f"{job_id}: the matrix must be the stacks job's list, got {strategy.get('matrix')}"
        assert strategy.get("fail-fast") is False, (
            f"{job_id}: each stack must report its own result"
        )
        assert any(
            ["exit", "1"] in commands(s.get("run") or "") and "exit-code != '0'" in str(s.get("if"))
            for s in job["steps"]
        ), f"{job_id}: a failed preview (a mandatory violation) must fail the job"
    with_state = [j for j, job in previewing.items() if environment(job)]
    assert len(with_state) == 1 and environment(jobs[with_state[0]]) == f"preview-{MATRIX_STACK}", (
        "the preview with the stack's state runs in the stack's preview environment"
    )
    comment = [
        s for s in jobs[with_state[0]]["steps"] if "scripts/pr_comment.py" in (s.get("run") or "")
    ]
    assert len(comment) == 1, "one pull request comment per stack"
    assert "always()" in str(comment[0].get("if")), "a failed preview must be commented too"
    stacks = run_stacks_step(pr, root)
    assert stacks == list(project_stacks(root)), f"the stacks job lists {stacks}"
    for stack in stacks:
        assert (root / "policies" / "config" / f"{stack}.json").is_file(), f"no config: {stack}"


def test_every_stack_is_previewed_with_its_own_policy_config():
    check_previews(DOCS, ROOT)


def _credentials(docs: list[Doc], head: str, actor: str) -> str:
    pr = named(docs, "pull-request.yml")
    done = run_script(
        step(pr, "stacks", "credentials")["run"],
        {"HEAD_REPOSITORY": head, "REPOSITORY": "matra-io/matra-infra", "ACTOR": actor},
    )
    assert done.returncode == 0, done.stdout
    return done.outputs["credentials"]


@pytest.mark.parametrize(
    ("head", "actor", "expected"),
    [
        ("matra-io/matra-infra", "alice", "environment"),
        ("someone/matra-infra", "someone", "none"),
        ("matra-io/matra-infra", "dependabot[bot]", "none"),
    ],
    ids=["a-branch-here", "a-fork", "dependabot"],
)
def test_only_a_branch_of_this_repository_previews_against_the_state(head, actor, expected):
    assert _credentials(DOCS, head, actor) == expected


def test_the_credentials_check_fails_on_a_broken_copy():
    docs = broken(DOCS, "pull-request.yml", ' || $ACTOR == "dependabot[bot]"', "")
    assert _credentials(docs, "matra-io/matra-infra", "dependabot[bot]") == "environment"


def _previews(docs: list[Doc], stacks: str, credentials: str, preview: str, offline: str) -> int:
    pr = named(docs, "pull-request.yml")
    done = run_script(
        step(pr, "previews", "Every shipped stack")["run"],
        {"STACKS": stacks, "CREDENTIALS": credentials, "PREVIEW": preview, "OFFLINE": offline},
    )
    return done.returncode


@pytest.mark.parametrize(
    ("stacks", "credentials", "preview", "offline", "passes"),
    [
        ("success", "environment", "success", "skipped", True),
        ("success", "none", "skipped", "success", True),
        ("success", "environment", "failure", "skipped", False),
        # A reviewer never approved prod's preview: the check waits, then fails, never passes.
        ("success", "environment", "cancelled", "skipped", False),
        ("success", "environment", "skipped", "skipped", False),  # the tests failed
        ("success", "none", "skipped", "failure", False),
        ("failure", "", "skipped", "skipped", False),
    ],
)
def test_previews_passes_only_when_every_stacks_preview_passed(
    stacks, credentials, preview, offline, passes
):
    assert (_previews(DOCS, stacks, credentials, preview, offline) == 0) is passes


def test_the_previews_check_fails_on_a_broken_copy():
    docs = broken(
        DOCS,
        "pull-request.yml",
        "if [[ $result != success ]]; then",
        "if [[ $result == failure ]]; then",
    )
    assert _previews(docs, "success", "environment", "skipped", "skipped") == 0


# -- updates ------------------------------------------------------------------------------


def _path(value: str) -> str:
    return value.replace("${{ runner.temp }}", "$RUNNER_TEMP")


def _saved_plans(jobs: dict[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(job, plan file) -> (stack, preview words) for every `preview --save-plan`."""
    found = {}
    for job_id, job in jobs.items():
        for step_ in job.get("steps") or []:
            for words in pulumi_commands(step_, "preview"):
                plan = flag(words, "--save-plan")
                if plan:
                    found[job_id, _path(plan)] = (str(flag(words, "--stack")), words)
    return found


def _artifacts(job: dict[str, Any], action: str) -> dict[str, str]:
    """name -> path of each artifact the job uploads or downloads (``action``)."""
    return {
        s["with"]["name"]: _path(s["with"]["path"])
        for s in job.get("steps") or []
        if str(s.get("uses", "")).startswith(f"actions/{action}-artifact@")
    }


def _planner(jobs: dict[str, Any], job_id: str, plan: str) -> tuple[str, str, list[str]]:
    """Where the plan ``job_id`` applies was made: this job, or a job it waits for that
    uploads the plan as an artifact this job downloads to that very path."""
    plans = _saved_plans(jobs)
    if (job_id, plan) in plans:
        return (job_id, *plans[job_id, plan])
    downloaded = _artifacts(jobs[job_id], "download")
    for (other, saved), (stack, words) in plans.items():
        uploaded = _artifacts(jobs[other], "upload")
        for name, path in uploaded.items():
            if (
                path == saved
                and name in downloaded
                and f"{downloaded[name]}/{Path(saved).name}" == plan
            ):
                assert other in upstream(jobs, job_id), f"{job_id} does not wait for {other}"
                return other, stack, words
    raise AssertionError(f"{job_id}: no preview of this run saved the plan {plan} it applies")


def check_updates(docs: list[Doc]) -> None:
    update = named(docs, "update.yml")
    assert (update.data["on"].get("push") or {}).get("branches") == ["main"], "push to main"
    found: dict[str, list[tuple[str, str, list[str]]]] = {}
    for doc in docs:
        for job_id, step_ in doc.steps():
            for verb in ("up", "update", "destroy", "refresh"):
                for words in pulumi_commands(step_, verb):
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
        assert "--refresh" in words, (
            f"{job_id}: refresh, so a plan made on a world that moved fails"
        )
        assert "--yes" in words and "--non-interactive" in words
        assert flag(words, "--policy-pack") == "policies", f"{job_id}: the pack is enforced"
        assert flag(words, "--policy-pack-config") == f"policies/config/{stack}.json"
        plan = flag(words, "--plan")
        assert plan, f"{job_id}: pulumi up applies exactly a plan (--plan), not what it finds"
        planner, planned, preview = _planner(jobs, job_id, plan)
        assert planned == stack, f"{job_id} applies {planned}'s plan to {stack}"
        assert flag(preview, "--policy-pack") == "policies", (
            f"{planner}: the plan is checked by the pack"
        )
        assert "--refresh" in preview, f"{planner}: the plan sees the world as it is"
        if UPDATED[stack] == "production":
            # The approver reads the plan before approving: it is made before the gate,
            # with no write key.
            assert planner != job_id and environment(jobs[planner]) != "production", (
                f"{job_id}: prod's plan must be made before the approval, outside production"
            )
        concurrency = job.get("concurrency") or {}
        assert stack in str(concurrency.get("group", "")), f"{job_id}: a concurrency group"
        assert concurrency.get("cancel-in-progress") is False, f"{job_id}: never cancel an up"
        groups.add(concurrency["group"])
    assert len(groups) == len(UPDATED), "one concurrency group per stack"
    (prod,) = found["prod"]
    (staging,) = found["staging"]
    assert staging[0] in upstream(jobs, prod[0]), "prod is updated only after staging"
    assert only_after_success(jobs[prod[0]]), "prod must not run when staging failed"


def test_every_update_applies_the_plan_a_preview_of_that_commit_made():
    check_updates(DOCS)


def _plan_check(docs: list[Doc], sha256: str, content: bytes) -> int:
    update = named(docs, "update.yml")
    script = step(update, "prod", "Check it is that plan")["run"]
    with __import__("tempfile").TemporaryDirectory() as tmp:
        (Path(tmp) / "plan").mkdir()
        (Path(tmp) / "plan" / "plan.json").write_bytes(content)
        done = run_script(script.replace("$RUNNER_TEMP", tmp), {"SHA256": sha256})
    return done.returncode


def test_update_prod_applies_only_the_plan_file_plan_prod_made():
    import hashlib

    plan = b'{"resourcePlans": {}}'
    good = hashlib.sha256(plan).hexdigest()
    assert _plan_check(DOCS, good, plan) == 0
    assert _plan_check(DOCS, good, plan + b" ") == 1  # another plan, same name
    assert _plan_check(DOCS, "", plan) == 1  # plan (prod) made none


def test_the_plan_check_fails_on_a_broken_copy():
    docs = broken(DOCS, "update.yml", "          exit 1\n", "", after="name: Check it is that plan")
    assert _plan_check(docs, "0" * 64, b"{}") == 0


# -- deploys -----------------------------------------------------------------------------

DEPLOYED = {"staging": "staging", "prod": "production"}
"""The app workflow's deploy jobs and their environments."""


def _deploy_steps(job: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """(step, words) of each `scripts/app_deploy.py deploy` the job runs."""
    return [
        (step_, words)
        for step_ in job.get("steps") or []
        for words in commands(step_.get("run") or "")
        if words[1:3] == ["scripts/app_deploy.py", "deploy"]
    ]


def check_deploys(docs: list[Doc]) -> None:
    """The app's deploys (deploy-app.yml; operate-app.yml's are run in
    tests/test_app_workflows.py) deploy the build's release, staging then prod, from the
    environment's material, each recorded once in its own environment."""
    app = named(docs, "deploy-app.yml")
    jobs = app.jobs()
    deploying: dict[str, str] = {}
    for doc in docs:
        for job_id, job in doc.jobs().items():
            if doc.name == "deploy-app.yml" or not _deploy_steps(job):
                continue
            assert doc.name == "operate-app.yml", f"{doc.path} {job_id} deploys the app"
    for job_id, job in jobs.items():
        deploys = _deploy_steps(job)
        assert not any(
            words[1:3] == ["-m", "deploy"]
            for _, s in app.steps()
            for words in commands(s.get("run") or "")
        ), f"{job_id}: the deploy command runs through scripts/app_deploy.py (the record)"
        if not deploys:
            continue
        ((deploy_step, words),) = deploys
        assert not any(
            words[0] == "pulumi" for s in job["steps"] for words in commands(s.get("run") or "")
        ), f"{job_id}: the app's deploy reads no state"
        assert flag(words, "--release") == "$RELEASE", (
            f"{job_id} deploys {flag(words, '--release')}"
        )
        assert deploy_step["env"]["RELEASE"] == "${{ needs.build.outputs.release }}", (
            f"{job_id}: deploys something else than the build's release (its digest)"
        )
        assert only_after_success(job), f"{job_id} must not run after a failure"
        # app_deploy.py records the deployment, with its release, in the job's environment;
        # GitHub's own record of the job would be a second one, without the release.
        assert deploy_step["env"]["ENVIRONMENT"] == environment(job), (
            f"{job_id}: records its deploy in another environment than its own"
        )
        assert job["environment"].get("deployment") is False, f"{job_id}: recorded twice"
        deploying[environment(job) or ""] = job_id
    assert set(deploying) == set(DEPLOYED.values()), f"deploys to {sorted(deploying)}"
    assert deploying["staging"] in needs(jobs[deploying["production"]]), "prod after staging"
    assert jobs["build"]["outputs"]["release"] == "${{ steps.release.outputs.release }}"

    for caller in (named(docs, "app-deploy.yml"), named(docs, "app-operate.yml")):
        (call,) = caller.jobs().values()
        workflow, ref = call["uses"].rsplit("@", 1)
        assert workflow.endswith(
            f"/.github/workflows/{caller.name.replace('app-', '').replace('.yml', '')}-app.yml"
        )
        assert call["with"]["infra-ref"] == ref, (
            f"{caller.name}: the deploy command comes from the workflow's commit"
        )
    push = named(docs, "app-deploy.yml").data["on"]["push"]
    assert push == {"branches": ["main"], "paths": ["backend/**"]}, push


def test_the_app_reaches_prod_only_behind_its_environment_after_staging():
    check_deploys(DOCS)


def _release(docs: list[Doc], digest: str) -> tuple[int, str]:
    app = named(docs, "deploy-app.yml")
    done = run_script(
        step(app, "build", "release")["run"],
        {
            "IMAGE": "registry.digitalocean.com/matra/api",
            "DIGEST": digest,
            "GITHUB_SHA": "3f9c2ab" + "0" * 33,
        },
    )
    return done.returncode, done.outputs.get("release", "")


def test_the_build_hands_on_its_tag_pinned_to_the_digest_the_push_got():
    digest = "sha256:" + "ab" * 32
    assert _release(DOCS, digest) == (0, f"3f9c2ab{'0' * 33}@{digest}")
    for bad in ("", "sha256:abc", "latest"):
        assert _release(DOCS, bad)[0] == 1, bad


def test_the_release_check_fails_on_a_broken_copy():
    docs = broken(
        DOCS, "deploy-app.yml", 'echo "release=$GITHUB_SHA@$DIGEST"', 'echo "release=$GITHUB_SHA"'
    )
    code, release = _release(docs, "sha256:" + "ab" * 32)
    assert code == 0 and "@sha256:" not in release


# -- the restored virtualenv ---------------------------------------------------------------


def _restored(docs: list[Doc], lock: str, tmp: Path) -> tuple[int, bool, str]:
    """The shared action's venv step in a checkout whose venv is this one (restored from
    a cache) and whose lock is ``lock``: its exit code, whether it kept the venv, its
    output. `make` is a stand-in that records its call."""
    action = named(docs, "action.yml")
    (script,) = [
        s["run"] for s in action.data["runs"]["steps"] if "make venv" in (s.get("run") or "")
    ]
    (tmp / "requirements.txt").write_text(lock)
    (tmp / "venv").symlink_to(ROOT / "venv")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").write_text('#!/bin/sh\necho "make $*"\n')
    (bin_dir / "make").chmod(0o755)
    done = run_script(script, {"RESTORED": "true"}, cwd=tmp, path=[bin_dir])
    kept = (tmp / "venv").exists()
    if kept:
        (tmp / "venv").unlink()
    return done.returncode, kept, done.stdout


def test_a_restored_venv_is_used_only_when_it_is_the_locks(tmp_path):
    lock = (ROOT / "requirements.txt").read_text()
    code, kept, output = _restored(DOCS, lock, tmp_path / "a")
    assert (code, kept) == (0, True) and "make venv" in output
    shutil.rmtree(tmp_path / "a")
    other = lock.replace("pytest==9.2.0", "pytest==9.1.0", 1)
    assert other != lock
    code, kept, output = _restored(DOCS, other, tmp_path / "b")
    assert (code, kept) == (0, False), output  # rebuilt
    assert "is not requirements.txt's; building it again" in output


@pytest.fixture(autouse=True)
def _fresh_dirs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()


# -- secrets ------------------------------------------------------------------------------

SECRETISH = re.compile(
    r"token|secret|password|passphrase|private|_key(_id)?$|ssh-key|username", re.I
)
FROM_STORE = re.compile(
    r"^\$\{\{\s*(secrets\.[A-Za-z_][A-Za-z0-9_]*|github\.token|steps\.app-token\.outputs\.token)\s*\}\}$"
)
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
        for job_id, step_ in doc.steps():
            script = step_.get("run") or ""
            assert "secrets." not in script, f"{doc.path} {job_id}: a secret in a script's text"
            assert not re.search(r"set -[a-z]*x|xtrace", script), f"{doc.path}: xtrace echoes"


def test_no_secret_value_is_written_in_a_workflow():
    check_no_inline_secrets(DOCS)


# -- pins ---------------------------------------------------------------------------------

SHA = re.compile(r"^[0-9a-f]{40}$")


def check_pinned(docs: list[Doc]) -> None:
    for doc in docs:
        used = [step_["uses"] for _, step_ in doc.steps() if "uses" in step_]
        used += [job["uses"] for job in doc.jobs().values() if "uses" in job]
        assert used or doc.is_action or doc.name == "pull-request.yml", f"{doc.path} uses nothing?"
        for uses in used:
            if uses.startswith("./"):
                continue  # this repository's own action, at the checked-out commit
            assert "@" in uses, f"{doc.path}: {uses} names no version"
            ref = uses.rsplit("@", 1)[1]
            # github/ requires every action and reusable workflow pinned to a commit.
            assert SHA.match(ref), f"{doc.path}: {uses} is not pinned to a commit"
            lines = [line for line in doc.text.splitlines() if uses in line]
            assert lines and all(re.search(r"#\s*v\d+\.\d+\.\d+\s*$", line) for line in lines), (
                f"{doc.path}: {uses} without its release tag in a comment"
            )


def test_every_action_is_pinned():
    check_pinned(DOCS)


# -- permissions --------------------------------------------------------------------------

READ = {"contents": "read"}
USES = {
    "pull-requests": "scripts/pr_comment.py",
    "issues": "scripts/drift_issue.py",
    "deployments": "scripts/app_deploy.py",
}
"""A write permission, and the script that needs it: a job asks for one only if it runs
that script."""


def check_permissions(docs: list[Doc]) -> None:
    for doc in docs:
        if doc.is_action:
            continue
        assert doc.data.get("permissions") == READ, f"{doc.path}: workflow permissions"
        for job_id, job in doc.jobs().items():
            granted = job.get("permissions")
            assert isinstance(granted, dict), (
                f"{doc.path} {job_id}: permissions {granted}, not its own"
            )
            runs = " ".join(s.get("run") or "" for s in job.get("steps") or [])
            if "uses" in job:
                # A call of a reusable workflow: its jobs get no more than this grants.
                called = named(docs, Path(str(job["uses"]).split("@")[0]).name)
                runs = " ".join(s.get("run") or "" for _, s in called.steps())
                for other_id, other in called.jobs().items():
                    for scope, level in (other.get("permissions") or {}).items():
                        assert granted.get(scope) in (level, "write"), (
                            f"{doc.path} {job_id}: grants no {scope}: {level}, which "
                            f"{called.name} {other_id} needs"
                        )
            for scope, level in granted.items():
                if level == "read":
                    assert scope == "contents", f"{doc.path} {job_id}: {scope}: read"
                    continue
                assert scope in USES and USES[scope] in runs, (
                    f"{doc.path} {job_id}: {scope}: {level}, which none of its steps uses"
                )


def test_permissions_are_minimal():
    check_permissions(DOCS)


# -- ... and each check fails on a file broken on purpose ---------------------------------

Check = Callable[[list[Doc]], None]


def _previews_check(docs: list[Doc]) -> None:
    check_previews(docs, ROOT)


BREAKS: list[tuple[str, Check, str, str, str, str, str]] = [
    # (id, check, file, old, new, after, the failure's words)
    (
        "one-config-for-all",
        _previews_check,
        "pull-request.yml",
        '"policies/config/$STACK.json"',
        "policies/config/prod.json",
        "",
        "its own --policy-pack-config",
    ),
    (
        "no-policy-pack",
        _previews_check,
        "pull-request.yml",
        "--policy-pack policies ",
        "",
        "",
        "needs the policy pack",
    ),
    (
        "fixed-matrix",
        _previews_check,
        "pull-request.yml",
        "stack: ${{ fromJSON(needs.stacks.outputs.stacks) }}",
        "stack: [dev, prod]",
        "name: preview (${{ matrix.stack }})",
        "the matrix must be the stacks job's list",
    ),
    (
        "a-stack-left-out",
        _previews_check,
        "pull-request.yml",
        'glob("Pulumi.*.yaml")',
        'glob("Pulumi.[dp]*.yaml")',
        "",
        "the stacks job lists",
    ),
    (
        "violation-passes",
        _previews_check,
        "pull-request.yml",
        "          exit 1\n",
        "",
        "name: preview (${{ matrix.stack }})",
        "must fail the job",
    ),
    (
        "preview-without-its-environment",
        _previews_check,
        "pull-request.yml",
        "      name: preview-${{ matrix.stack }}\n",
        "      name: preview\n",
        "",
        "runs in the stack's preview environment",
    ),
    (
        "prod-without-environment",
        check_updates,
        "update.yml",
        "      name: production\n",
        "      name: plan-prod\n",
        "",
        "outside the production environment",
    ),
    (
        "up-without-a-plan",
        check_updates,
        "update.yml",
        '            --plan "$RUNNER_TEMP/plan/plan.json" \\\n',
        "",
        "",
        "applies exactly a plan (--plan)",
    ),
    (
        "plan-without-the-pack",
        check_updates,
        "update.yml",
        '--save-plan "$RUNNER_TEMP/plan/plan.json" \\\n            --policy-pack policies',
        '--save-plan "$RUNNER_TEMP/plan/plan.json" \\\n           ',
        "",
        "the plan is checked by the pack",
    ),
    (
        "prod-planned-behind-the-gate",
        check_updates,
        "update.yml",
        '            --plan "$RUNNER_TEMP/plan/plan.json" \\\n',
        '            --plan "$RUNNER_TEMP/own.json" \\\n',
        "",
        "prod: no preview of this run saved the plan",
    ),
    (
        "prod-planned-in-production",
        check_updates,
        "update.yml",
        '          pulumi up --stack "$STACK" --yes --non-interactive --refresh --diff '
        "--color never \\\n"
        '            --plan "$RUNNER_TEMP/plan/plan.json" \\\n',
        '          pulumi preview --stack "$STACK" --refresh --save-plan "$RUNNER_TEMP/own.json" '
        "--policy-pack policies\n"
        '          pulumi up --stack "$STACK" --yes --non-interactive --refresh --diff '
        "--color never \\\n"
        '            --plan "$RUNNER_TEMP/own.json" \\\n',
        "",
        "prod's plan must be made before the approval",
    ),
    (
        "prod-not-after-staging",
        lambda docs: check_updates(broken(docs, "update.yml", "    needs: staging\n", "")),
        "update.yml",
        "    needs: [staging, plan-prod]\n",
        "    needs: [plan-prod]\n",
        "",
        "prod is updated only after staging",
    ),
    (
        "prod-even-if-staging-failed",
        check_updates,
        "update.yml",
        "    needs: [staging, plan-prod]\n",
        "    needs: [staging, plan-prod]\n    if: always()\n",
        "",
        "must not run when staging failed",
    ),
    (
        "no-refresh",
        check_updates,
        "update.yml",
        "--refresh --diff",
        "--diff",
        "name: update (prod)",
        "refresh, so a plan made on a world that moved fails",
    ),
    (
        "no-concurrency",
        check_updates,
        "update.yml",
        "      group: pulumi-up-prod\n",
        "      group: pulumi-up\n",
        "name: update (prod)",
        "a concurrency group",
    ),
    (
        "update-outside-main",
        check_updates,
        "pull-request.yml",
        "          set +e\n",
        "          set +e\n          pulumi up --stack prod --yes\n",
        "name: preview (${{ matrix.stack }})",
        "runs pulumi up",
    ),
    (
        "app-prod-by-tag",
        check_deploys,
        "deploy-app.yml",
        "RELEASE: ${{ needs.build.outputs.release }}",
        "RELEASE: ${{ github.sha }}",
        "name: deploy (prod)",
        "deploys something else than the build's release",
    ),
    (
        "app-prod-from-the-state",
        check_deploys,
        "deploy-app.yml",
        '          venv/bin/python scripts/app_deploy.py deploy --release "$RELEASE"\n',
        '          pulumi stack output --json --show-secrets > "$RUNNER_TEMP/outputs.json"\n'
        '          venv/bin/python scripts/app_deploy.py deploy --release "$RELEASE"\n',
        "name: deploy (prod)",
        "the app's deploy reads no state",
    ),
    (
        "app-prod-recorded-in-staging",
        check_deploys,
        "deploy-app.yml",
        "          ENVIRONMENT: production\n",
        "          ENVIRONMENT: staging\n",
        "",
        "records its deploy in another environment",
    ),
    (
        "app-prod-recorded-twice",
        check_deploys,
        "deploy-app.yml",
        "      name: production\n      deployment: false\n",
        "      name: production\n",
        "",
        "recorded twice",
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
        "AWS_ACCESS_KEY_ID: ${{ secrets.SPACES_ACCESS_KEY_ID }}\n          AWS_SECRET",
        "AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPL3\n          AWS_SECRET",
        "name: pulumi preview with the policy pack",
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
        "          venv/bin/python scripts/app_deploy.py deploy",
        "          set -x; venv/bin/python scripts/app_deploy.py deploy",
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
        "a-tag",
        check_pinned,
        "app-deploy.yml",
        "deploy-app.yml@0000000000000000000000000000000000000000 # v1.0.0",
        "deploy-app.yml@v1.0.0",
        "",
        "is not pinned to a commit",
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
        "test: issues: write, which none of its steps uses",
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
        "deployments-for-a-job-that-records-none",
        check_permissions,
        "update.yml",
        "      contents: read\n",
        "      contents: read\n      deployments: write\n",
        "name: plan (prod)",
        "plan-prod: deployments: write, which none of its steps uses",
    ),
    (
        "a-caller-that-grants-too-little",
        check_permissions,
        "app-operate.yml",
        "      deployments: write\n",
        "",
        "",
        "grants no deployments: write, which operate-app.yml staging needs",
    ),
    (
        "comment-for-a-job-that-doesnt",
        check_permissions,
        "update.yml",
        "      contents: read\n",
        "      contents: read\n      pull-requests: write\n",
        "name: update (staging)",
        "staging: pull-requests: write, which none of its steps uses",
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
