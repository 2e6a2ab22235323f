"""python -m deploy --outputs FILE|- (--release REF | --rollback | --status [--json])"""

from .cli import main

raise SystemExit(main())
