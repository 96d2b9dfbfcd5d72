"""Start-up of the commands: what they import (every module costs each run's serial start-up)
and that the cheaper ways give the same results."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from tui.cli import _columns, build_parser


@pytest.mark.parametrize("columns", ["40", "80", "133", "", "x", "-5"])
@pytest.mark.parametrize("command", ["ls", "check", "watch"])
def test_help_is_what_the_stock_formatter_prints(command, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    top = build_parser(command)
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    ours = (top.format_help(), sub.format_help())
    top.formatter_class = sub.formatter_class = argparse.HelpFormatter
    assert ours == (top.format_help(), sub.format_help())


@pytest.mark.parametrize("columns", ["57", "", "0", "wide"])
def test_the_width_is_shutils(columns, monkeypatch):
    import shutil

    monkeypatch.setenv("COLUMNS", columns)
    assert _columns() == shutil.get_terminal_size().columns


def test_the_names_imported_when_asked_for_are_their_modules_own():
    import tui.vocab
    from tui.vocab import runstate, severity

    lazy = tui.vocab._LAZY
    assert set(lazy) <= set(tui.vocab.__all__)
    for name, module in lazy.items():
        assert getattr(tui.vocab, name) is getattr({"runstate": runstate, "severity": severity}[module], name)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = tui.vocab.no_such_name


def _modules_at_ls_start() -> set[str]:
    """The modules imported by the time `tbpeek ls` has parsed its arguments and imported its
    module (a subprocess: this one has imported everything)."""
    code = ("import sys, json; import tui.cli; tui.cli.build_parser('ls').parse_args(['ls', '--json', '.']);"
            "import tui.report.ls; print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_ls_starts_without_what_it_never_uses():
    assert not {"tui.vocab.runstate", "tui.vocab.severity", "shutil"} & _modules_at_ls_start()


@pytest.mark.parametrize("argv", [["ls", "--json", "runs", "--logdir", "more"], ["check", "runs", "--fail-on", "warn"],
                                  ["status", "runs"], ["export", "runs", "-o", "x.csv"], ["ls", "--bogus", "runs"],
                                  ["ls", "-h"], ["check"], ["looks", "--version"]])
def test_a_commands_parser_alone_parses_as_the_full_parser(argv, capsys):
    """`tbpeek CMD ...` builds only CMD's subparser: the same arguments, errors and help."""
    import tui.cli

    def parse(parser: argparse.ArgumentParser) -> tuple[object, str, str]:
        try:
            result: object = vars(parser.parse_args(argv))
        except SystemExit as e:
            result = ("exit", e.code)
        out, err = capsys.readouterr()
        return result, out, err

    assert parse(tui.cli._build(argv[0], alone=True)[0]) == parse(tui.cli._build()[0])


def test_each_severity_has_its_style():
    from tui.report.colour import SEVERITY_STYLE, Paint
    from tui.vocab import Severity

    assert SEVERITY_STYLE == {Severity.OK: "green", Severity.INFO: "cyan", Severity.WARN: "yellow",
                              Severity.ALARM: "bold red"}
    assert Paint(True).severity("ALARM", Severity.ALARM) == Paint(True)("ALARM", "bold red") != "ALARM"
