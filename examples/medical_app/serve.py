"""Run the medical app: ``python serve.py [--host 127.0.0.1] [--port 0]``.

``MEDICAL_APP_LAZY=1`` turns on lazymed with this directory's pyproject.toml,
``MEDICAL_APP_PROFILE=development`` picks a profile. Nothing heavy is imported before
``boot()`` has run, so the same application code is measured both ways.
"""

from medapp.boot import boot

boot()

from medapp.server import main  # noqa: E402  (must come after boot(): it imports the app)

raise SystemExit(main())
