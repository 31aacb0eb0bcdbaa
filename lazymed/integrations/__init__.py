"""Integrations with servers and native libraries (a layer above the core, imported only when
used): :mod:`lazymed.integrations.gunicorn` (pre-fork server hooks) and
:mod:`lazymed.integrations.threads` (threadpoolctl at run time)."""
