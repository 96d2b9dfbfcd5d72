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


def _modules_at_check_start(logdir: str, env: dict[str, str]) -> set[str]:
    """The modules imported by the time `tbpeek check LOGDIR` asks where to split the tree
    (config read, options built: its start-up), in a subprocess."""
    code = ("import json, os, sys, tui.cli, tui.ingest\n"
            "def stop(self, n):\n"
            "    print(json.dumps(sorted(sys.modules)), flush=True)\n"
            "    os._exit(0)\n"
            "tui.ingest.Ingestor.split_point = stop\n"
            f"tui.cli.main(['check', {logdir!r}])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    return set(json.loads(out))


def _env_without_config_dir(**extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("TBPEEK_CONFIG_DIR", "XDG_CONFIG_HOME")}
    return {**env, **extra}


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rule is read without platformdirs on Linux only")
def test_check_starts_without_what_it_never_uses(tmp_path):
    """No config file in the XDG place: neither platformdirs nor pathlib nor tomllib (nor
    tempfile, shutil that they import) at check's start-up; ls's savings hold too."""
    env = _env_without_config_dir(XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    found = _modules_at_check_start(str(tmp_path), env)
    assert "tui.health" in found  # (it got as far as judging needs)
    assert not {"platformdirs", "pathlib", "tomllib", "tempfile", "shutil", "tui.health.tracker"} & found


def test_the_trackers_names_imported_when_asked_for_are_its_own():
    import tui.health
    from tui.health import tracker

    for name in tui.health._LAZY:
        assert getattr(tui.health, name) is getattr(tracker, name)
        assert name in tui.health.__all__
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = tui.health.no_such_name


def _platformdirs_config_dir() -> str:
    import platformdirs

    return platformdirs.user_config_dir("tbpeek")


@pytest.mark.parametrize("xdg", [None, "", "/srv/cfg", "/srv/cfg/", "//srv/cfg", "relative/cfg", " /srv/cfg"])
@pytest.mark.parametrize("home", [None, "", "/home/u", "/home/u/", "/", "relative/home"])
def test_the_config_dir_is_platformdirs(xdg, home, monkeypatch):
    """The XDG rule read without platformdirs gives its directory, whatever the variables say."""
    from pathlib import Path

    from tui.config import config_dir

    monkeypatch.delenv("TBPEEK_CONFIG_DIR")
    for name, value in (("XDG_CONFIG_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert config_dir() == Path(_platformdirs_config_dir())
    assert str(config_dir()) == str(Path(_platformdirs_config_dir()))


@pytest.mark.parametrize("via", ["XDG_CONFIG_HOME", "HOME"])
def test_the_default_config_file_is_found(via, tmp_path, monkeypatch):
    from pathlib import Path

    from tui.config import load_config

    monkeypatch.delenv("TBPEEK_CONFIG_DIR")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv(via, str(tmp_path))
    folder = Path(_platformdirs_config_dir())
    assert folder.is_relative_to(tmp_path)
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('[roles]\nentropy = "my/entropy"\n')
    cfg = load_config()
    assert cfg.path == folder / "config.toml" and isinstance(cfg.path, Path)
    assert cfg.roles == {"entropy": "my/entropy"}
    (folder / "config.toml").write_text("[roles\n")
    with pytest.raises(Exception, match=f"config file {folder / 'config.toml'} is not valid TOML"):
        load_config()
    (folder / "config.toml").unlink()
    (folder / "config.toml").mkdir()
    with pytest.raises(Exception, match=f"can't read config file {folder / 'config.toml'}: Is a directory"):
        load_config()


@pytest.mark.parametrize(("given", "message"), [
    ("", "can't read config file .: Is a directory"),
    ("nowhere//config.toml", "config file nowhere/config.toml does not exist"),
    ("./a/../config.toml", "config file a/../config.toml does not exist"),
])
def test_a_given_config_file_is_named_as_a_path(given, message, tmp_path, monkeypatch):
    from tui.config import ConfigError, load_config

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_config(given)
    assert str(e.value) == message


@pytest.mark.parametrize(("texts", "actions"), [
    ({}, None), ({"h": "action_space: Discrete(7)"}, 7), ({"h": "env: PongNoFrameskip-v4"}, 6),
    ({"h": "n_actions = 5"}, 5), ({"h": "nothing here"}, None), ({"a": "x", "b": "NUM_ACTIONS: 12"}, 12),
])
def test_the_action_counts_from_text_summaries(texts, actions):
    """`roles`' action-count patterns (compiled on their first search) find the counts."""
    from tui.health import roles

    assert roles.actions_from_texts(texts) == actions
