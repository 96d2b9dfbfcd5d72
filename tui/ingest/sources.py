"""Where event files live: the local file system, or an fsspec URL (``s3://``, ``gs://``…).

A source answers three questions, cheaply: what is in a directory, how big is a file now (and
is it still the same file), and what are the bytes from an offset. Local files are the
priority; fsspec URLs work by polling object sizes and ranged reads, and only when ``fsspec``
(not a dependency of tbpeek) is importable.
"""

from __future__ import annotations

import os
import stat as _stat
from dataclasses import dataclass

from tui.vocab import is_url  # the one rule: file:// is local


@dataclass(frozen=True)
class Stat:
    size: int
    mtime: float
    ident: tuple  # changes when the file is replaced (inode, device; or an object's etag)


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    is_dir: bool


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
    def dir_mtime(path: str) -> float:
        return os.stat(path).st_mtime

    @staticmethod
    def is_dir(path: str) -> bool:
        return os.path.isdir(path)

    @staticmethod
    def listdir(path: str) -> list[Entry]:
        out = []
        with os.scandir(path) as it:
            for e in it:
                try:
                    is_dir = e.is_dir()
                except OSError:
                    continue  # vanished between listing and looking: the next scan decides
                out.append(Entry(e.name, e.path, is_dir))
        return out

    @staticmethod
    def read(path: str, offset: int, size: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)

    @staticmethod
    def read_into(path: str, offset: int, out: memoryview) -> int:
        """Read up to ``len(out)`` bytes from ``offset`` into ``out``; how many were read."""
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
    """An fsspec file system (object stores): sizes are polled, new bytes read by range.

    Paths are full URLs (``protocol://…``) built the same way everywhere, so that a run's
    name is its path relative to the logdir URL.
    """

    sep = "/"

    def __init__(self, url: str) -> None:
        import fsspec  # optional: only imported when a URL is given

        self.fs, _ = fsspec.core.url_to_fs(url)
        self.protocol = url.split("://", 1)[0]

    def _path(self, url: str) -> str:
        return self.fs._strip_protocol(url)

    def _url(self, path: str) -> str:
        return f"{self.protocol}://{path}"

    def normalize(self, url: str) -> str:
        return self._url(self._path(url).rstrip("/") or "/")

    @staticmethod
    def join(*parts: str) -> str:
        return "/".join(p.rstrip("/") for p in parts)

    def stat(self, url: str) -> Stat:
        info = self.fs.info(self._path(url))  # raises FileNotFoundError / OSError like os.stat
        size = int(info.get("size") or 0)
        mtime = info.get("mtime") or info.get("LastModified") or info.get("updated") or info.get("created") or 0
        if hasattr(mtime, "timestamp"):
            mtime = mtime.timestamp()
        try:
            mtime = float(mtime)
        except (TypeError, ValueError):
            mtime = 0.0
        # An object's etag changes on every upload, appends included, so it can't tell a
        # replaced object from a grown one; the reader checks the bytes before its offset.
        return Stat(size, mtime, ("",))

    def dir_mtime(self, url: str) -> float:
        if not self.fs.isdir(self._path(url)):
            raise FileNotFoundError(url)
        return -1.0  # object stores have no directory mtimes: always list

    def is_dir(self, url: str) -> bool:
        return bool(self.fs.isdir(self._path(url)))

    def listdir(self, url: str) -> list[Entry]:
        out = []
        for info in self.fs.ls(self._path(url), detail=True):
            name = info["name"].rstrip("/")
            out.append(Entry(name.rsplit("/", 1)[-1], self._url(name), info.get("type") == "directory"))
        return out

    def read(self, url: str, offset: int, size: int) -> bytes:
        return self.fs.cat_file(self._path(url), start=offset, end=offset + size)

    def readable_dir(self, url: str) -> str | None:
        try:
            if not self.fs.isdir(self._path(url)):
                return f"logdir {url} does not exist or is not a directory; check the URL"
        except OSError as e:
            return f"logdir {url} cannot be read: {e}"
        return None


def source_for(path: str):
    """The source that can read ``path`` (a local path or an fsspec URL).

    Raises:
        ImportError: for a URL when fsspec is not installed.
    """
    if is_url(path):
        return FsspecSource(path)
    return LOCAL


LOCAL = LocalSource()
