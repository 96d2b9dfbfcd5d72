"""Where event files live: the local file system, or an fsspec URL (``s3://``, ``gs://``…).

A source answers, cheaply: how big is a file now (and is it still the same file), and what
are the bytes from an offset. Directories are listed by :mod:`tui.ingest.tree`. Local files
are the priority; fsspec URLs work by one listing of the whole prefix per poll and ranged
reads, and only when ``fsspec`` and the protocol's package (``s3fs``…) are installed.
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar

from tui.ingest.remote import RemoteError, describe, missing_bucket, open_fs
from tui.ingest.tfrecord import FOOTER
from tui.ingest.tree import RemoteObject, is_event_file_name
from tui.vocab import is_url as is_url  # the one rule: file:// is local (re-exported)

T = TypeVar("T")

PREFETCH_OBJECT = 2 << 20  # bytes of one object fetched ahead at most (the reader's chunk)
PREFETCH_TOTAL = 64 << 20  # bytes fetched ahead per poll at most


_PREADV = hasattr(os, "preadv")
_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class Stat(NamedTuple):
    size: int
    mtime: float
    ident: tuple[object, ...]  # changes when the file is replaced (inode, device; or an object's etag)


class LocalSource:
    """Plain files. Paths are absolute, symlinks not resolved (as the watcher reports them)."""

    sep = os.sep

    @staticmethod
    def normalize(path: str) -> str:
        if path.startswith("file://"):
            path = path[len("file://"):]
        return os.path.abspath(os.path.expanduser(path))

    @staticmethod
    def join(*parts: str) -> str:
        return os.path.join(*parts)

    @staticmethod
    def stat(path: str) -> Stat:
        """Raises OSError (FileNotFoundError…) like os.stat."""
        st = os.stat(path)
        if not _stat.S_ISREG(st.st_mode):  # a FIFO would block the reader forever
            raise OSError(0, "not a regular file", path)
        return Stat(st.st_size, st.st_mtime, (st.st_ino, st.st_dev))

    @staticmethod
    def is_dir(path: str) -> bool:
        return os.path.isdir(path)

    @staticmethod
    def read(path: str, offset: int, size: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)

    @staticmethod
    def read_into(path: str, offset: int, out: memoryview) -> int:
        """Read up to ``len(out)`` bytes from ``offset`` into ``out``; how many were read."""
        if _PREADV:  # thousands of small files: open, one pread, close (no file object, no seek)
            fd = os.open(path, _O_READ)
            try:
                got, n = 0, len(out)
                while got < n:
                    k = os.preadv(fd, [out[got:]], offset + got)
                    if not k:
                        break
                    got += k
                return got
            finally:
                os.close(fd)
        with open(path, "rb", buffering=0) as f:
            f.seek(offset)
            got = 0
            while got < len(out):
                k = f.readinto(out[got:])
                if not k:
                    break
                got += k
            return got

    @staticmethod
    def readable_dir(path: str) -> str | None:
        """None if ``path`` is a readable directory, else why not."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return f"logdir {path} does not exist; check the path"
        except OSError as e:
            return f"logdir {path} cannot be read: {e.strerror}"
        if not _stat.S_ISDIR(st.st_mode):
            return f"logdir {path} is not a directory"
        if not os.access(path, os.R_OK | os.X_OK):
            return f"logdir {path} cannot be read: permission denied"
        return None


class FsspecSource:
    """An fsspec file system (object stores): one listing per poll, ranged reads of new bytes.

    Bound to one logdir (its root). :meth:`list_tree` lists the whole prefix at once (a
    recursive, paginated listing: ``ceil(objects / 1000)`` requests on S3, not one per
    directory), and that listing answers :meth:`stat` and :meth:`is_dir` without further
    requests. A file stat'ed a second time since the last listing triggers a new listing, so
    a poll without a rescan still sees new bytes. The new bytes of every event file that grew
    are fetched at once, concurrently (``cat_ranges``), at the first :meth:`read` after a
    listing; a read they don't cover is one ranged GET.

    Paths are full URLs (``protocol://…``) built the same way everywhere, so that a run's
    name is its path relative to the logdir URL. Every failure is an OSError: a
    FileNotFoundError for an object that is gone, else a :class:`RemoteError` whose message
    says what to do.
    """

    sep = "/"

    def __init__(self, url: str) -> None:
        self.fs, path = open_fs(url)
        self.protocol = url.split("://", 1)[0]
        self.url = url
        self.root = self._url(path.rstrip("/") or "/")
        self._listing: dict[str, Stat] | None = None  # URL -> Stat, from the last listing
        self._dirs: set[str] = set()  # directory URLs in the last listing
        self._used: set[str] = set()  # URLs stat'ed since the last listing
        self._down: RemoteError | None = None  # the last listing failed: no more tries this poll
        self._read_to: dict[str, int] = {}  # URL -> the end of the last bytes read from it
        self._plan: dict[str, tuple[int, int]] = {}  # URL -> the range the next read will likely want
        self._ahead: dict[str, tuple[int, bytes]] = {}  # URL -> (offset, bytes) fetched ahead

    def _path(self, url: str) -> str:
        head = f"{self.protocol}://"
        if url.startswith(head):
            return url[len(head):]  # a URL built by _url
        return open_fs(url)[1]

    def _url(self, path: str) -> str:
        return f"{self.protocol}://{path}"

    def normalize(self, url: str) -> str:
        if url == self.url:
            return self.root
        return self._url(open_fs(url)[1].rstrip("/") or "/")

    @staticmethod
    def join(*parts: str) -> str:
        return "/".join(p.rstrip("/") for p in parts)

    def _call(self, url: str, fn: Callable[[], T]) -> T:
        """Run a file-system call; FileNotFoundError stays, anything else becomes a RemoteError."""
        try:
            return fn()
        except FileNotFoundError:
            raise
        except Exception as e:  # client libraries raise anything; describe() names it
            raise RemoteError(describe(e, url, self.fs)) from e

    # ---- the listing -----------------------------------------------------------------------
    def list_tree(self, root: str) -> list[RemoteObject]:
        """Every object under ``root`` (the logdir), in one recursive listing.

        Raises:
            RemoteError: the listing failed (network, credentials, bucket…).
        """
        self._down = None
        path = self._path(root)
        try:
            found = self._call(root, lambda: self.fs.find(path, detail=True))
        except FileNotFoundError as e:
            if not missing_bucket(e):
                found = {}  # a prefix with nothing under it: no runs (yet)
            else:
                self._down = RemoteError(describe(e, root, self.fs))
                raise self._down from e
        except RemoteError as e:
            self._down = e
            raise
        finally:
            self.fs.invalidate_cache()  # find() fills s3fs's listing cache, which would go stale
        objects: list[RemoteObject] = []
        listing: dict[str, Stat] = {}
        dirs: set[str] = {root}
        for name, info in found.items():
            if info.get("type") == "directory" or str(name).endswith("/"):
                continue
            url = self._url(str(name))
            st = Stat(int(info.get("size") or 0), _mtime(info), ("",))
            listing[url] = st
            objects.append(RemoteObject(url, st.size, st.mtime))
            parent = url.rpartition("/")[0]
            while len(parent) > len(root) and parent not in dirs:
                dirs.add(parent)
                parent = parent.rpartition("/")[0]
        self._listing, self._dirs, self._used = listing, dirs, set()
        self._plan_reads(listing)
        return objects

    def _plan_reads(self, listing: dict[str, Stat]) -> None:
        """The bytes the reader will ask for next: the new bytes of each event file that grew
        (from 4 bytes before the end of the last read, as the reader checks them). They are
        fetched all at once, concurrently, at the first read (see :meth:`read`)."""
        self._ahead = {}
        plan: dict[str, tuple[int, int]] = {}
        total = 0
        for url, st in listing.items():
            if not is_event_file_name(url.rpartition("/")[2]):
                continue
            done = self._read_to.get(url)
            start = 0 if done is None else max(0, done - FOOTER)
            if st.size <= (done or 0) or total >= PREFETCH_TOTAL:
                continue
            end = min(st.size, start + PREFETCH_OBJECT)
            plan[url] = (start, end)
            total += end - start
        self._plan = plan

    def _fetch_ahead(self) -> None:
        """Fetch every planned range at once (s3fs runs them concurrently)."""
        plan, self._plan = self._plan, {}
        if len(plan) < 2:
            return  # one read is one request either way
        urls = list(plan)
        try:
            got = self.fs.cat_ranges([self._path(u) for u in urls], [plan[u][0] for u in urls],
                                     [plan[u][1] for u in urls])
        except Exception:  # the reads will be made one by one, and report their own errors
            return
        self._ahead = {u: (plan[u][0], bytes(data)) for u, data in zip(urls, got, strict=False)
                       if isinstance(data, (bytes, bytearray))}

    def _known(self, url: str) -> bool:
        return url == self.root or url.startswith(self.root.rstrip("/") + "/")

    def stat(self, url: str) -> Stat:
        """From the last listing (raises FileNotFoundError for an object not in it)."""
        if not self._known(url):
            info = self._call(url, lambda: self.fs.info(self._path(url)))
            return Stat(int(info.get("size") or 0), _mtime(info), ("",))
        if self._down is not None:
            raise self._down
        if self._listing is None or url in self._used:
            self.list_tree(self.root)
        assert self._listing is not None
        self._used.add(url)
        st = self._listing.get(url)
        if st is None:
            raise FileNotFoundError(url)
        # An object's etag changes on every upload, appends included, so it can't tell a
        # replaced object from a grown one; the reader checks the bytes before its offset.
        return st

    def is_dir(self, url: str) -> bool:
        """From the last listing; while the store can't be reached, the last good answer."""
        if self._listing is None and self._down is None:
            self.list_tree(self.root)
        return url in self._dirs

    def read(self, url: str, offset: int, size: int) -> bytes:
        """Bytes ``offset`` to ``offset + size``: fetched ahead with the other files' new bytes
        at the first read after a listing, else one ranged GET."""
        if self._plan:
            self._fetch_ahead()
        ahead = self._ahead.pop(url, None)
        if ahead is not None and ahead[0] <= offset and offset + size <= ahead[0] + len(ahead[1]):
            data = ahead[1][offset - ahead[0]:offset - ahead[0] + size]
        else:
            data = bytes(self._call(url, lambda: self.fs.cat_file(self._path(url), start=offset, end=offset + size)))
        self._read_to[url] = offset + len(data)
        return data

    def readable_dir(self, url: str) -> str | None:
        """None if ``url`` can be listed and holds something, else one line saying why not."""
        try:
            objects = self.list_tree(url)
        except RemoteError as e:
            return str(e)
        if not objects:
            return f"logdir {url} does not exist (nothing is stored under it); check the URL"
        return None


def _mtime(info: dict[str, Any]) -> float:
    """An object's modification time from a listing entry (epoch seconds; 0 when unknown).

    File systems say it differently: a datetime (s3fs ``LastModified``, memory ``created``),
    a number (``mtime``) or an ISO 8601 string (gcsfs ``updated``).
    """
    mtime = info.get("mtime") or info.get("LastModified") or info.get("updated") or info.get("created") or 0
    if isinstance(mtime, str):
        try:
            when = datetime.fromisoformat(mtime.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp()
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    try:
        return float(mtime)
    except (TypeError, ValueError):
        return 0.0


def source_for(path: str) -> LocalSource | FsspecSource:
    """The source that can read ``path`` (a local path or an fsspec URL).

    Raises:
        RemoteError: for a URL whose file system can't be opened (unknown protocol, a
            missing package); the message says what to do.
    """
    if is_url(path):
        return FsspecSource(path)
    return LOCAL


LOCAL = LocalSource()
