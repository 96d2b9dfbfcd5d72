"""Remote logdirs that can't be read: one line saying what to do, exit 2, never a traceback.

Run as a person would, ``tbpeek ls|check URL`` in a new process, against moto's S3 server on
127.0.0.1 (or a closed port on 127.0.0.1 for an unreachable endpoint).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.ingest.remote import RemoteError, describe, open_fs

REPO = Path(__file__).resolve().parents[1]
EXIT_USAGE = 2


def tbpeek(*args: str, env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``tbpeek ARGS`` in a new process with exactly the AWS_* variables of ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update(env)
    full.setdefault("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    full.setdefault("AWS_CONFIG_FILE", "/nonexistent/config")
    code = f"{prelude}\nimport sys\nfrom tui.cli import main\nsys.exit(main({list(args)!r}))"
    # The timeout is a safety net against a hang, not a measurement.
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_unknown_protocol():
    line = one_line(tbpeek("ls", "zzz://x", env={}))
    assert "unknown protocol 'zzz://'" in line and "s3://bucket/prefix" in line


def test_web_urls_are_refused_with_what_to_do_instead():
    line = one_line(tbpeek("ls", "http://127.0.0.1:9/logs", env={}))
    assert "can't watch http:// URLs" in line and "does not exist" not in line


def test_missing_package_names_the_pip_extra():
    # s3fs made unimportable in that process, as on a machine without it.
    line = one_line(tbpeek("ls", "s3://bucket/logs", env={}, prelude="import sys; sys.modules['s3fs'] = None"))
    assert "needs s3fs" in line and "pip install 'tbpeek[s3]'" in line


def test_fsspec_itself_missing_names_the_pip_extra():
    line = one_line(tbpeek("ls", "s3://bucket/logs", env={},
                           prelude="import sys; sys.modules['fsspec'] = None"))
    assert "needs fsspec" in line and "tbpeek[remote]" in line


pytest.importorskip("s3fs")
pytest.importorskip("moto")

pytest_plugins = ["s3_moto"]  # the fixtures: moto_s3 (the server), s3 (env + a fresh bucket)


def test_missing_credentials(s3):
    env = {k: v for k, v in s3.server.env().items() if not k.startswith("AWS_ACCESS") and "SECRET" not in k}
    line = one_line(tbpeek("ls", s3.url("logs"), env=env))
    assert "no credentials found" in line and "AWS_ACCESS_KEY_ID" in line and "AWS_PROFILE" in line


def test_unknown_profile(s3):
    env = {**s3.server.env(), "AWS_PROFILE": "no-such-profile"}
    env.pop("AWS_ACCESS_KEY_ID")
    env.pop("AWS_SECRET_ACCESS_KEY")
    line = one_line(tbpeek("ls", s3.url("logs"), env=env))
    assert "no-such-profile" in line and "AWS_PROFILE" in line


def test_bad_credentials(s3):
    s3.put("logs/a/x", b"x")
    s3.server.require_auth(True)  # moto now checks keys: ours are unknown to its IAM
    try:
        line = one_line(tbpeek("ls", s3.url("logs"), env=s3.server.env()))
        check = one_line(tbpeek("check", s3.url("logs"), env=s3.server.env()))
    finally:
        s3.server.require_auth(False)
    assert "refused the credentials (InvalidAccessKeyId)" in line and "AWS_SECRET_ACCESS_KEY" in line
    assert "refused the credentials" in check


def test_unreachable_endpoint_is_not_called_missing(s3):
    from s3_moto import closed_port

    port = closed_port()
    env = {**s3.server.env(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    line = one_line(tbpeek("ls", s3.url("logs"), env=env))
    assert f"cannot reach http://127.0.0.1:{port}" in line and "AWS_ENDPOINT_URL" in line
    assert "does not exist" not in line
    assert "cannot reach" in one_line(tbpeek("check", s3.url("logs"), env=env))


def test_missing_bucket(s3):
    line = one_line(tbpeek("ls", "s3://no-such-bucket-here/logs", env=s3.server.env()))
    assert "bucket 'no-such-bucket-here' does not exist" in line and "bucket name" in line


def test_empty_prefix(s3):
    s3.put("elsewhere/x", b"x")
    line = one_line(tbpeek("ls", s3.url("logs"), env=s3.server.env()))
    assert f"logdir {s3.url('logs')} does not exist" in line and "check the URL" in line


def test_a_good_bucket_lists_in_a_new_process(s3):
    from test_ingest_damage import FILE, records

    s3.put(f"logs/a/{FILE}", b"".join(records(7)))
    r = tbpeek("ls", "--json", s3.url("logs"), env=s3.server.env())
    assert r.returncode == 0, r.stderr
    import json

    out = json.loads(r.stdout)
    assert [(x["run"], x["points"]) for x in out["runs"]] == [("a", 7)]
    assert out["problems"] == []


# ---- the adapter itself ------------------------------------------------------------------------
def test_the_fsspec_api_tbpeek_relies_on_is_there():
    """Fails loudly if fsspec drops or renames what tui/ingest/remote.py and sources.py call."""
    import fsspec
    import fsspec.config
    import fsspec.core
    from fsspec.spec import AbstractFileSystem

    assert callable(fsspec.core.url_to_fs) and callable(fsspec.available_protocols)
    assert isinstance(fsspec.config.conf, dict)
    for name in ("find", "info", "cat_file", "invalidate_cache"):
        assert callable(getattr(AbstractFileSystem, name)), name
    _fs, path = open_fs("memory://tbpeek-adapter/x/")
    assert path.rstrip("/").endswith("tbpeek-adapter/x")
    assert {"s3", "memory"} <= set(fsspec.available_protocols())


def test_describe_never_calls_an_unreachable_endpoint_missing():
    class EndpointConnectionError(Exception):
        pass

    class ConnectTimeoutError(Exception):
        pass

    for err in (EndpointConnectionError("Could not connect"), ConnectTimeoutError("timed out"),
                ConnectionRefusedError(111, "refused"), TimeoutError("slow")):
        msg = describe(err, "s3://b/logs")
        assert "cannot reach" in msg and "does not exist" not in msg, msg
    nf = FileNotFoundError("The specified bucket does not exist")
    nf.__cause__ = type("ClientError", (Exception,), {"response": {"Error": {"Code": "NoSuchBucket"}}})()
    assert "bucket 'b' does not exist" in describe(nf, "s3://b/logs")
    assert isinstance(RemoteError("x"), OSError)  # the ingestor's OSError handlers catch it


def test_s3_timeouts_are_short_unless_the_user_configured_them(monkeypatch):
    import fsspec.config

    fs, _ = open_fs("s3://some-bucket/x")
    retries = fs.config_kwargs["retries"]
    assert fs.config_kwargs["connect_timeout"] == 3
    assert retries.get("max_attempts", retries.get("total_max_attempts", 0) - 1) == 1  # one retry
    monkeypatch.setitem(fsspec.config.conf, "s3", {"config_kwargs": {"connect_timeout": 42}})
    fs, _ = open_fs("s3://some-bucket/y")
    assert fs.config_kwargs["connect_timeout"] == 42
