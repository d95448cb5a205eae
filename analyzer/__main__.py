"""`python -m analyzer`: the command line (see analyzer.cli)."""

from analyzer.cli import main

raise SystemExit(main())
