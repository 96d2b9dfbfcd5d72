"""The one adapter between tbpeek and fsspec: open a URL's file system, and say what went wrong.

Only public fsspec API is used (``fsspec.core.url_to_fs``, ``fsspec.available_protocols``,
and the file system's ``find``, ``info``, ``cat_file``, ``invalidate_cache``).
:func:`describe` turns whatever a remote file system raises (botocore, aiohttp, gcsfs…) into
one line that says what is wrong and what to do; it recognises errors by class name, so
neither botocore nor any other client library is imported here.
"""

from __future__ import annotations

import copy
import os
from typing import Any

# Timeouts and retries for S3 when the user's fsspec config doesn't say: an unreachable
# endpoint must fail within seconds (two attempts of 3 s at most), not after botocore's
# default minute of retries. A watch simply tries again at the next poll.
S3_CONFIG = {"connect_timeout": 3, "read_timeout": 30, "retries": {"max_attempts": 1, "mode": "standard"}}
S3_PROTOCOLS = ("s3", "s3a")


class RemoteError(OSError):
    """A remote logdir can't be used; ``str(e)`` is one line saying what to do."""


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def _options(protocol: str) -> dict[str, Any]:
    """Storage options: our S3 timeouts, under whatever the user set in fsspec's config."""
    if protocol not in S3_PROTOCOLS:
        return {}
    import fsspec.config

    user = fsspec.config.conf.get(protocol, {})
    # A deep copy: botocore rewrites the retries dict in place (max_attempts -> total_max_attempts).
    opts: dict[str, Any] = {"config_kwargs": {**copy.deepcopy(S3_CONFIG), **user.get("config_kwargs", {})}}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_url" not in user and "endpoint_url" not in user.get("client_kwargs", {}):
        opts["endpoint_url"] = endpoint  # botocore reads it too; here it also keys fsspec's instance cache
    return opts


def open_fs(url: str) -> tuple[Any, str]:
    """The file system for ``url`` and the path inside it (``bucket/prefix`` for S3).

    Raises:
        RemoteError: fsspec or the protocol's package is missing, or the protocol is unknown.
    """
    protocol = protocol_of(url)
    try:
        import fsspec
        import fsspec.core
    except ImportError:
        raise RemoteError(f"reading URLs like {url} needs fsspec: pip install 'tbpeek[remote]'"
                          + (" (and s3fs: 'tbpeek[s3]')" if protocol in S3_PROTOCOLS else "")) from None
    if protocol not in fsspec.available_protocols():
        raise RemoteError(f"{url}: unknown protocol '{protocol}://'; give a local path or an fsspec URL "
                          "such as s3://bucket/prefix or gs://bucket/prefix")
    try:
        fs, path = fsspec.core.url_to_fs(url, **_options(protocol))
    except ImportError as e:
        if protocol in S3_PROTOCOLS:
            raise RemoteError(f"reading {protocol}:// URLs needs s3fs: pip install 'tbpeek[s3]'") from None
        raise RemoteError(f"reading {protocol}:// URLs needs another package: {_first_line(e)}") from None
    except (ValueError, TypeError, OSError) as e:
        raise RemoteError(f"{url} can't be opened: {_first_line(e)}") from None
    if "://" in str(path):  # http(s): the "path" is the URL itself, and there is no listing to rely on
        raise RemoteError(f"{url}: tbpeek can't watch {protocol}:// URLs (they have no directory listing); "
                          "copy the logs to a local directory, or use an object store URL such as s3://bucket/prefix")
    return fs, str(path)


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def _names(e: BaseException) -> set[str]:
    """Class names of an exception, its causes and their bases (to recognise library errors)."""
    out: set[str] = set()
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out.update(c.__name__ for c in type(cur).__mro__)
        cur = cur.__cause__ or cur.__context__
    return out


def _error_code(e: BaseException) -> str:
    """The service's error code (``NoSuchBucket``, ``InvalidAccessKeyId``…) if one is attached."""
    cur: BaseException | None = e
    seen: set[int] = set()
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        resp = getattr(cur, "response", None)
        if isinstance(resp, dict):
            code = resp.get("Error", {}).get("Code")
            if code:
                return str(code)
        cur = cur.__cause__ or cur.__context__
    return ""


def missing_bucket(e: BaseException) -> bool:
    """True if ``e`` says the bucket itself doesn't exist (not just an object or a prefix)."""
    return _error_code(e) == "NoSuchBucket" or "bucket does not exist" in str(e)


def endpoint_of(fs: Any) -> str:
    """The endpoint a file system talks to, for messages."""
    for value in (getattr(fs, "endpoint_url", None),
                  (getattr(fs, "client_kwargs", None) or {}).get("endpoint_url"),
                  os.environ.get("AWS_ENDPOINT_URL_S3"), os.environ.get("AWS_ENDPOINT_URL")):
        if value:
            return str(value)
    return "the default endpoint"


def describe(e: BaseException, url: str, fs: Any = None) -> str:
    """One line for the person: what is wrong with reading ``url``, and what to do."""
    names = _names(e)
    code = _error_code(e)
    s3 = protocol_of(url) in S3_PROTOCOLS
    creds = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile in ~/.aws"
             if s3 else "check the file system's credentials")
    if "ProfileNotFound" in names:
        return f"{url}: {_first_line(e)}; check AWS_PROFILE and ~/.aws/config"
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return f"{url}: no credentials found; {creds}"
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidClientTokenId"):
        return f"{url}: the endpoint refused the credentials ({code}); {creds}"
    if code in ("AccessDenied", "AllAccessDisabled", "Forbidden") or "PermissionError" in names:
        return (f"{url}: access denied ({code or _first_line(e)}); "
                + ("the credentials need permission to list the bucket and read its objects"
                   if s3 else "check your permissions"))
    if missing_bucket(e):
        bucket = url.split("://", 1)[1].split("/", 1)[0]
        return f"{url}: bucket '{bucket}' does not exist at {endpoint_of(fs)}; check the bucket name and AWS_ENDPOINT_URL"
    unreachable = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
                   "ClientConnectorError", "ServerDisconnectedError", "ConnectionError", "TimeoutError",
                   "ClientOSError", "NoRegionError", "InvalidEndpointError", "FSTimeoutError"}
    if names & unreachable:
        if "NoRegionError" in names:
            return f"{url}: no region configured; set AWS_DEFAULT_REGION (or AWS_ENDPOINT_URL for a local S3 server)"
        return (f"{url}: cannot reach {endpoint_of(fs)} ({type(e).__name__}); "
                "check the network and the endpoint (AWS_ENDPOINT_URL), then try again")
    if "FileNotFoundError" in names:
        return f"{url} does not exist; check the URL"
    return f"{url} cannot be read: {type(e).__name__}: {_first_line(e)}"
