"""`tbpeek watch`: fast help, clear errors with exit 2, options reach the app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.cli import main


def test_watch_help_does_not_import_textual():
    code = ("import sys, contextlib, io\n"
            "from tui.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    main(['watch', '--help'])\n"
            "assert '--theme' in out.getvalue() and '--poll' in out.getvalue()\n"
            "print('textual' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_missing_logdir_exits_2_with_message(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "does not exist" in err


def test_default_command_is_watch(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--poll", "0"], "more than 0"),
    (["--poll", "soon"], "can't read duration"),
    (["--role", "entropy"], "ROLE=TAG"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, words):
    assert main(["watch", *argv, str(tmp_path)]) == 2
    assert words in capsys.readouterr().err


def test_bad_role_name_exits_2(tmp_path, capsys):
    assert main(["watch", "--role", "bogus=x", str(tmp_path)]) == 2
    assert "unknown role" in capsys.readouterr().err


def test_options_from_args_and_config(tmp_path):
    import argparse

    from tui.app.cli import build_options, configure

    p = argparse.ArgumentParser()
    configure(p)
    args = p.parse_args(["--poll", "2s", "--actions", "6", "--role", "entropy=my/ent", str(tmp_path)])
    opts = build_options(args, {"ui": {"theme": "tbpeek-light"}})
    assert opts.poll == 2.0
    assert opts.theme == "tbpeek-light"
    assert opts.health.actions == 6 and opts.health.roles == {"entropy": "my/ent"}
    args = p.parse_args(["--theme", "nord", str(tmp_path)])
    assert build_options(args, {"ui": {"theme": "tbpeek-light"}}).theme == "nord"  # the flag wins


def test_config_flag_reads_that_file_and_a_bad_one_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[looks]\nevery = ")
    assert main(["watch", "--config", str(bad), str(tmp_path)]) == 2
    assert str(bad) in capsys.readouterr().err
    odd = tmp_path / "odd.toml"
    odd.write_text('[looks]\nevery = "1m"\nwindow = "5m"\n')  # a window longer than the gap
    assert main(["watch", "--config", str(odd), str(tmp_path)]) == 2
    assert "window" in capsys.readouterr().err
    assert main(["review", "--config", str(bad), str(tmp_path)]) == 2
