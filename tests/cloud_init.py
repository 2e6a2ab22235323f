"""cloud-init's own schema check (what `cloud-init schema --config-file` runs:
cloudinit.config.schema.validate_cloudconfig_file against the full schema), over many
documents in one run of Debian's cloud-init: starting it costs 0.4 s of CPU a time."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

CHECK = """
import json, sys
from cloudinit.config.schema import SchemaValidationError, get_schema, validate_cloudconfig_file
schema = get_schema()
problems = {}
for path in sys.argv[1:]:
    try:
        validate_cloudconfig_file(path, schema)
        problems[path] = ""
    except SchemaValidationError as error:
        problems[path] = str(error) or "invalid"
print("RESULTS " + json.dumps(problems))
"""


def schema_problems(documents: Mapping[str, str]) -> dict[str, str]:
    """{name: ""} for a valid cloud-config, {name: cloud-init's message} otherwise."""
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "cloud-init is not installed: .ci/run installs Debian's cloud-init"
    # The interpreter cloud-init's own command runs with (its #! line).
    python = Path(cloud_init).read_text().splitlines()[0].removeprefix("#!").split()[0]
    with tempfile.TemporaryDirectory(prefix="matra-cloud-init-") as work:
        paths = {}
        for index, (name, text) in enumerate(documents.items()):
            paths[name] = Path(work) / f"{index}.yaml"
            paths[name].write_text(text)
        result = subprocess.run(
            [python, "-c", CHECK, *map(str, paths.values())],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    # cloud-init prints notices (deprecated keys) of its own before the results.
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULTS ")]
    found = json.loads(line.removeprefix("RESULTS "))
    return {name: found[str(path)] for name, path in paths.items()}
