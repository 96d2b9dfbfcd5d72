"""tbpeek: watch TensorBoard training runs from the terminal."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # `__version__` is looked up only when asked for (`tbpeek --version`): importlib.metadata
    # costs tens of milliseconds at start-up, which every command would pay otherwise.
    if name != "__version__":
        raise AttributeError(f"module 'tui' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("tbpeek")
    except PackageNotFoundError:  # running from a source tree that was never installed
        v = "0+unknown"
    globals()["__version__"] = v
    return v
