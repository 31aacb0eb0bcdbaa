"""Serve the app on loopback with Werkzeug's WSGI server and announce readiness on stdout.

The ready line is one JSON object on its own line, flushed as soon as the socket listens::

    {"event": "ready", "url": "http://127.0.0.1:PORT", "port": PORT, "pid": PID,
     "mode": "eager"|"lazy", "profile": NAME|null, "ready_after_seconds": S|null}

``ready_after_seconds`` is the time from process start to listening as the process itself sees
it (``medapp.introspect.process_age``). The server is single-threaded (one request at a time):
the demo measures a quiet process, and a thread per request would make the thread count depend
on timing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from types import FrameType

from flask import Flask
from werkzeug.serving import make_server

from medapp import boot, introspect


def serve(app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
    """Listen on ``host:port`` (0: an ephemeral port), print the ready line, serve until
    SIGTERM or SIGINT."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
    server = make_server(host, port, app, threaded=False)
    age = introspect.process_age()
    ready = {
        "event": "ready",
        "url": f"http://{host}:{server.server_port}",
        "port": server.server_port,
        "pid": os.getpid(),
        "mode": boot.mode(),
        "profile": boot.profile(),
        "ready_after_seconds": round(age, 3) if age is not None else None,
    }
    print(json.dumps(ready), flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """``serve.py [--host H] [--port P]``: boot (env picks the mode), build the app, serve."""
    parser = argparse.ArgumentParser(prog="serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from medapp.app import create_app

    app = create_app()
    if os.environ.get("MEDICAL_APP_WEB") == "1":  # lazymed's /memory endpoints ([tool.lazymed.web])
        from lazymed.web.flask import LazyMed

        LazyMed(app)
    serve(app, args.host, args.port)
    return 0
