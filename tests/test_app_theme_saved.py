"""The theme picked with `t` persists in the config file (issue 14.10), and only the
``[ui] theme`` key changes: the rest of the person's file is kept as written."""

from __future__ import annotations

import sys

import pytest
from app_fixtures import NOW, fixed_store
from testing import sync

from tui.app.app import AppOptions, make_app
from tui.app.themes import ThemeSaveError, save_theme
from tui.config import load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

USER_FILE = """\
# my tbpeek settings
[looks]
every = "30m"   # a comment that must survive
quiet_hours = "22:00-07:00"

[ui]
theme = "tbpeek-dark"

[groups]
seed_pattern = '_s(\\d+)$'
"""


@sync
async def test_a_picked_theme_is_written_to_the_config_and_read_next_time(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(USER_FILE)
    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW, theme="tbpeek-dark", theme_file=cfg))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert cfg.read_text() == USER_FILE  # starting the app writes nothing
        app.theme = "tbpeek-light"  # what the picker (`t`) does
        await pilot.pause(2.0)
        assert app.is_running
    text = cfg.read_text()
    assert text == USER_FILE.replace('theme = "tbpeek-dark"', 'theme = "tbpeek-light"')
    assert load_config(str(cfg)).theme == "tbpeek-light"


@sync
async def test_a_theme_picked_just_before_quitting_is_kept(tmp_path):
    cfg = tmp_path / "sub" / "config.toml"  # no file yet: created with only [ui] theme
    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW, theme_file=cfg))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        app.theme = "tbpeek-dusk"
        await pilot.pause()
        await pilot.press("q")
    assert tomllib.loads(cfg.read_text()) == {"ui": {"theme": "tbpeek-dusk"}}


@sync
async def test_a_file_that_cannot_be_edited_safely_is_left_alone_and_the_app_says_so(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('ui = { theme = "tbpeek-dark" }\n')
    notes: list[str] = []
    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW, theme_file=cfg))
    real = app.notify
    app.notify = lambda m, **kw: (notes.append(m), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        app.theme = "tbpeek-light"
        await pilot.pause(2.0)
    assert cfg.read_text() == 'ui = { theme = "tbpeek-dark" }\n'
    assert any("not kept" in n and "[ui]" in n for n in notes)


@pytest.mark.parametrize("before, after", [
    ("", '[ui]\ntheme = "x"\n'),
    ("[looks]\nevery = \"1h\"\n", '[looks]\nevery = "1h"\n\n[ui]\ntheme = "x"\n'),
    ("[ui]\n# mine\n\n[looks]\nevery = 5\n", '[ui]\n# mine\ntheme = "x"\n\n[looks]\nevery = 5\n'),
    ("[ui]\n  theme='old'\n", '[ui]\n  theme = "x"\n'),
])
def test_save_theme_edits_only_the_key(tmp_path, before, after):
    cfg = tmp_path / "c.toml"
    cfg.write_text(before)
    save_theme(cfg, "x")
    assert cfg.read_text() == after


@pytest.mark.parametrize("text", ['ui.theme = "a"\n', "[ui\n", 'ui = {theme = "a"}\n'])
def test_save_theme_refuses_what_it_cannot_edit_safely(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ThemeSaveError):
        save_theme(cfg, "x")
    assert cfg.read_text() == text
