"""The dependency tree is locked: every package pinned with hashes, the direct pins of
requirements.in are the lock's, and the policy pack's lock agrees with the program's."""

import re

import pytest

from harness import ROOT

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def pins(path):
    """{normalised name: version} of every pinned line in a requirements file."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def requirements(path):
    """The requirement entries of a lock file (a line each, continuations joined)."""
    text = (ROOT / path).read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("lock", ["requirements.txt", "policies/requirements.txt"])
def test_every_locked_package_is_pinned_with_a_hash(lock):
    entries = requirements(lock)
    assert len(entries) > 10
    for entry in entries:
        assert PIN.match(entry), f"{lock}: not pinned: {entry[:60]}"
        assert "--hash=sha256:" in entry, f"{lock}: no hash: {entry[:60]}"


def test_the_lock_holds_exactly_the_direct_pins():
    direct, locked = pins("requirements.in"), pins("requirements.txt")
    assert direct, "requirements.in pins nothing"
    assert {name: locked.get(name) for name in direct} == direct


def test_the_pack_runs_the_programs_versions():
    pack, program = pins("policies/requirements.txt"), pins("requirements.txt")
    assert {"pulumi", "pulumi-policy"} <= set(pack)
    assert {name: program.get(name) for name in pack} == pack


def test_a_broken_lock_is_caught(tmp_path, monkeypatch):
    """The checks above can fail: a package without its hash is found."""
    hashed = "".join(f"pkg{i}==1.0 --hash=sha256:{'0' * 64}\n" for i in range(11))
    (tmp_path / "lock.txt").write_text(hashed + "pulumi==3.272.0\n")
    monkeypatch.setattr("test_lock.ROOT", tmp_path)
    with pytest.raises(AssertionError, match="no hash"):
        test_every_locked_package_is_pinned_with_a_hash("lock.txt")
