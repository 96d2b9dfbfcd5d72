"""plotext behind one door: a figure of one's own for each chart.

plotext's public entry is one module-global figure (``plotext.figure``). Charts must not share
it (two charts built at once would mix their lines, and a global is a library's state we don't
own), so each chart makes a fresh ``terminal`` object, which owns a fresh master figure. That
route is private: ``plotext._kernel.terminal.terminal`` and its ``_master``. This module is
the only one that uses them; `new_figure` raises `PlotextChanged`, naming what is missing, if
a plotext release moves them, and ``tests/test_live_chart.py`` checks it on every run.
"""

from __future__ import annotations

from typing import Any

PRIVATE_NAMES = ("plotext._kernel.terminal.terminal", "terminal()._master")


class PlotextChanged(RuntimeError):
    """The installed plotext no longer has the private names tbpeek's charts rely on."""


def new_figure(width: int, height: int) -> Any:
    """A fresh plotext figure of `width` × `height` cells, sized to the widget, not to the
    real terminal.

    Raises:
        PlotextChanged: plotext's private figure API is gone (a new plotext release).
    """
    try:
        from plotext._kernel.terminal import terminal
    except ImportError as e:
        raise PlotextChanged(f"plotext {_version()} has no {PRIVATE_NAMES[0]} ({e}); "
                             "tui/live/plotext_figure.py must follow plotext's new API") from e
    term = terminal()
    term.limit(False, False)
    try:
        fig = term._master
    except AttributeError as e:
        raise PlotextChanged(f"plotext {_version()}: {PRIVATE_NAMES[1]} is gone; "
                             "tui/live/plotext_figure.py must follow plotext's new API") from e
    fig.plot_size(width, height)
    return fig


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plotext")
    except PackageNotFoundError:
        return "?"
