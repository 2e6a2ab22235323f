"""matra-github: the repositories' guardrails. The wiring is in matra_github/program.py
(type-checked with the rest; two modules named __main__ can't be checked in one run)."""

import sys
from pathlib import Path

# The program reuses the main program's config reader (components/settings/reader.py)
# and reads the shipped stack files (../Pulumi.*.yaml): the repository root goes on the
# path, and this directory too (matra_github), whoever runs the file.
HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from matra_github.program import main  # noqa: E402

main()
