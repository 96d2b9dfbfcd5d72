"""A real S3 API on 127.0.0.1 for tests and benches: moto's server, in a thread, on a free port.

It counts what reaches it (requests by S3 operation, response bytes), so a test or a bench can
say what a poll costs. Only loopback is used; nothing leaves the machine.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

ACCESS_KEY, SECRET_KEY = "testing-key", "testing-secret"


@dataclass
class Traffic:
    """Requests (by operation: LIST, GET, HEAD, PUT, …) and response body bytes."""

    ops: Counter[str] = field(default_factory=Counter)
    bytes_out: int = 0

    @property
    def requests(self) -> int:
        return sum(self.ops.values())

    def copy(self) -> Traffic:
        return Traffic(Counter(self.ops), self.bytes_out)

    def __sub__(self, other: Traffic) -> Traffic:
        ops = Counter(self.ops)
        ops.subtract(other.ops)
        return Traffic(+ops, self.bytes_out - other.bytes_out)


def _op(environ: dict[str, Any]) -> str:
    method = environ.get("REQUEST_METHOD", "?")
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return "MOTO"
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    key = path.strip("/").partition("/")[2]
    if method == "GET" and not key:
        return "LIST"  # ListObjects(V2) of a bucket (or ListBuckets)
    if method == "GET" and environ.get("HTTP_RANGE"):
        return "GET-RANGE"
    if method == "GET" and "uploadId" not in query:
        return "GET"
    return method


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # one line per request would drown the test output


class MotoS3:
    """moto's S3 (and the rest of AWS) served on ``127.0.0.1:<free port>``, counting traffic."""

    def __init__(self) -> None:
        self.traffic = Traffic()
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self._count(app), threaded=True, request_handler=_Quiet)
        self.port = int(self._server.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-s3", daemon=True)

    def _count(self, app: Any) -> Any:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            op = _op(environ)
            body = app(environ, start_response)
            n = 0
            for chunk in body:
                n += len(chunk)
                yield chunk
            if op != "MOTO":
                with self._lock:
                    self.traffic.ops[op] += 1
                    self.traffic.bytes_out += n

        return counted

    def snapshot(self) -> Traffic:
        with self._lock:
            return self.traffic.copy()

    def start(self) -> MotoS3:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def require_auth(self, on: bool) -> None:
        """With auth on, moto checks credentials against its IAM: any key tests use is then bad."""
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth",
                                     data=b"0" if on else b"inf", method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def reset(self) -> None:
        """Forget every bucket (moto's state is process-wide)."""
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def env(self) -> dict[str, str]:
        """What a client (s3fs, botocore, a tbpeek subprocess) needs to talk to this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"}


def closed_port() -> int:
    """A loopback port where nothing listens (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
