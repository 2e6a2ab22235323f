"""The app repository's deploy jobs, run: deploy-app.yml's deploys and operate-app.yml's
rollback, redeploy and promote, each step's script run as the runner runs it, its `env:`
evaluated as GitHub would for the job's environment. Each GitHub environment holds its
own stack's deploy material, so a job that runs in the wrong environment reaches the
wrong hosts here too: staging's and prod's hosts are two stand-in fleets behind the
deploy command's stand-in (tests/app_fleet.py), GitHub's deployments API a stand-in on
loopback. What the scripts do in detail is tests/test_app_deploy.py's; here: the release
that reaches each stack, where it is read from, and the record each run leaves."""

from __future__ import annotations

import pytest

from app_fleet import (
    COMMIT_A,
    COMMIT_C,
    DIGEST_A,
    IMAGE,
    TOKEN,
    A,
    B,
    C,
    Fleet,
    GitHubDeployments,
    material,
)
from harness import ROOT
from workflow_files import (
    Doc,
    StepRun,
    broken,
    environment,
    everything,
    expand,
    named,
    run_script,
    step,
    step_env,
)

DOCS = everything()
STAGING_URL, PROD_URL = "https://api.staging.matra.io", "https://api.matra.io"


@pytest.fixture
def app(tmp_path):
    """Staging's hosts run A (C before it), prod's run B (C before it); GitHub."""
    with GitHubDeployments() as github:
        yield (
            {
                "staging": Fleet(
                    tmp_path / "staging", "staging", runs=A, previous=C, url=STAGING_URL
                ),
                "production": Fleet(tmp_path / "prod", "prod", runs=B, previous=C, url=PROD_URL),
            },
            github,
        )


def run_step(
    doc: Doc,
    job_id: str,
    name: str,
    app: tuple[dict[str, Fleet], GitHubDeployments],
    context: dict[str, str],
) -> StepRun:
    """One step of a job, in the job's environment: its vars and secrets are that
    environment's stack's deploy material."""
    fleets, github = app
    job = doc.jobs()[job_id]
    fleet = fleets[str(environment(job))]
    held = material(fleet.stack, fleet.url)
    scope = {f"vars.{k}": v for k, v in held.items() if k != "DEPLOY_SSH_KEY"}
    scope["secrets.DEPLOY_SSH_KEY"] = held["DEPLOY_SSH_KEY"]
    scope["github.token"] = TOKEN
    step_ = step(doc, job_id, name)
    runner = {k: v for k, v in fleet.env().items() if k not in held}
    runner |= {k: v for k, v in github.env().items() if k != "GITHUB_TOKEN"}
    return run_script(step_["run"], {**runner, **step_env(step_, {**scope, **context})}, cwd=ROOT)


def job_outputs(doc: Doc, job_id: str, steps: dict[str, dict[str, str]]) -> dict[str, str]:
    """``needs.<job_id>.outputs.*`` from what its steps wrote to $GITHUB_OUTPUT."""
    context = {f"steps.{s}.outputs.{k}": v for s, found in steps.items() for k, v in found.items()}
    declared = doc.jobs()[job_id].get("outputs") or {}
    return {f"needs.{job_id}.outputs.{k}": expand(str(v), context) for k, v in declared.items()}


def records(github: GitHubDeployments) -> list[tuple[str, str, list[str], str]]:
    """(environment, ref, the states it went through, its environment_url) per record."""
    return [
        (
            r["environment"],
            r["ref"],
            [s["state"] for s in r["states"]],
            r["states"][-1].get("environment_url", ""),
        )
        for r in github.records()
    ]


# -- deploy-app.yml: a push deploys the build's digest, staging then prod -----------------


def _push(docs: list[Doc], app, image: str = IMAGE) -> tuple[StepRun, StepRun | None]:
    deploy = named(docs, "deploy-app.yml")
    built = run_script(
        step(deploy, "build", "release")["run"],
        {"IMAGE": image, "DIGEST": DIGEST_A, "GITHUB_SHA": COMMIT_A},
    )
    assert built.returncode == 0, built.stdout
    context = {"inputs.image": image, **job_outputs(deploy, "build", {"release": built.outputs})}
    staging = run_step(deploy, "staging", "Deploy", app, context)
    if staging.returncode != 0:
        return staging, None
    return staging, run_step(deploy, "prod", "Deploy", app, context)


def test_a_push_deploys_the_builds_digest_to_staging_then_prod_each_recorded(app):
    fleets, github = app
    fleets["staging"].set_hosts(dict.fromkeys(fleets["staging"].hosts(), C))
    staging, prod = _push(DOCS, app)
    assert staging.returncode == 0 and prod is not None and prod.returncode == 0, staging.stdout
    assert fleets["staging"].deploys() == [["--release", A]]
    assert fleets["production"].deploys() == [["--release", A]]
    assert fleets["staging"].runs() == fleets["production"].runs() == {A}
    assert records(github) == [
        ("staging", COMMIT_A, ["in_progress", "success"], STAGING_URL),
        ("production", COMMIT_A, ["in_progress", "success"], PROD_URL),
    ]
    assert f"prod: deploy {A}: done; runs {A} (was {B})" in prod.summary


def test_a_build_of_another_image_than_the_stacks_is_never_deployed(app):
    fleets, github = app
    staging, prod = _push(DOCS, app, image="registry.digitalocean.com/matra/other")
    assert staging.returncode == 1 and prod is None
    assert "this stack's hosts run registry.digitalocean.com/matra/api" in staging.stdout
    assert fleets["staging"].deploys() == [] and github.calls == []


def test_the_push_check_fails_on_a_broken_copy(app):
    # The deploy by tag: whatever the tag points at by then, not the digest built.
    docs = broken(
        DOCS,
        "deploy-app.yml",
        'deploy --release "$RELEASE"',
        'deploy --release "${RELEASE%@*}"',
        after="name: deploy (prod)",
    )
    fleets, _ = app
    _push(docs, app)
    assert fleets["production"].runs() != {A}


# -- operate-app.yml --------------------------------------------------------------------


def _check(docs: list[Doc], stack: str, action: str, release: str = "") -> int:
    operate = named(docs, "operate-app.yml")
    script = step(operate, "check", "The stack")["run"]
    return run_script(script, {"STACK": stack, "ACTION": action, "RELEASE": release}).returncode


@pytest.mark.parametrize(
    ("stack", "action", "release", "ok"),
    [
        ("staging", "rollback", "", True),
        ("staging", "redeploy", "", True),
        ("prod", "rollback", "", True),
        ("prod", "redeploy", "", True),
        ("prod", "promote", "", True),
        ("prod", "promote", COMMIT_A, True),
        ("staging", "promote", "", False),  # promote is to prod
        ("dev", "rollback", "", False),
        ("prod", "deploy", "", False),
        ("prod", "rollback", COMMIT_A, False),  # a release is for promote alone
    ],
)
def test_the_request_is_checked_before_any_environment_is_entered(stack, action, release, ok):
    assert (_check(DOCS, stack, action, release) == 0) is ok


def test_the_request_check_fails_on_a_broken_copy():
    docs = broken(DOCS, "operate-app.yml", "staging/promote) echo", "staging/promote) ;; x) echo")
    assert _check(docs, "staging", "promote") == 0


def _operate(
    docs: list[Doc], app, stack: str, action: str, release: str = ""
) -> dict[str, StepRun]:
    """The jobs of one operate run that the request reaches, in their order."""
    operate = named(docs, "operate-app.yml")
    context = {"inputs.stack": stack, "inputs.action": action, "inputs.release": release}
    done: dict[str, StepRun] = {}
    if action == "promote":
        read = run_step(operate, "staging-release", "The release", app, context)
        done["staging-release"] = read
        if read.returncode != 0:
            return done
        context |= job_outputs(operate, "staging-release", {"read": read.outputs})
    else:
        context["needs.staging-release.outputs.release"] = ""
    job = "prod" if stack == "prod" else "staging"
    done[job] = run_step(operate, job, "Roll back", app, context)
    return done


def test_promote_deploys_to_prod_what_stagings_hosts_run_read_from_them(app):
    fleets, github = app
    done = _operate(DOCS, app, "prod", "promote")
    assert all(run.returncode == 0 for run in done.values()), {k: v.stdout for k, v in done.items()}
    assert fleets["production"].deploys() == [["--release", A]]
    assert fleets["production"].runs() == {A}
    assert fleets["staging"].deploys() == []  # staging was read, not touched
    assert {c["args"][-2:] == ["--status", "--json"] for c in fleets["staging"].calls()} == {True}
    ((environment_, _, states, url),) = records(github)
    assert (environment_, states, url) == ("production", ["in_progress", "success"], PROD_URL)
    assert github.records()[0]["payload"] == {
        "release": A,
        "action": "promote",
        "stack": "prod",
        "before": B,
    }


@pytest.mark.parametrize("expect", [COMMIT_A, DIGEST_A, A])
def test_promote_goes_on_when_staging_runs_what_the_operator_expects(app, expect):
    fleets, _ = app
    done = _operate(DOCS, app, "prod", "promote", expect)
    assert done["prod"].returncode == 0 and fleets["production"].runs() == {A}


def test_promote_stops_when_staging_runs_something_else_than_expected(app):
    fleets, github = app
    done = _operate(DOCS, app, "prod", "promote", COMMIT_C)
    assert list(done) == ["staging-release"] and done["staging-release"].returncode == 1
    assert f"the hosts run {A}, not {COMMIT_C}" in done["staging-release"].stdout
    assert fleets["production"].deploys() == [] and github.calls == []


def test_promote_stops_when_stagings_hosts_disagree(app):
    fleets, _ = app
    first, second = fleets["staging"].hosts()
    fleets["staging"].set_hosts({first: A, second: C})
    done = _operate(DOCS, app, "prod", "promote")
    assert done["staging-release"].returncode == 1
    assert "the hosts do not all run one release" in done["staging-release"].stdout
    assert fleets["production"].deploys() == []


def test_the_promote_check_fails_on_a_broken_copy(app):
    # Staging's release read in prod's environment: prod's own hosts, promoted to themselves.
    docs = broken(
        DOCS,
        "operate-app.yml",
        "      name: staging\n",
        "      name: production\n",
        after="name: read what staging runs",
    )
    fleets, _ = app
    _operate(docs, app, "prod", "promote")
    assert fleets["production"].runs() != {A}


@pytest.mark.parametrize(
    ("stack", "environment_"), [("staging", "staging"), ("prod", "production")]
)
def test_rollback_puts_every_host_of_that_stack_back_and_is_recorded_there(
    app, stack, environment_
):
    fleets, github = app
    before = fleets[environment_].runs()
    done = _operate(DOCS, app, stack, "rollback")
    assert done[list(done)[-1]].returncode == 0
    assert fleets[environment_].deploys() == [["--rollback"]] and fleets[environment_].runs() == {C}
    other = fleets["production" if environment_ == "staging" else "staging"]
    assert other.deploys() == []
    assert before != {C}
    (record,) = github.records()
    assert record["environment"] == environment_ and record["payload"]["action"] == "rollback"


@pytest.mark.parametrize(
    ("stack", "environment_", "runs"), [("staging", "staging", A), ("prod", "production", B)]
)
def test_redeploy_deploys_again_what_the_stacks_hosts_run(app, stack, environment_, runs):
    fleets, github = app
    _operate(DOCS, app, stack, "redeploy")
    assert fleets[environment_].deploys() == [["--release", runs]]
    assert [r["environment"] for r in github.records()] == [environment_]


def test_operate_deploys_only_after_the_request_was_checked():
    operate = named(DOCS, "operate-app.yml")
    for job_id, job in operate.jobs().items():
        if job_id != "check":
            assert "check" in (job.get("needs") or []), f"{job_id} runs before the check"
