"""The app for gunicorn (``gunicorn -c gunicorn.conf.py medapp.wsgi:app``): booted as
``serve.py`` boots it (MEDICAL_APP_* variables), with lazymed's /memory endpoints
(``[tool.lazymed.web]`` in this directory's pyproject.toml; the token in LAZYMED_WEB_TOKEN)."""

from medapp.boot import boot

boot()

from lazymed.web.flask import LazyMed  # noqa: E402  (after boot(), as serve.py)
from medapp.app import create_app  # noqa: E402

app = create_app()
LazyMed(app)
