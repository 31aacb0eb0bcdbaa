"""medapp: the reference medical back end for lazymed.

A small Flask service. ``medapp.triage`` and ``medapp.vitals`` are light, pure-Python and
critical; ``medapp.services`` wrap the heavy SDKs (Google Cloud Storage, Firebase Admin, Supabase,
a llama-index RAG stack). ``medapp.boot`` chooses eager or lazy imports, ``medapp.app`` builds the
Flask application and ``medapp.server`` serves it on loopback. Importing this package imports
nothing else.
"""
