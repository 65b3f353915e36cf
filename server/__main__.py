"""`python -m server ...`: the `smallwood` command without the console script."""

from server.cli import main

raise SystemExit(main())
