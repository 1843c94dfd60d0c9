"""Serve a folder over HTTP on 127.0.0.1: the dbt docs (`biotwin docs --serve`) and the twin's
plots the Dagster UI shows (`biotwin ui`). Read-only static files, the standard library's
server, bound to the loopback interface only."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        """Requests are not worth a line each beside the Dagster webserver's output."""


def make_server(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """Raises OSError when the port is taken."""
    folder.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_in_background(
    folder: Path, url: str
) -> tuple[http.server.ThreadingHTTPServer | None, str]:
    """Serve `folder` where `url` points (its port), in a daemon thread; (server or None, the
    line to print)."""
    port = urllib.parse.urlsplit(url).port or 80
    try:
        server = make_server(folder, port)
    except OSError as exc:
        return None, f"twin plots: not served ({url} is taken: {exc.strerror}); files in {folder}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"twin plots: {folder} served at {url}"
