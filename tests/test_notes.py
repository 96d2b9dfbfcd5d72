"""Run notes: keyed by absolute run path, kept in the state directory, saved atomically."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tui.config import state_dir
from tui.notes import Note, NoteStore, run_key

REPO = Path(__file__).resolve().parents[1]


def test_save_and_get_round_trip_by_absolute_path(tmp_path, monkeypatch):
    run = tmp_path / "logs" / "ppo_seed1"
    run.mkdir(parents=True)
    store = NoteStore()
    saved = store.save(Note(str(run), question="Does lr 3e-4 fix the collapse?",
                            expectation="entropy stays above 0.5 of max", outcome=""), now=123.0)
    assert saved.updated == 123.0
    monkeypatch.chdir(tmp_path / "logs")
    got = store.get("ppo_seed1")  # a relative path names the same run
    assert got == saved
    assert got.question == "Does lr 3e-4 fix the collapse?"
    assert store.get(tmp_path / "logs" / "other") is None


def test_notes_live_in_the_state_dir_never_in_the_logdir(tmp_path):
    run = tmp_path / "logs" / "run"
    run.mkdir(parents=True)
    before = sorted(p.name for p in (tmp_path / "logs").rglob("*"))
    NoteStore().save(Note(str(run), question="q"))
    assert sorted(p.name for p in (tmp_path / "logs").rglob("*")) == before
    files = list((state_dir() / "notes").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    assert json.loads(files[0].read_text())["run_path"] == run_key(run)


def test_unicode_and_untrusted_text_survive(tmp_path):
    store = NoteStore(tmp_path / "n")
    text = "entropy ≈ ln 6 </script><b>\n\"quoted\" \x00"
    store.save(Note("/runs/a", question=text))
    assert store.get("/runs/a").question == text


def test_all_lists_notes_and_ignores_temp_files_and_warns_on_damage(tmp_path):
    store = NoteStore(tmp_path / "n")
    store.save(Note("/runs/a", question="qa"))
    store.save(Note("/runs/b", expectation="eb"))
    (store.root / ".tmp-leftover.json").write_text("{\"run_path\": \"/runs/zzz\"")  # interrupted save
    store.file_for("/runs/c").write_text("{not json")
    with pytest.warns(UserWarning, match="can't be read"):
        notes = store.all()
    assert sorted(notes) == ["/runs/a", "/runs/b"]
    assert notes["/runs/b"].expectation == "eb"


def test_save_overwrites_and_delete_removes(tmp_path):
    store = NoteStore(tmp_path / "n")
    store.save(Note("/runs/a", question="v1"))
    store.save(Note("/runs/a", question="v2"))
    assert store.get("/runs/a").question == "v2"
    assert len(list(store.root.iterdir())) == 1  # no temp files left behind
    assert store.delete("/runs/a") and store.get("/runs/a") is None
    assert not store.delete("/runs/a")


def test_empty_note_is_empty():
    assert Note("/x").empty and Note("/x", outcome=" \n").empty
    assert not Note("/x", expectation="e").empty


_KILLER = textwrap.dedent("""
    import os, signal, sys
    from tui.notes import Note, NoteStore
    store = NoteStore(sys.argv[1])
    target = sys.argv[2]
    real = getattr(os, target)
    def die(*a, **k):
        os.kill(os.getpid(), signal.SIGKILL)   # killed mid-save, at the worst moment
    setattr(os, target, die)
    store.save(Note("/runs/a", question="NEW " * 50000))
""")


@pytest.mark.parametrize("moment", ["fsync", "replace"])
def test_a_process_killed_mid_save_loses_nothing(tmp_path, moment):
    root = tmp_path / "n"
    store = NoteStore(root)
    store.save(Note("/runs/a", question="the old question", expectation="old expectation"))
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(root), moment], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # The new note was written (partly or wholly) to a temp file, never over the old one.
    assert any(p.name.startswith(".tmp-") for p in root.iterdir())
    got = NoteStore(root).get("/runs/a")
    assert got is not None and got.question == "the old question"
    assert NoteStore(root).all().keys() == {"/runs/a"}


_LOOP = textwrap.dedent("""
    import sys
    from tui.notes import Note, NoteStore
    store = NoteStore(sys.argv[1])
    i = 0
    print("ready", flush=True)
    while True:
        i += 1
        store.save(Note("/runs/a", question=f"version {i} " + "x" * 20000, expectation=str(i)))
""")


def test_killed_at_a_random_moment_leaves_a_whole_note(tmp_path):
    root = tmp_path / "n"
    NoteStore(root).save(Note("/runs/a", question="version 0 ", expectation="0"))
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP, str(root)], cwd=REPO,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 * (1 + _))  # let it save a number of times, then kill it anywhere
        proc.kill()
        proc.wait()
        proc.stdout.close()
        note = NoteStore(root).get("/runs/a")
        assert note is not None
        assert note.question.startswith(f"version {note.expectation} ")  # whole and consistent
