"""tui.vocab is a light leaf; Severity/Verdict, exit codes; the typed config."""

import subprocess
import sys

import pytest

from tui.config import Config, ConfigError, as_config, load_config
from tui.vocab import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Severity, Verdict, worst


def test_importing_vocab_loads_neither_numpy_nor_textual():
    code = ("import sys, tui.vocab, tui.config, tui.looks.settings, tui.looks.policy, tui.report.status_cache; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'textual')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_severity_order_words_and_parsing():
    assert Severity.OK < Severity.INFO < Severity.WARN < Severity.ALARM
    assert [s.label for s in Severity] == ["ok", "info", "warn", "alarm"]
    assert Severity.parse(" Warn ") is Severity.WARN and Severity.coerce(3) is Severity.ALARM
    assert Severity.coerce("info") is Severity.INFO
    for bad in ("fatal", 7):
        with pytest.raises(ValueError):
            Severity.coerce(bad)


def test_verdict_and_worst_and_the_old_home():
    from tui.health.verdict import Severity as OldSeverity
    from tui.health.verdict import Verdict as OldVerdict

    assert OldSeverity is Severity and OldVerdict is Verdict
    a = Verdict("entropy", "healthy", Severity.OK, "fine")
    b = Verdict("throughput", "stalled", Severity.WARN, "quiet")
    c = Verdict("reward", "collapsed", Severity.WARN, "gave back")
    assert worst([a, b, c]) is b and worst([]) is None
    assert b.to_json()["severity"] == "warn"


def test_exit_codes():
    assert (EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_INTERRUPTED) == (0, 1, 2, 130)


@pytest.mark.parametrize("data, message", [
    ({"roles": 5}, "roles must be a table"),
    ({"health": "x"}, "health must be a table"),
    ({"roles": {"entropy": 3}}, "[roles] entropy must be a string, not an integer 3"),
    ({"health": {"actions": [6]}}, "[health] actions must be a number or a duration string, not a list"),
    ({"looks": {"every": {"a": 1}}}, "[looks] every must be a string, number or true/false"),
    ({"looks": {"on_alarm": ["a", 1]}}, "[looks] on_alarm must be a list of strings"),
    ({"ui": {"theme": 3}}, "[ui] theme must be a string"),
    ({"ui": {"colour": "x"}}, "[ui]: unknown key 'colour'"),
    ({"groups": {"seed_pattern": True}}, "[groups] seed_pattern must be a string, not a boolean"),
    ({"look": {}}, "unknown key 'look' at the top level"),
])
def test_config_values_of_the_wrong_type_name_the_key(data, message):
    with pytest.raises(ConfigError) as e:
        Config.from_dict(data)
    assert message in str(e.value)


def test_config_reads_every_section(tmp_path):
    p = tmp_path / "config.toml"
    p.write_text('[roles]\nentropy = "a/h"\n[health]\nactions = 6\n[looks]\nevery = "1h"\n'
                 '[ui]\ntheme = "nord"\n[groups]\nseed_pattern = "-s\\\\d+$"\n')
    c = load_config(p)
    assert c.path == p and dict(c.roles) == {"entropy": "a/h"} and dict(c.health) == {"actions": 6}
    assert dict(c.looks) == {"every": "1h"} and c.theme == "nord" and c.seed_pattern == "-s\\d+$"
    assert as_config(None) == Config() and as_config(c) is c
    assert as_config({"ui": {"theme": "x"}}).theme == "x"


def test_cli_says_which_key_is_wrong(tmp_path, capsys):
    from tui.cli import main

    bad = tmp_path / "config.toml"
    bad.write_text("roles = 5\n")
    for cmd in ("check", "status", "review", "watch"):
        assert main([cmd, str(tmp_path), "--config", str(bad)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "roles must be a table" in err and "dictionary update" not in err, (cmd, err)
