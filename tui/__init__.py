"""tbpeek: watch TensorBoard training runs from the terminal."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # ``tui.__version__``, looked up when asked: importlib.metadata costs ~50 ms (email,
    # zipfile, ...), which every `tbpeek status` call in a tmux status bar would pay.
    if name != "__version__":
        raise AttributeError(f"module 'tui' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("tbpeek")
    except PackageNotFoundError:  # running from a source tree that was never installed
        v = "0+unknown"
    globals()["__version__"] = v
    return v
