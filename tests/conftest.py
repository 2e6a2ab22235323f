import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The program's packages (components) and the policy pack's (matra_policies).
for path in (ROOT, ROOT / "policies"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
