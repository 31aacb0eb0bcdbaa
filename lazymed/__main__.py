"""``python -m lazymed``: the command-line interface (see :mod:`lazymed.cli`)."""

from lazymed.cli import main

raise SystemExit(main())
