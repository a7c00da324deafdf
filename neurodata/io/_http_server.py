"""A small HTTP file server on the loopback address that honours Range requests.

It serves a folder so that tests, doctests and benchmarks can stream NWB files
and Zarr stores "remotely" without any outside network.  It counts the bytes
it sends, can cut a connection in the middle of a response, and can stay down
(hang without answering) to exercise retries and timeouts.  It is a testing
aid, not a production server: it binds to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["RangeServer"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _file(self) -> Path | None:
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        root = self.server.owner.root
        p = (root / rel).resolve()
        if root != p and root not in p.parents:
            return None
        return p if p.is_file() else None

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        if owner.hang.is_set():  # "down": accept, then never answer
            owner.hang_released.wait(owner.max_hang_s)
            self.close_connection = True
            return
        with owner.lock:
            owner.requests += 1
        if owner.latency_s:
            time.sleep(owner.latency_s)
        p = self._file()
        if p is None:
            self.send_error(404)
            return
        size = p.stat().st_size
        start, stop = 0, size  # stop is exclusive
        m = _RANGE.match(self.headers.get("Range", "") or "")
        if m and size:
            a, b = m.groups()
            if a:
                start, stop = int(a), min(size, int(b) + 1) if b else size
            elif b:
                start = max(0, size - int(b))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            self._send_body(p, start, stop)

    def _send_body(self, p: Path, start: int, stop: int) -> None:
        owner = self.server.owner
        with owner.lock:
            cut = owner.cuts.pop(0) if owner.cuts and stop - start > 1 else None
        n = stop - start
        if cut is not None:
            n = min(n - 1, cut)  # send part of the body, then drop the connection
        with open(p, "rb") as f:
            f.seek(start)
            left = n
            while left > 0:
                block = f.read(min(left, 1 << 20))
                if not block:
                    break
                with owner.lock:  # counted before the write, so a client never sees it late
                    owner.bytes_sent += len(block)
                try:
                    self.wfile.write(block)
                except OSError:  # the client went away
                    break
                left -= len(block)
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: RangeServer


class RangeServer:
    """Serve the files under ``root`` on ``http://127.0.0.1:<port>/`` from a thread.

    Parameters
    ----------
    root : path-like
        The folder to serve; paths outside it are never served.
    max_hang_s : float, default 30
        The longest a request waits while the server is "down" (see :meth:`go_down`).
    latency_s : float, default 0
        A delay before each answer, to model the round trip to a distant server.

    Examples
    --------
    >>> import tempfile, urllib.request
    >>> folder = tempfile.mkdtemp()
    >>> _ = (Path(folder) / "a.bin").write_bytes(bytes(range(100)))
    >>> with RangeServer(folder) as server:
    ...     req = urllib.request.Request(server.url("a.bin"), headers={"Range": "bytes=10-19"})
    ...     with urllib.request.urlopen(req) as r:
    ...         print(r.status, list(r.read()))
    ...     print(server.bytes_sent)
    206 [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    10
    """

    def __init__(self, root: str | os.PathLike, *, max_hang_s: float = 30.0,
                 latency_s: float = 0.0) -> None:
        self.root = Path(root).resolve()
        self.latency_s = latency_s
        self.max_hang_s = max_hang_s
        self.lock = threading.Lock()
        self.bytes_sent = 0
        self.requests = 0
        self.cuts: list[int] = []
        self.hang = threading.Event()
        self.hang_released = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RangeServer:
        """Start serving (on a free port)."""
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release every hanging request."""
        self.hang_released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> RangeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first"
        return int(self._httpd.server_address[1])

    def url(self, rel: str = "") -> str:
        """The URL of a file (or folder) relative to ``root``."""
        return f"http://127.0.0.1:{self.port}/{urllib.parse.quote(str(rel).lstrip('/'))}"

    def reset_counts(self) -> None:
        """Set the byte and request counters back to zero."""
        with self.lock:
            self.bytes_sent = 0
            self.requests = 0

    def cut_next(self, after_bytes: int = 0, times: int = 1) -> None:
        """Drop the connection of the next ``times`` responses after ``after_bytes`` bytes."""
        with self.lock:
            self.cuts.extend([after_bytes] * times)

    def go_down(self) -> None:
        """Stay down: accept connections but never answer, until :meth:`come_back`."""
        self.hang_released.clear()
        self.hang.set()

    def come_back(self) -> None:
        """Answer requests again."""
        self.hang.clear()
        self.hang_released.set()
