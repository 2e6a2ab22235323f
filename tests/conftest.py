import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The program's packages (components) and the policy pack's (matra_policies).
for path in (ROOT, ROOT / "policies"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that neither drives a real test host nor runs mypy is in the fast tier."""
    for item in items:
        if not item.get_closest_marker("host") and not item.get_closest_marker("typecheck"):
            item.add_marker(pytest.mark.fast)
