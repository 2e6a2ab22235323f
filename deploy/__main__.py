"""python -m deploy --outputs FILE|- (--release TAG | --rollback) [--batch-size N]"""

from .cli import main

raise SystemExit(main())
