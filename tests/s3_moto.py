"""A real S3 API on 127.0.0.1 for tests and benches: moto's server, in a thread, on a free port.

It counts what reaches it (requests by S3 operation, response bytes), so a test or a bench can
say what a poll costs. Only loopback is used; nothing leaves the machine.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

ACCESS_KEY, SECRET_KEY = "testing-key", "testing-secret"


@dataclass
class Traffic:
    """Requests (by operation: LIST, GET, HEAD, PUT, …) and response body bytes."""

    ops: Counter[str] = field(default_factory=Counter)
    bytes_out: int = 0
    bytes_by_op: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.ops.values())

    def copy(self) -> Traffic:
        return Traffic(Counter(self.ops), self.bytes_out, Counter(self.bytes_by_op))

    def __sub__(self, other: Traffic) -> Traffic:
        ops = Counter(self.ops)
        ops.subtract(other.ops)
        by_op = Counter(self.bytes_by_op)
        by_op.subtract(other.bytes_by_op)
        return Traffic(+ops, self.bytes_out - other.bytes_out, +by_op)


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
        self.latency = 0.0  # seconds added to every S3 request, as a network would (benches)
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self._count(app), threaded=True, request_handler=_Quiet)
        self.port = int(self._server.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-s3", daemon=True)

    def _count(self, app: Any) -> Any:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            # Counted before the client gets the bytes, so a snapshot taken after a call returns
            # includes that call.
            op = _op(environ)
            if op != "MOTO":
                with self._lock:
                    self.traffic.ops[op] += 1
                if self.latency:
                    time.sleep(self.latency)
            for chunk in app(environ, start_response):
                if op != "MOTO":
                    with self._lock:
                        self.traffic.bytes_out += len(chunk)
                        self.traffic.bytes_by_op[op] += len(chunk)
                yield chunk

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


@dataclass
class S3Case:
    server: MotoS3
    fs: Any  # an s3fs file system that writes as a training job would (its own client)
    bucket: str

    def url(self, path: str = "") -> str:
        return f"s3://{self.bucket}/{path}".rstrip("/")

    def put(self, path: str, data: bytes) -> None:
        self.fs.pipe(f"{self.bucket}/{path}", data)

    def upload_tree(self, local: Any, prefix: str) -> None:
        """Every file under ``local`` to ``prefix`` (concurrent uploads)."""
        objects: dict[str, bytes] = {}
        for root, _dirs, files in os.walk(local):
            for f in files:
                full = os.path.join(root, f)
                rel = os.path.relpath(full, local).replace(os.sep, "/")
                with open(full, "rb") as fh:
                    objects[f"{self.bucket}/{prefix}/{rel}"] = fh.read()
        self.fs.pipe(objects)



# ---- pytest fixtures (a test module uses them with ``pytest_plugins = ["s3_moto"]``) ---------
_buckets = itertools.count()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    srv = MotoS3().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def s3(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> S3Case:
    """The server, the AWS_* environment set for this test only, and a fresh bucket."""
    import s3fs

    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in moto_s3.env().items():
        monkeypatch.setenv(k, v)
    writer = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=moto_s3.endpoint,
                               key=ACCESS_KEY, secret=SECRET_KEY, use_listings_cache=False)
    bucket = f"tbpeek-{next(_buckets)}"
    writer.mkdir(bucket)
    return S3Case(moto_s3, writer, bucket)
