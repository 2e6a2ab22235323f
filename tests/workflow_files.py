"""The GitHub Actions files of this repository, read as data for the tests: the workflows
(.github/workflows/), the shared action (.github/actions/), and the app repository's
callers (examples/app-*.yml).

A ``Doc`` is one file (its text and its YAML); ``Doc.replaced(old, new)`` is a broken copy
for a test that shows a check can fail. The readers answer what the checks ask: the jobs
and their steps, the commands a ``run:`` block runs with its step's environment resolved,
the check names a workflow reports, the secrets and variables it reads; and a step's
script run as the runner runs it, its ``env:`` evaluated in a given context.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness import ROOT

WORKFLOW_DIR = ROOT / ".github" / "workflows"
ACTION_DIR = ROOT / ".github" / "actions"
EXAMPLE_DIR = ROOT / "examples"
EXAMPLE = EXAMPLE_DIR / "app-deploy.yml"
REPOSITORIES = {"matra-infra": "infra", "matra-app": "app"}
"""The two repositories the files run in (GitHub's name -> the name the tests give it)."""

_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_VARIABLE = re.compile(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)")
_ENV = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True)
class Doc:
    """One Actions file: where it lives (relative to the repository) and its text."""

    path: str
    text: str

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        loaded = yaml.load(self.text, Loader=yaml.CSafeLoader)
        # YAML 1.1 reads the key `on` as true.
        if True in loaded:
            loaded["on"] = loaded.pop(True)
        return loaded

    def replaced(self, old: str, new: str, after: str = "") -> Doc:
        """A copy with ``old`` replaced by ``new``: its one occurrence, or with ``after``
        (which must occur once) its first occurrence after that."""
        start = 0
        if after:
            assert self.text.count(after) == 1, f"{self.path}: {after!r} is not unique"
            start = self.text.index(after)
        elif self.text.count(old) != 1:
            raise AssertionError(f"{self.path}: {old!r} occurs {self.text.count(old)}x")
        at = self.text.find(old, start)
        assert at >= 0, f"{self.path}: no {old!r}"
        return Doc(self.path, self.text[:at] + new + self.text[at + len(old) :])

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def is_action(self) -> bool:
        return "runs" in self.data

    @property
    def is_reusable(self) -> bool:
        """A workflow other repositories call (on: workflow_call)."""
        return "workflow_call" in (self.data.get("on") or {})

    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.data.get("jobs") or {}

    def steps(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(job id, step) for every step; a composite action's job id is ""."""
        if self.is_action:
            for step in self.data["runs"].get("steps") or []:
                yield "", step
            return
        for job_id, job in self.jobs().items():
            for step in job.get("steps") or []:
                yield job_id, step


def read(path: Path) -> Doc:
    return Doc(str(path.relative_to(ROOT)), path.read_text())


def workflows() -> dict[str, Doc]:
    """This repository's workflows by file name."""
    return {p.name: read(p) for p in sorted(WORKFLOW_DIR.glob("*.yml"))}


def actions() -> dict[str, Doc]:
    """The local (composite) actions by directory name."""
    return {p.parent.name: read(p) for p in sorted(ACTION_DIR.glob("*/action.yml"))}


def example() -> Doc:
    return read(EXAMPLE)


def examples() -> dict[str, Doc]:
    """The app repository's callers (examples/app-*.yml) by file name."""
    return {p.name: read(p) for p in sorted(EXAMPLE_DIR.glob("app-*.yml"))}


def everything() -> list[Doc]:
    """Every Actions file this repository ships."""
    return [*workflows().values(), *actions().values(), *examples().values()]


def named(docs: list[Doc], name: str) -> Doc:
    (doc,) = [d for d in docs if d.name == name]
    return doc


def environment(job: dict[str, Any]) -> str | None:
    """The environment a job runs in (``environment: x`` or ``environment: {name: x}``)."""
    value = job.get("environment")
    return value.get("name") if isinstance(value, dict) else value


def broken(docs: list[Doc], name: str, old: str, new: str, after: str = "") -> list[Doc]:
    """``docs`` with one file (a workflow's file name, or an action's directory) broken:
    what a check must be shown to fail on."""
    return [
        d.replaced(old, new, after)
        if d.name == name or (d.is_action and Path(d.path).parent.name == name)
        else d
        for d in docs
    ]


# -- run blocks ---------------------------------------------------------------------------


def commands(script: str) -> list[list[str]]:
    """The simple commands of a ``run:`` block, one list of words each (continued lines
    joined, quotes removed; a pipeline or list is cut into its commands)."""
    return [list(words) for words in _commands(script)]


@functools.cache
def _commands(script: str) -> tuple[tuple[str, ...], ...]:
    found: list[tuple[str, ...]] = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
            lexer.whitespace_split = True
            words = list(lexer)
        except ValueError:
            continue
        current: list[str] = []
        for word in [*words, ";"]:
            if word and set(word) <= set("|&;"):
                if current:
                    found.append(tuple(current))
                current = []
            else:
                current.append(word)
    return tuple(found)


def resolve(word: str, env: dict[str, Any]) -> str:
    """A word with its $VAR / ${VAR} replaced from the step's ``env:`` (others kept)."""
    return _ENV.sub(lambda m: str(env.get(m[1], m[0])), word)


def pulumi_commands(step: dict[str, Any], subcommand: str) -> list[list[str]]:
    """Each `pulumi <subcommand> ...` the step runs, its words resolved against the
    step's environment."""
    env = step.get("env") or {}
    found = []
    for words in commands(step.get("run") or ""):
        if words[:2] == ["pulumi", subcommand]:
            found.append([resolve(w, env) for w in words])
    return found


def flag(words: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in a command's words."""
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


# -- what a workflow reports and reads ------------------------------------------------------


def check_names(doc: Doc, matrix_values: dict[str, list[str]]) -> set[str]:
    """The check each job reports: its name (its id without one), with a matrix leg's
    values substituted or appended as GitHub does. ``matrix_values`` gives the values of
    a matrix computed at run time (by the matrix variable)."""
    names = set()
    for job_id, job in doc.jobs().items():
        template = str(job.get("name", job_id))
        matrix = (job.get("strategy") or {}).get("matrix")
        if not matrix:
            names.add(template)
            continue
        (variable,) = [key for key in matrix if key not in ("include", "exclude")]
        values = matrix[variable]
        if isinstance(values, str):
            values = matrix_values[variable]
        for value in values:
            placeholder = re.compile(r"\$\{\{\s*matrix\." + variable + r"\s*\}\}")
            if placeholder.search(template):
                names.add(placeholder.sub(str(value), template))
            else:
                names.add(f"{template} ({value})")
    return names


def secrets_read(doc: Doc) -> set[str]:
    """Every ${{ secrets.X }} in the file."""
    return set(_SECRET.findall(doc.text))


def variables_read(doc: Doc) -> set[str]:
    """Every vars.X in the file's expressions."""
    return set(_VARIABLE.findall(doc.text))


def run_stacks_step(doc: Doc, cwd: Path) -> list[str]:
    """Run the pull-request workflow's stacks step in ``cwd`` as the runner would (bash
    -eo pipefail, $GITHUB_OUTPUT) and return the matrix it hands the preview job."""
    (step,) = [s for s in doc.jobs()["stacks"]["steps"] if s.get("id") == "list"]
    return _run_step(step["run"], cwd)


@dataclass(frozen=True)
class StepRun:
    """What a `run:` block did: its exit code, output, and what it wrote to $GITHUB_OUTPUT
    and $GITHUB_STEP_SUMMARY."""

    returncode: int
    stdout: str
    outputs: dict[str, str]
    summary: str


def run_script(
    script: str,
    env: dict[str, str],
    cwd: Path = ROOT,
    path: list[Path] | None = None,
    runner_temp: Path | None = None,
) -> StepRun:
    """Run a step's script as the runner does (bash -eo pipefail, $GITHUB_OUTPUT,
    $GITHUB_STEP_SUMMARY, $RUNNER_TEMP: the job's, or one of its own), with ``env`` as its
    step environment and ``path`` first on PATH."""
    with tempfile.TemporaryDirectory() as tmp:
        out, summary = Path(tmp) / "github_output", Path(tmp) / "summary"
        out.write_text("")
        summary.write_text("")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env={
                "PATH": ":".join(
                    [*map(str, path or []), str(Path(sys.executable).parent), os.environ["PATH"]]
                ),
                "GITHUB_OUTPUT": str(out),
                "GITHUB_STEP_SUMMARY": str(summary),
                "RUNNER_TEMP": str(runner_temp or tmp),
                **env,
            },
            capture_output=True,
            text=True,
            check=False,
        )
        outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        return StepRun(done.returncode, done.stdout + done.stderr, outputs, summary.read_text())


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(text: str, context: dict[str, str]) -> str:
    """``text`` with each ${{ expression }} replaced by its value in ``context`` (keyed by
    the expression: "vars.X", "secrets.X", "inputs.x", "needs.job.outputs.x", ...). An
    expression the context lacks fails the calling test, naming it."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in context, f"{text!r}: no value for ${{{{ {match[1]} }}}} in this run"
        return context[match[1]]

    return _EXPRESSION.sub(value, text)


def step_env(step_: dict[str, Any], context: dict[str, str]) -> dict[str, str]:
    """A step's ``env:``, its expressions evaluated in ``context``."""
    return {name: expand(str(value), context) for name, value in (step_.get("env") or {}).items()}


def step(doc: Doc, job_id: str, name: str) -> dict[str, Any]:
    """The step of ``job_id`` whose name starts with ``name`` (or whose id is ``name``)."""
    (found,) = [
        s
        for s in doc.jobs()[job_id]["steps"]
        if str(s.get("name", "")).startswith(name) or s.get("id") == name
    ]
    return found


@functools.cache
def _run_step(script: str, cwd: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "github_output"
        out.write_text("")
        subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            # python3 is this interpreter (the runner has its own): no shim to start.
            env={
                "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                "GITHUB_OUTPUT": str(out),
            },
            check=True,
            capture_output=True,
        )
        text = out.read_text()
    outputs = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return list(json.loads(outputs["stacks"]))


# -- a workflow run as the runner runs it --------------------------------------------------

_STATUS = re.compile(r"\b(always|success|failure|cancelled)\(\)")
_TOKEN = re.compile(
    r"\s*(always\(\)|success\(\)|failure\(\)|cancelled\(\)|'[^']*'|==|!=|&&|\|\||!|\(|\)"
    r"|[A-Za-z_][\w.-]*)"
)
_OPERATORS = {"==": "==", "!=": "!=", "&&": " and ", "||": " or ", "!": " not ", "(": "(", ")": ")"}


def evaluate(condition: str, context: dict[str, str], failed: bool) -> bool:
    """An ``if:`` as GitHub evaluates it, for the forms the workflows use: the status
    functions (none named means ``success() && ...``), ==, !=, &&, ||, !, quoted strings
    and context values (one the context lacks is '')."""
    text = condition.strip()
    whole = _EXPRESSION.fullmatch(text)
    text = (whole[1] if whole else text).strip()
    if not _STATUS.search(text):
        text = f"success() && ({text})"
    status = {"always()": True, "success()": not failed, "failure()": failed, "cancelled()": False}
    python, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match, f"{condition!r}: no reading of {text[pos:]!r}"
        token, pos = match[1], match.end()
        if token in status:
            python.append(repr(status[token]))
        elif token in _OPERATORS:
            python.append(_OPERATORS[token])
        elif token.startswith("'"):
            python.append(repr(token[1:-1]))
        else:
            python.append(repr(context.get(token, "")))
    # Only the literals and operators read above reach eval.
    return bool(eval("".join(python), {"__builtins__": {}}))


@dataclass
class JobRun:
    """One leg of a job: its result (success, failure, skipped or cancelled), the
    environment it ran in, and each step's name with its run (None: skipped, or an action
    stood in for)."""

    job_id: str
    result: str
    environment: str | None = None
    steps: list[tuple[str, StepRun | None]] = dataclasses.field(default_factory=list)
    outputs: dict[str, str] = dataclasses.field(default_factory=dict)


def stand_ins(doc: Doc) -> dict[str, str]:
    """A stand-in value for every secret and variable the file reads."""
    return {
        **{f"secrets.{name}": f"stand-in-{name}" for name in secrets_read(doc)},
        **{f"vars.{name}": f"stand-in-{name}" for name in variables_read(doc)},
        "github.token": "stand-in-github-token",
    }


def run_job(
    doc: Doc,
    job_id: str,
    context: dict[str, str],
    *,
    cwd: Path,
    path: list[Path],
    artifacts: Path,
    env: dict[str, str] | None = None,
) -> JobRun:
    """Run a job's steps in order as the runner does: each ``if:`` evaluated (a failed
    step fails the job and skips what follows unless its ``if:`` says otherwise), each
    ``env:`` evaluated in ``context`` and the outputs of the steps before it, one
    $RUNNER_TEMP for the job. Of the actions, upload- and download-artifact keep files in
    ``artifacts``; the others (checkout, setup, a token) are stood in for, as done."""
    job = doc.jobs()[job_id]
    ran = JobRun(job_id, "success")
    failed = False
    with tempfile.TemporaryDirectory() as temp:
        # A step output never written reads as ''.
        read = set(re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", json.dumps(job)))
        scope = {**stand_ins(doc), **context, "runner.temp": temp}
        scope |= {f"steps.{s}.outputs.{k}": "" for s, k in read}
        name = environment(job)
        ran.environment = expand(name, scope) if name else None
        for step_ in job.get("steps") or []:
            title = str(step_.get("name") or step_.get("uses") or step_["run"].split("\n")[0])
            if not evaluate(str(step_.get("if", "success()")), scope, failed):
                ran.steps.append((title, None))
                continue
            if "uses" in step_:
                ran.steps.append((title, None))
                failed |= not _action(step_, scope, artifacts)
                if step_.get("id"):  # a stood-in action's outputs: stand-ins too
                    scope |= {
                        f"steps.{s}.outputs.{k}": f"stand-in-{k}"
                        for s, k in read
                        if s == step_["id"]
                    }
                continue
            done = run_script(
                step_["run"],
                {
                    "GITHUB_JOB": job_id,
                    **(env or {}),
                    **{k: str(v) for k, v in (doc.data.get("env") or {}).items()},
                    **step_env(step_, scope),
                },
                cwd=cwd,
                path=path,
                runner_temp=Path(temp),
            )
            ran.steps.append((title, done))
            if step_.get("id"):
                scope |= {f"steps.{step_['id']}.outputs.{k}": v for k, v in done.outputs.items()}
            failed |= done.returncode != 0
        ran.outputs = {k: expand(str(v), scope) for k, v in (job.get("outputs") or {}).items()}
    ran.result = "failure" if failed else "success"
    return ran


def _action(step_: dict[str, Any], scope: dict[str, str], artifacts: Path) -> bool:
    uses = str(step_["uses"]).split("@")[0]
    given = step_.get("with") or {}
    if uses == "actions/upload-artifact":
        source = Path(expand(str(given["path"]), scope))
        if not source.is_file():
            return given.get("if-no-files-found") != "error"
        (artifacts / given["name"]).mkdir(parents=True)
        shutil.copy(source, artifacts / given["name"])
    elif uses == "actions/download-artifact":
        kept = artifacts / given["name"]
        if not kept.is_dir():
            return False
        shutil.copytree(kept, Path(expand(str(given["path"]), scope)), dirs_exist_ok=True)
    return True


def run_workflow(
    doc: Doc,
    context: dict[str, str],
    *,
    cwd: Path,
    path: list[Path],
    given: dict[str, str] | None = None,
    only: set[str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, list[JobRun]]:
    """Every job of ``doc``, in the order of its ``needs``, as GitHub runs them: a job
    whose needs did not all succeed is skipped unless its ``if:`` says otherwise; a
    matrix from a job's output runs a leg per value. ``given`` names jobs not run here,
    with their result (their outputs are then ''); a job outside ``only`` (when given)
    that would run is decided, not run: its one leg succeeds with no step. Returns each
    job's legs."""
    jobs = doc.jobs()
    results = dict(given or {})
    runs: dict[str, list[JobRun]] = {}
    scope = {f"needs.{j}.result": r for j, r in results.items()} | dict(context)
    with tempfile.TemporaryDirectory() as artifacts:
        while len(results) < len(jobs):
            ready = [j for j in jobs if j not in results and _needs(jobs[j]) <= set(results)]
            assert ready, f"{doc.name}: a cycle in needs"
            for job_id in ready:
                job = jobs[job_id]
                needed_failed = any(results[n] != "success" for n in _needs(job))
                if not evaluate(str(job.get("if", "success()")), scope, needed_failed):
                    runs[job_id] = [JobRun(job_id, "skipped")]
                elif only is not None and job_id not in only:
                    runs[job_id] = [JobRun(job_id, "success")]
                else:
                    # fail-fast (the default): a failed leg cancels the legs not yet run.
                    fail_fast = (job.get("strategy") or {}).get("fail-fast", True) is not False
                    runs[job_id] = []
                    for leg in _legs(job, scope):
                        if fail_fast and any(r.result == "failure" for r in runs[job_id]):
                            runs[job_id].append(JobRun(job_id, "cancelled"))
                            continue
                        runs[job_id].append(
                            run_job(
                                doc,
                                job_id,
                                {**scope, **leg},
                                cwd=cwd,
                                path=path,
                                artifacts=Path(artifacts),
                                env=env,
                            )
                        )
                legs = runs[job_id]
                results[job_id] = (
                    legs[0].result
                    if len(legs) == 1
                    else ("failure" if any(r.result == "failure" for r in legs) else "success")
                )
                scope[f"needs.{job_id}.result"] = results[job_id]
                for leg in legs:
                    scope |= {f"needs.{job_id}.outputs.{k}": v for k, v in leg.outputs.items()}
    return runs


def _needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs") or []
    return {value} if isinstance(value, str) else set(value)


def _legs(job: dict[str, Any], scope: dict[str, str]) -> list[dict[str, str]]:
    """The matrix context of each leg of a job (one empty one without a matrix)."""
    matrix = (job.get("strategy") or {}).get("matrix")
    if not matrix:
        return [{}]
    ((variable, values),) = matrix.items()
    if isinstance(values, str):
        listed = re.fullmatch(r"\$\{\{\s*fromJSON\((\S+)\)\s*\}\}", values)
        assert listed, values
        values = json.loads(scope[listed[1]])
    return [{f"matrix.{variable}": str(value)} for value in values]


# -- jobs as the threat model sees them -------------------------------------------------

_MATRIX = re.compile(r"\$\{\{\s*matrix\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def is_example(doc: Doc) -> bool:
    return doc.path.startswith("examples/")


def callers(docs: list[Doc], reusable: Doc) -> list[Doc]:
    """The files whose jobs call ``reusable`` (by repository path or locally)."""
    suffix = f"/.github/workflows/{reusable.name}"
    return [
        doc
        for doc in docs
        if any(
            str(job.get("uses", "")).split("@")[0].endswith(suffix) for job in doc.jobs().values()
        )
    ]


def repository_of(docs: list[Doc], doc: Doc) -> str:
    """ "app" for the app repository's callers and the workflows only they call, else
    "infra"."""
    if is_example(doc):
        return "app"
    if doc.is_reusable and callers(docs, doc) and all(is_example(c) for c in callers(docs, doc)):
        return "app"
    return "infra"


def triggers(docs: list[Doc], doc: Doc) -> frozenset[str]:
    """The events that start ``doc``'s jobs; a reusable workflow's are its callers'."""
    on = doc.data.get("on") or {}
    events = set([on] if isinstance(on, str) else on)
    if "workflow_call" in events:
        events.discard("workflow_call")
        for caller in callers(docs, doc):
            events |= triggers(docs, caller)
    return frozenset(events)


@dataclass(frozen=True)
class Job:
    """One job of a workflow, with what the threat model asks of it."""

    doc: Doc
    job_id: str
    repository: str
    triggers: frozenset[str]
    environments: tuple[str, ...]
    """The environment(s) it runs in: a matrix job's, one per leg."""
    secrets: frozenset[str]
    """The secrets its steps name (${{ secrets.X }}), GITHUB_TOKEN aside."""
    variables: frozenset[str]

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.jobs()[self.job_id]

    def __str__(self) -> str:
        return f"{self.doc.name} {self.job_id}"


def _matrix_values(job: dict[str, Any], variable: str, stacks: tuple[str, ...]) -> list[str]:
    values = ((job.get("strategy") or {}).get("matrix") or {}).get(variable)
    if isinstance(values, list):
        return [str(v) for v in values]
    return list(stacks)  # the stacks job's list: every shipped stack


def job_environments(job: dict[str, Any], stacks: tuple[str, ...]) -> tuple[str, ...]:
    name = environment(job)
    if not name:
        return ()
    variables = _MATRIX.findall(name)
    if not variables:
        return (name,)
    (variable,) = set(variables)
    return tuple(_MATRIX.sub(value, name) for value in _matrix_values(job, variable, stacks))


def all_jobs(docs: list[Doc], stacks: tuple[str, ...]) -> list[Job]:
    """Every job of every workflow and caller (a job that only calls a reusable workflow
    included: it reads nothing itself)."""
    found = []
    for doc in docs:
        if doc.is_action:
            continue
        for job_id, job in doc.jobs().items():
            text = json.dumps(job)
            found.append(
                Job(
                    doc=doc,
                    job_id=job_id,
                    repository=repository_of(docs, doc),
                    triggers=triggers(docs, doc),
                    environments=job_environments(job, stacks),
                    secrets=frozenset(_SECRET.findall(text)) - {"GITHUB_TOKEN"},
                    variables=frozenset(_VARIABLE.findall(text)),
                )
            )
    return found
