"""matra-github: the repositories' guardrails. The wiring is in matra_github/program.py
(type-checked with the rest; two modules named __main__ can't be checked in one run)."""

from matra_github.program import main

main()
