"""A plotext line chart as a widget: renders only when visible, cached by size and data."""

from __future__ import annotations

from rich.style import Style
from rich.text import Span, Text
from textual.color import Color
from textual.widget import Widget

from tui.live.chart import RGB, ChartSpec, Line, render

Markers = tuple[tuple[int, RGB], ...]  # (step, colour) vertical lines


class ChartWidget(Widget):
    """One chart. The screen assigns new `lines`/`markers` tuples and calls `refresh()`.

    The chart reads the screen's settings (smoothing, x axis, log y) at render time, so a
    settings change only needs a refresh; the rendered text is cached until size, data,
    settings or theme change.
    """

    DEFAULT_CSS = """
    ChartWidget { height: 12; width: 1fr; }
    """

    def __init__(self, title: str, lines: tuple[Line, ...] = (), markers: Markers = (), *,
                 classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.chart_title = title
        self.lines = lines
        self.markers = markers
        self._cache_key: tuple[object, ...] | None = None
        self._cache: Text | None = None

    def set_data(self, lines: tuple[Line, ...], markers: Markers = ()) -> None:
        self.lines, self.markers = lines, markers
        self.refresh()

    def render(self) -> Text:
        screen = self.screen
        settings = (getattr(screen, "smoothing", 0.0), getattr(screen, "x_mode", "step"),
                    getattr(screen, "log_y", False))
        fg = self.app.current_theme.foreground or ("#d0d0d0" if self.app.current_theme.dark else "#202020")
        key = (self.size.width, self.size.height, id(self.lines), id(self.markers), settings, fg)
        if key != self._cache_key or self._cache is None:
            spec = ChartSpec(
                title=self.chart_title, lines=self.lines, width=self.size.width, height=self.size.height,
                smoothing=settings[0], x_mode=settings[1], log_y=settings[2], markers=self.markers,
                foreground=Color.parse(fg).rgb, legend=False,  # the screen's header names the colours
            )
            self._cache = _foreground_only(Text.from_ansi(render(spec), no_wrap=True))
            self._cache_key = key
        return self._cache


def _foreground_only(text: Text) -> Text:
    """Drop plotext's background colours so the chart sits on the theme's background."""
    spans = []
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(str(span.style))
        spans.append(Span(span.start, span.end, Style(color=style.color, bold=style.bold)))
    text.spans = spans
    return text
