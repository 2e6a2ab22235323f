"""A table of config mistakes in the github/ stack: each stops the program with one line
naming the key, the value and what is allowed, before anything is looked up or
registered (the main program's reader, matra/settings/reader.py)."""

import runpy

import pytest

from github_harness import SECRET_KEYS, SECRETS, STACK, GithubMocks, run_github
from harness import GITHUB, run, stack_config
from matra.settings import ConfigError

# (overrides, the one line's expected start, words it must contain)
MISTAKES = [
    (
        {"infraRepository": "matra-infra"},
        "matra-github:infraRepository: 'matra-infra' is not allowed; expected owner/name",
        [],
    ),
    (
        {"appRepository": "matra-io/app/extra"},
        "matra-github:appRepository: 'matra-io/app/extra' is not allowed; expected owner/name",
        [],
    ),
    (
        {"appRepository": "someone-else/matra-app"},
        "matra-github:appRepository: 'someone-else/matra-app' is not allowed; expected another "
        "repository of matra-io",
        [],
    ),
    (
        {"appRepository": "matra-io/matra-infra"},
        "matra-github:appRepository: 'matra-io/matra-infra' is not allowed; expected another",
        [],
    ),
    (
        {"productionReviewers": []},
        "matra-github:productionReviewers: '[]' is not allowed; expected at least 1 @login (a "
        "user) or @org/team-slug (a team)",
        [],
    ),
    (
        {"productionReviewers": ["alice"]},
        "matra-github:productionReviewers: 'alice' is not allowed; expected each item to be "
        "@login (a user) or @org/team-slug (a team)",
        [],
    ),
    (
        {"productionReviewers": ["@alice", "team:platform"]},
        "matra-github:productionReviewers: 'team:platform' is not allowed; expected each item",
        [],
    ),
    (
        {"productionReviewers": ["@someone-else/platform"]},
        "matra-github:productionReviewers: '@someone-else/platform' is not allowed; expected a "
        "team of matra-io (github:owner)",
        [],
    ),
    (
        {"productionReviewers": [f"@user{i}" for i in range(7)]},
        "matra-github:productionReviewers: ",
        ["at most 6 reviewers"],
    ),
    (
        {"appRequiredChecks": []},
        "matra-github:appRequiredChecks: '[]' is not allowed; expected at least 1 check (the name "
        "of a job of the app's pull-request workflow)",
        [],
    ),
    (
        {"requiredApprovals": 0},
        "matra-github:requiredApprovals: '0' is not allowed; expected a whole number from 1 to 6",
        [],
    ),
    (
        {"prodBackendUrl": "https://api.pulumi.com"},
        "matra-github:prodBackendUrl: 'https://api.pulumi.com' is not allowed; expected the "
        "stack's own Spaces bucket",
        ["digitaloceanspaces.com"],
    ),
    (
        {
            "prodBackendUrl": "s3://matra-state-staging?endpoint=nyc3.digitaloceanspaces.com"
            "&region=us-east-1"
        },
        "matra-github:stagingBackendUrl: 's3://matra-state-staging?",
        ["a bucket of its own, not prod's", "lets one stack's key write the other's state"],
    ),
    (
        {"unreviewedPreviews": ["dev", "prod"]},
        "matra-github:unreviewedPreviews: 'prod' is not allowed; expected each item to be a "
        "shipped stack the pipeline never deploys (one of: dev)",
        [],
    ),
    (
        {"previewReviewers": ["platform"]},
        "matra-github:previewReviewers: 'platform' is not allowed; expected each item to be "
        "@login (a user) or @org/team-slug (a team)",
        [],
    ),
    (
        {"appImage": "docker.io/library/api"},
        "matra-github:appImage: 'docker.io/library/api' is not allowed; expected the stacks' "
        "appImage output, registry.digitalocean.com/<registry>/<name>",
        [],
    ),
    (
        {"deployMaterialAppClientId": "12345"},
        "matra-github:deployMaterialAppClientId: '12345' is not allowed; expected the client id "
        "of the GitHub App",
        [],
    ),
    (
        {"backendUrl": "s3://matra-pulumi-state?endpoint=nyc3.digitaloceanspaces.com"},
        "matra-github:backendUrl: no longer used; each stack now has its own credentials and "
        "backend",
        ["pulumi config rm matra-github:backendUrl"],
    ),
    (
        {"sshRunner": "self hosted"},
        "matra-github:sshRunner: 'self hosted' is not allowed; expected a runner label",
        [],
    ),
    (
        {"productionReviewer": ["@alice"]},
        "matra-github:productionReviewer: unknown key; did you mean "
        "matra-github:productionReviewers?",
        [],
    ),
]


def assert_refused(program, start, words):
    assert isinstance(program.error, ConfigError), program.error
    lines = str(program.error).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(start), lines[0]
    for word in words:
        assert word in lines[0]
    assert program.registrations == []


@pytest.mark.parametrize(("overrides", "start", "words"), MISTAKES, ids=lambda v: str(v)[:40])
def test_a_mistake_is_one_line_and_nothing_is_registered(overrides, start, words):
    assert_refused(run_github(overrides=overrides), start, words)


def test_a_secret_in_plain_text_is_refused_without_its_value():
    given = {k: v for k, v in SECRETS.items() if k != "prodDigitaloceanToken"}
    program = run_github(secrets=given, overrides={"prodDigitaloceanToken": "dop_v1_plain"})
    assert_refused(
        program,
        "matra-github:prodDigitaloceanToken: (value hidden) is stored in plain text; expected a "
        "secret (set it with: pulumi config set --secret matra-github:prodDigitaloceanToken",
        [],
    )
    assert "dop_v1_plain" not in str(program.error)


def test_a_missing_secret_says_how_to_set_it():
    given = {k: v for k, v in SECRETS.items() if k != "registryToken"}
    assert_refused(
        run_github(secrets=given),
        "matra-github:registryToken: (missing) is not allowed; expected a secret (set it with: "
        "pulumi config set --secret matra-github:registryToken)",
        [],
    )


def run_with_owner(owner):
    config = _config()
    if owner is None:
        config.pop("github:owner")
    else:
        config["github:owner"] = owner
    return run(
        lambda: runpy.run_path(str(GITHUB / "__main__.py"), run_name="__main__"),
        stack=STACK,
        config=config,
        secret_keys=[f"matra-github:{k}" for k in SECRET_KEYS],
        preview=True,
        project="matra-github",
        mocks=lambda engine: GithubMocks(engine_preview=engine),
    )


def test_the_repositories_must_belong_to_github_owner():
    assert_refused(
        run_with_owner("acme"),
        "matra-github:infraRepository: 'matra-io/matra-infra' is not allowed; expected a "
        "repository of acme (github:owner",
        [],
    )
    assert_refused(
        run_with_owner(None),
        "github:owner: (missing) is not allowed; expected the organisation that owns the "
        "repositories (set it with: pulumi config set github:owner matra-io)",
        [],
    )


# Separate credentials: the second of two equal secret settings is refused, naming the
# first, never showing either value.
SHARED = [
    (
        ("prodConfigPassphrase", "stagingConfigPassphrase"),
        "matra-github:stagingConfigPassphrase: (value hidden) is not allowed; expected a value "
        "other than matra-github:prodConfigPassphrase's: each stack has its own passphrase",
    ),
    (
        ("prodStateReadKeyId", "prodStateKeyId"),
        "matra-github:prodStateKeyId: (value hidden) is not allowed; expected a value other than "
        "matra-github:prodStateReadKeyId's: previews read with read-only keys",
    ),
    (
        ("prodDigitaloceanToken", "stagingDigitaloceanToken"),
        "matra-github:stagingDigitaloceanToken: (value hidden) is not allowed; expected a value "
        "other than matra-github:prodDigitaloceanToken's",
    ),
    (
        ("devAtlasReadPrivateKey", "stagingAtlasPrivateKey"),
        "matra-github:stagingAtlasPrivateKey: (value hidden) is not allowed; expected a value "
        "other than matra-github:devAtlasReadPrivateKey's",
    ),
]


@pytest.mark.parametrize(("keys", "start"), SHARED, ids=lambda v: str(v)[:40])
def test_one_credential_for_two_jobs_or_two_stacks_is_refused(keys, start):
    secrets = {**SECRETS, keys[1]: SECRETS[keys[0]]}
    program = run_github(secrets=secrets)
    assert_refused(program, start, [])
    assert SECRETS[keys[0]] not in str(program.error)


def test_no_stack_may_share_the_org_stacks_own_passphrase(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", SECRETS["prodConfigPassphrase"])
    program = run(
        lambda: runpy.run_path(str(GITHUB / "__main__.py"), run_name="__main__"),
        stack=STACK,
        config=_config(),
        secret_keys=[f"matra-github:{k}" for k in SECRET_KEYS],
        preview=True,
        project="matra-github",
        mocks=lambda engine: GithubMocks(engine_preview=engine),
    )
    assert_refused(
        program,
        "matra-github:prodConfigPassphrase: (value hidden) is not allowed; expected a passphrase "
        "other than the org stack's own",
        [],
    )


def _config():
    config = stack_config(STACK, GITHUB, secure_stand_in="stand-in")
    config.update({f"matra-github:{k}": v for k, v in SECRETS.items()})
    return config
