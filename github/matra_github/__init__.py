"""matra-github: the repositories' guardrails as code (branch protection, environments,
Actions secrets and variables), importable without running the program."""
