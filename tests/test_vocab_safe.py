"""Untrusted text made safe for terminals and tmux (tui.vocab.safe)."""

from hypothesis import given
from hypothesis import strategies as st

from tui.vocab import has_controls, safe_terminal, safe_tmux


def test_control_characters_become_visible_escapes():
    assert safe_terminal("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"  # OSC title
    assert safe_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"  # screen clear
    assert safe_terminal("x\ry") == "x\\x0dy"
    assert safe_terminal("\x9b31m") == "\\x9b31m"  # 8-bit CSI
    assert safe_terminal("\x7f\x00\x85") == "\\x7f\\x00\\x85"  # DEL, NUL, NEL (C1)
    assert safe_terminal("a\nb\tc") == "a\\x0ab\\x09c"


def test_nothing_else_changes():
    for text in ("-3.2", "1e-05", "ppo/seed-3", "entropy [bold]x[/]", "名前", "שלום", "a\\x1b", "#(ls)", " "):
        assert safe_terminal(text) == text
    assert safe_terminal("\xa0é") == "\xa0é"  # U+00A0 is just past C1: not a control


def test_invisible_format_characters_become_visible():
    # A bidi override reorders what follows it on screen ("Trojan Source"); zero-width
    # characters hide inside a name and shift table columns.
    assert safe_terminal("run\u202etxt.exe") == "run\\u202etxt.exe"
    assert safe_terminal("a\u200bb\ufeff") == "a\\u200bb\\ufeff"
    assert safe_tmux("#\u2066") == "##\\u2066"


def test_tmux_doubles_hashes_too():
    assert safe_tmux("#(rm -rf ~)") == "##(rm -rf ~)"
    assert safe_tmux("#[fg=red]run\x1b") == "##[fg=red]run\\x1b"
    assert safe_tmux("-3.2") == "-3.2"


@given(st.text())
def test_output_holds_no_control_character(text):
    out = safe_terminal(text)
    assert not has_controls(out)
    assert all(not (0 <= ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) for c in out)
    if not has_controls(text):
        assert out == text


@given(st.text())
def test_tmux_output_has_only_doubled_hashes(text):
    out = safe_tmux(text)
    assert not has_controls(out)
    assert out.replace("##", "").count("#") == 0
