"""The workflows run: each job of pull-request.yml and update.yml in the order of its
`needs`, its `if:`s evaluated and its `run:` steps run as the runner runs them
(tests/workflow_files.py: run_workflow), with stand-ins for `pulumi` and the Python
scripts the steps call that record how they were called. What a user would notice:

- a pull request previews every shipped stack with the policy pack and that stack's own
  policy config, in the stack's preview environment (a fork or Dependabot: offline),
  comments even when the preview failed, and the `previews` check fails on any failure;
- a push to main updates staging, then prod, each applying exactly the plan a preview
  of that commit saved, with the pack; a failure stops what comes after;
- the scripts the workflows decide things in (who can read the environments, the
  release a build hands on, whether a plan is the approved one, whether a restored venv
  is used) give the right answer on each case.

Three rules hold over every Actions file: no secret value written in it, every action
pinned to a commit, a job asks for a write permission only where a step uses it. Which
job can read which credential is tests/test_threat_model.py's; actionlint and shellcheck
are tests/test_actionlint.py's; the app's deploys are run in tests/test_app_workflows.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import ROOT, project_stacks
from workflow_files import (
    Doc,
    JobRun,
    commands,
    everything,
    named,
    pulumi_commands,
    run_script,
    run_workflow,
    step,
)

DOCS = everything()
STACKS = list(project_stacks())

# -- stand-ins for the tools the steps call ----------------------------------------------

STAND_IN = """#!{python}
# A stand-in that records its call (args, --stack, its job, whether the policy config it
# names exists, the plan it saves or applies) and fails as $FAIL says ("<verb> <stack>=<code>"
# lines; <verb> a pulumi command or a script's name).
import json, os, pathlib, sys
tool, args = pathlib.Path(sys.argv[0]).name, sys.argv[1:]
if tool == "python3" and args[:1] == ["-c"]:
    os.execv({python!r}, [{python!r}, *args])
def flag(name):
    return args[args.index(name) + 1] if name in args else None
verb = args[0] if tool == "pulumi" else pathlib.Path(args[0]).name  # or the script's name
stack = flag("--stack")
entry = {{"tool": tool, "args": args, "verb": verb, "stack": stack}}
entry["job"] = os.environ["GITHUB_JOB"]
config = flag("--policy-pack-config")
if config:
    entry["config exists"] = pathlib.Path(config).is_file()
if flag("--save-plan"):
    entry["saved"] = f"the plan of {{stack}} made at {{os.getpid()}}"
    pathlib.Path(flag("--save-plan")).write_text(entry["saved"])
if flag("--plan"):
    plan = pathlib.Path(flag("--plan"))
    entry["plan"] = plan.read_text() if plan.is_file() else None
if flag("--out"):
    pathlib.Path(flag("--out")).write_text(json.dumps({{"apiUrl": f"https://{{stack}}.example"}}))
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
for line in os.environ.get("FAIL", "").splitlines():
    what, _, code = line.rpartition("=")
    if what == f"{{verb}} {{stack}}":
        sys.exit(int(code))
if tool == "pulumi" and flag("--plan") and entry["plan"] is None:
    sys.exit("error: no plan file")
if verb == "up" and "--yes" not in args:
    sys.exit("error: --yes must be passed in to proceed when running in non-interactive mode")
"""


class Tools:
    """A checkout (the stack files, policies/ and scripts/) with stand-ins for pulumi,
    python3 and venv/bin/python; ``calls()`` lists what they were asked."""

    def __init__(self, tmp: Path) -> None:
        self.checkout, self.bin, self.log = tmp / "checkout", tmp / "bin", tmp / "calls.jsonl"
        (self.checkout / "venv" / "bin").mkdir(parents=True)
        self.bin.mkdir()
        for item in [*ROOT.glob("Pulumi*.yaml"), ROOT / "policies", ROOT / "scripts"]:
            (self.checkout / item.name).symlink_to(item)
        script = STAND_IN.format(python=sys.executable)
        for tool in (self.bin / "pulumi", self.bin / "python3", self.checkout / "venv/bin/python"):
            tool.write_text(script)
            tool.chmod(0o755)

    def run(self, name: str, context: dict[str, str], fail: str = "", **given: str):
        return run_workflow(
            named(DOCS, name),
            context,
            cwd=self.checkout,
            path=[self.bin],
            given=given,
            env={"STAND_IN_LOG": str(self.log), "FAIL": fail},
        )

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        found = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [c for c in found if tool is None or c["tool"] == tool]


@pytest.fixture
def tools(tmp_path):
    return Tools(tmp_path)


def result(runs: dict[str, list[JobRun]], job_id: str) -> str:
    legs = runs[job_id]
    if any(leg.result == "failure" for leg in legs):
        return "failure"
    return legs[0].result


# -- a pull request ----------------------------------------------------------------------

HERE = {
    "github.repository": "matra-io/matra-infra",
    "github.event.pull_request.head.repo.full_name": "matra-io/matra-infra",
    "github.event.pull_request.number": "7",
    "github.actor": "alice",
}
FORK = {**HERE, "github.event.pull_request.head.repo.full_name": "someone/matra-infra"}


def test_a_pull_request_previews_every_stack_with_its_own_policy_config(tools):
    runs = tools.run("pull-request.yml", HERE, test="success")
    previews = tools.calls("pulumi")
    assert sorted(c["stack"] for c in previews) == sorted(STACKS)
    for call in previews:
        stack = call["stack"]
        assert call["args"][:1] == ["preview"]
        assert call["args"][call["args"].index("--policy-pack") + 1] == "policies"
        assert call["args"][call["args"].index("--policy-pack-config") + 1] == (
            f"policies/config/{stack}.json"
        )
        assert call["config exists"], f"no policy config for {stack}"
    assert sorted(leg.environment or "" for leg in runs["preview"]) == sorted(
        f"preview-{s}" for s in STACKS
    )
    comments = [c["stack"] for c in tools.calls("python3") if c["verb"] == "pr_comment.py"]
    assert sorted(comments) == sorted(STACKS)
    assert runs["offline-preview"][0].result == "skipped"
    assert result(runs, "previews") == "success"


def test_a_failed_preview_is_commented_and_fails_the_check(tools):
    runs = tools.run("pull-request.yml", HERE, fail="preview dev=255", test="success")
    failed = [leg for leg in runs["preview"] if leg.result == "failure"]
    assert [leg.environment for leg in failed] == ["preview-dev"]
    # Every other stack is still previewed and reports its own result.
    assert sorted(c["stack"] for c in tools.calls("pulumi")) == sorted(STACKS)
    comment = [
        c for c in tools.calls("python3") if c["verb"] == "pr_comment.py" and c["stack"] == "dev"
    ]
    assert len(comment) == 1 and "255" in comment[0]["args"]
    assert result(runs, "previews") == "failure"


def test_every_pull_request_and_every_push_to_main_starts_them():
    """A path filter would leave a required check unreported on some pull requests."""
    on = named(DOCS, "pull-request.yml").data["on"]
    assert not {"paths", "paths-ignore"} & set(on["pull_request"] or {})
    assert named(DOCS, "update.yml").data["on"] == {"push": {"branches": ["main"]}}


def test_the_test_job_runs_the_test_suite(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text('#!/bin/sh\necho "sudo $*"\n')
    (bin_dir / "sudo").chmod(0o755)
    script = step(named(DOCS, "pull-request.yml"), "test", "make test")["run"]
    done = run_script(script, {"RESTORED": "false"}, cwd=tmp_path, path=[bin_dir])
    assert done.returncode == 0 and done.stdout.rstrip().endswith(" .ci/run"), done.stdout


def test_failed_tests_fail_the_check_with_no_preview(tools):
    runs = tools.run("pull-request.yml", HERE, test="failure")
    assert tools.calls("pulumi") == []
    assert result(runs, "previews") == "failure"


@pytest.mark.parametrize("fail", ["", "offline_preview.py dev=1"], ids=["passes", "fails"])
def test_a_fork_previews_every_stack_offline_and_reads_no_environment(tools, fail):
    runs = tools.run("pull-request.yml", FORK, fail=fail, test="success")
    assert tools.calls("pulumi") == []
    assert runs["preview"][0].result == "skipped"
    offline = [c["stack"] for c in tools.calls("python") if c["verb"] == "offline_preview.py"]
    assert sorted(offline) == sorted(STACKS)
    assert all(leg.environment is None for leg in runs["offline-preview"])
    assert result(runs, "previews") == ("failure" if fail else "success")


def _credentials(head: str, actor: str) -> str:
    done = run_script(
        step(named(DOCS, "pull-request.yml"), "stacks", "credentials")["run"],
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
    assert _credentials(head, actor) == expected


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
    done = run_script(
        step(named(DOCS, "pull-request.yml"), "previews", "Every shipped stack")["run"],
        {"STACKS": stacks, "CREDENTIALS": credentials, "PREVIEW": preview, "OFFLINE": offline},
    )
    assert (done.returncode == 0) is passes


# -- a push to main ----------------------------------------------------------------------

PUSH = {"github.repository_owner": "matra-io", "github.sha": "3f9c2ab" + "0" * 33}


def _flag(call: dict[str, Any], name: str) -> str | None:
    args = call["args"]
    return args[args.index(name) + 1] if name in args else None


def test_a_push_updates_staging_then_prod_each_with_the_plan_its_preview_made(tools):
    runs = tools.run("update.yml", PUSH)
    calls = tools.calls("pulumi")
    assert [(c["verb"], c["stack"], c["job"]) for c in calls] == [
        ("preview", "staging", "staging"),
        ("up", "staging", "staging"),
        ("preview", "prod", "plan-prod"),
        ("up", "prod", "prod"),
    ]
    jobs = named(DOCS, "update.yml").jobs()
    for preview, up in (calls[:2], calls[2:]):
        stack = up["stack"]
        assert up["plan"] == preview["saved"]
        assert "--refresh" in preview["args"] and "--refresh" in up["args"]
        # One update of a stack at a time: a newer run waits, never cancels one in flight.
        concurrency = jobs[up["job"]]["concurrency"]
        assert concurrency == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}
        for call in (preview, up):
            assert _flag(call, "--policy-pack") == "policies"
            assert _flag(call, "--policy-pack-config") == f"policies/config/{stack}.json"
            assert call["config exists"]
    # prod's plan is made before the approval, outside production; applied in production.
    assert [leg.environment for leg in runs["plan-prod"]] == ["plan-prod"]
    assert [leg.environment for leg in runs["prod"]] == ["production"]
    assert [leg.environment for leg in runs["staging"]] == ["staging"]
    # The stack outputs and material reached the app repository's environment of each.
    published = [c for c in tools.calls("python") if c["verb"] == "deploy_material.py"]
    assert [_flag(c, "--environment") for c in published] == ["staging", "production"]


@pytest.mark.parametrize(
    ("fail", "ran"),
    [
        ("up staging=1", [("preview", "staging"), ("up", "staging")]),
        ("preview staging=255", [("preview", "staging")]),
        ("preview prod=255", [("preview", "staging"), ("up", "staging"), ("preview", "prod")]),
    ],
    ids=["staging-up-failed", "staging-plan-failed", "prod-plan-failed"],
)
def test_a_failure_stops_every_update_after_it(tools, fail, ran):
    runs = tools.run("update.yml", PUSH, fail=fail)
    assert [(c["verb"], c["stack"]) for c in tools.calls("pulumi")] == ran
    assert runs["prod"][0].result == "skipped"


def test_no_other_workflow_changes_a_stack():
    for doc in DOCS:
        for job_id, step_ in doc.steps():
            for verb in ("up", "update", "destroy", "refresh", "import", "cancel"):
                if pulumi_commands(step_, verb):
                    assert doc.name == "update.yml", f"{doc.path} {job_id}: pulumi {verb}"


def _plan_check(sha256: str, content: bytes, tmp: Path) -> int:
    script = step(named(DOCS, "update.yml"), "prod", "Check it is that plan")["run"]
    (tmp / "plan").mkdir(exist_ok=True)
    (tmp / "plan" / "plan.json").write_bytes(content)
    return run_script(script.replace("$RUNNER_TEMP", str(tmp)), {"SHA256": sha256}).returncode


def test_update_prod_applies_only_the_plan_file_plan_prod_made(tmp_path):
    plan = b'{"resourcePlans": {}}'
    good = hashlib.sha256(plan).hexdigest()
    assert _plan_check(good, plan, tmp_path) == 0
    assert _plan_check(good, plan + b" ", tmp_path) == 1  # another plan, same name
    assert _plan_check("", plan, tmp_path) == 1  # plan (prod) made none


# -- the app's build and deploy jobs ---------------------------------------------------------


def _release(digest: str) -> tuple[int, str]:
    done = run_script(
        step(named(DOCS, "deploy-app.yml"), "build", "release")["run"],
        {
            "IMAGE": "registry.digitalocean.com/matra/api",
            "DIGEST": digest,
            "GITHUB_SHA": "3f9c2ab" + "0" * 33,
        },
    )
    return done.returncode, done.outputs.get("release", "")


def test_the_build_hands_on_its_tag_pinned_to_the_digest_the_push_got():
    digest = "sha256:" + "ab" * 32
    assert _release(digest) == (0, f"3f9c2ab{'0' * 33}@{digest}")
    for bad in ("", "sha256:abc", "latest"):
        assert _release(bad)[0] == 1, bad


@pytest.mark.parametrize(("staging", "prod"), [("success", "runs"), ("failure", "skipped")])
def test_the_app_reaches_prod_only_after_staging_deployed_it(staging, prod):
    """deploy-app.yml's prod job, decided as GitHub decides it from the jobs it needs
    (what the deploys do is tests/test_app_workflows.py's)."""
    runs = run_workflow(
        named(DOCS, "deploy-app.yml"),
        {},
        cwd=ROOT,
        path=[],
        given={"build": "success", "staging": staging},
        only=set(),
    )
    assert ("skipped" if runs["prod"][0].result == "skipped" else "runs") == prod


def test_every_app_deploy_is_recorded_once_by_the_deploy_script():
    """GitHub records a deployment for a job in an environment unless told not to; the
    app's deploys are recorded by scripts/app_deploy.py, with their release."""
    for doc in DOCS:
        for job_id, job in doc.jobs().items():
            deploys = [
                words
                for s in job.get("steps") or []
                for words in commands(s.get("run") or "")
                if words[1:3] == ["scripts/app_deploy.py", "deploy"]
            ]
            if deploys:
                assert job["environment"].get("deployment") is False, f"{doc.name} {job_id}"


def test_an_app_caller_runs_the_deploy_command_of_the_commit_it_calls():
    for caller in (named(DOCS, "app-deploy.yml"), named(DOCS, "app-operate.yml")):
        (call,) = caller.jobs().values()
        ref = call["uses"].rsplit("@", 1)[1]
        assert call["with"]["infra-ref"] == ref, caller.name


# -- the restored virtualenv ---------------------------------------------------------------


def _restored(lock: str, tmp: Path) -> tuple[int, bool, str]:
    """The shared action's venv step in a checkout whose venv is this one (restored from
    a cache) and whose lock is ``lock``: its exit code, whether it kept the venv, its
    output. `make` is a stand-in that records its call."""
    action = named(DOCS, "action.yml")
    (script,) = [
        s["run"] for s in action.data["runs"]["steps"] if "make venv" in (s.get("run") or "")
    ]
    tmp.mkdir()
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
    code, kept, output = _restored(lock, tmp_path / "a")
    assert (code, kept) == (0, True) and "make venv" in output
    other = lock.replace("pytest==9.2.0", "pytest==9.1.0", 1)
    assert other != lock
    code, kept, output = _restored(other, tmp_path / "b")
    assert (code, kept) == (0, False), output  # rebuilt
    assert "is not requirements.txt's; building it again" in output


# -- rules over every Actions file -----------------------------------------------------------

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


def inline_secrets(docs: list[Doc]) -> list[str]:
    """A credential written in a file, a secret-looking setting not read from the secret
    store, a secret expanded into a script's text (it would reach the log), xtrace."""
    problems: list[str] = []
    for doc in docs:
        match = CREDENTIAL.search(doc.text)
        if match:
            problems.append(f"{doc.path}: a credential in the file ({match[0][:12]})")
        found: list[str] = []
        _walk(doc.data, "", found)
        problems += [f"{doc.path}: {p}" for p in found]
        for job_id, step_ in doc.steps():
            script = step_.get("run") or ""
            if "secrets." in script:
                problems.append(f"{doc.path} {job_id}: a secret in a script's text")
            if re.search(r"set -[a-z]*x|xtrace", script):
                problems.append(f"{doc.path} {job_id}: xtrace echoes")
    return problems


SHA = re.compile(r"^[0-9a-f]{40}$")


def unpinned(docs: list[Doc]) -> list[str]:
    """Every action and reusable workflow pinned to a commit, its release in a comment."""
    problems = []
    for doc in docs:
        used = [step_["uses"] for _, step_ in doc.steps() if "uses" in step_]
        used += [job["uses"] for job in doc.jobs().values() if "uses" in job]
        for uses in used:
            if uses.startswith("./"):
                continue  # this repository's own action, at the checked-out commit
            if not SHA.match(uses.rpartition("@")[2]):
                problems.append(f"{doc.path}: {uses} is not pinned to a commit")
                continue
            lines = [line for line in doc.text.splitlines() if uses in line]
            if not all(re.search(r"#\s*v\d+\.\d+\.\d+\s*$", line) for line in lines):
                problems.append(f"{doc.path}: {uses} without its release tag in a comment")
    return problems


USES = {
    "pull-requests": "scripts/pr_comment.py",
    "issues": "scripts/drift_issue.py",
    "deployments": "scripts/app_deploy.py",
}
"""A write permission, and the script that needs it: a job asks for one only if it runs
that script."""


def excess_permissions(docs: list[Doc]) -> list[str]:
    """Read-only by default; a job's own permissions, a write scope only where one of its
    steps (or the workflow it calls) uses it, and a caller grants what it calls needs
    (GitHub refuses the run otherwise)."""
    problems = []
    for doc in docs:
        if doc.is_action:
            continue
        if doc.data.get("permissions") != {"contents": "read"}:
            problems.append(f"{doc.path}: workflow permissions {doc.data.get('permissions')}")
        for job_id, job in doc.jobs().items():
            granted = job.get("permissions")
            if not isinstance(granted, dict):
                problems.append(f"{doc.path} {job_id}: permissions {granted}, not its own")
                continue
            runs = " ".join(s.get("run") or "" for s in job.get("steps") or [])
            if "uses" in job:
                called = named(docs, Path(str(job["uses"]).split("@")[0]).name)
                runs = " ".join(s.get("run") or "" for _, s in called.steps())
                for other_id, other in called.jobs().items():
                    for scope, level in (other.get("permissions") or {}).items():
                        if granted.get(scope) not in (level, "write"):
                            problems.append(
                                f"{doc.path} {job_id}: grants no {scope}: {level}, which "
                                f"{called.name} {other_id} needs"
                            )
            for scope, level in granted.items():
                if level == "read" and scope == "contents":
                    continue
                if scope not in USES or USES[scope] not in runs:
                    problems.append(
                        f"{doc.path} {job_id}: {scope}: {level}, which none of its steps uses"
                    )
    return problems


def test_every_actions_file_keeps_the_rules():
    assert inline_secrets(DOCS) == []
    assert unpinned(DOCS) == []
    assert excess_permissions(DOCS) == []


BAD = Doc(
    ".github/workflows/bad.yml",
    """on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
      issues: write
    steps:
      - uses: actions/checkout@v6
      - uses: actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae
      - uses: docker/login-action@0000000000000000000000000000000000000000 # v3.0.0
        with:
          password: hunter2-but-longer
      - env:
          AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPL3
        run: |
          set -x
          DIGITALOCEAN_TOKEN="${{ secrets.DIGITALOCEAN_TOKEN }}" pulumi preview
  call:
    uses: CALLED # v1.0.0
    permissions:
      contents: read
  loose:
    runs-on: ubuntu-24.04
    steps:
      - run: "true"
""".replace("CALLED", "matra-io/matra-infra/.github/workflows/deploy-app.yml@" + "0" * 40),
)


def test_each_rule_finds_what_breaks_it():
    docs = [BAD, named(DOCS, "deploy-app.yml")]
    assert inline_secrets([BAD]) == [
        f"{BAD.path}: a credential in the file (AKIAIOSFODNN)",
        f"{BAD.path}: with.password is not from secrets.*: hunter2-but-longer",
        f"{BAD.path}: env.AWS_ACCESS_KEY_ID is not from secrets.*: AKIAIOSFODNN7EXAMPL3",
        f"{BAD.path} build: a secret in a script's text",
        f"{BAD.path} build: xtrace echoes",
    ]
    assert unpinned([BAD]) == [
        f"{BAD.path}: actions/checkout@v6 is not pinned to a commit",
        f"{BAD.path}: actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae without its "
        "release tag in a comment",
    ]
    found = excess_permissions(docs)
    assert f"{BAD.path}: workflow permissions write-all" in found
    assert f"{BAD.path} build: issues: write, which none of its steps uses" in found
    assert f"{BAD.path} call: grants no deployments: write, which deploy-app.yml staging needs" in (
        found
    )
    assert f"{BAD.path} loose: permissions None, not its own" in found
