"""Writer evidence from event file names: host, PID, is the process alive, is it the writer?"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tui.vocab.writer import Proc, file_evidence, parse_event_file_name, run_writer, this_host

LINUX = os.path.isfile("/proc/stat") and os.path.isfile(f"/proc/{os.getpid()}/stat")


@pytest.mark.parametrize(("name", "host", "pid", "t"), [
    ("events.out.tfevents.1796059081.vm.7446.0", "vm", 7446, 1796059081),
    ("events.out.tfevents.1700000000.node1.cluster.local.123.4", "node1.cluster.local", 123, 1700000000),
    ("events.out.tfevents.1700000000.10.0.0.5.4567.0", "10.0.0.5", 4567, 1700000000),
    ("events.out.tfevents.1700000000.gpu-0.99.1.v2", "gpu-0", 99, 1700000000),  # TF2
    ("/some/dir/events.out.tfevents.1700000000.h.1.0", "h", 1, 1700000000),
])
def test_names_with_a_pid(name, host, pid, t):
    w = parse_event_file_name(name)
    assert w is not None and (w.host, w.pid, w.time) == (host, pid, t)


def test_names_without_a_pid():
    # tensorboardX and TF1 (Rahtz's real files): host only.
    w = parse_event_file_name("events.out.tfevents.1515586779.eu-c7-041-15")
    assert w is not None and w.host == "eu-c7-041-15" and w.pid is None
    assert parse_event_file_name("notes.txt") is None
    assert parse_event_file_name("events.out.tfevents.x.y") is None


def test_other_host_and_no_pid_are_no_evidence(tmp_path):
    f = tmp_path / f"events.out.tfevents.{int(time.time())}.some-other-host.{os.getpid()}.0"
    f.write_bytes(b"")
    e = file_evidence(str(f), host="this-host")
    assert e.alive is None and "some-other-host" in e.reason
    g = tmp_path / "events.out.tfevents.1515586779.eu-c7-041-15"
    assert file_evidence(str(g)).alive is None
    assert run_writer(str(tmp_path / "missing")).alive is None
    assert run_writer("s3://bucket/run").alive is None


def _fake_proc(root: Path, pid: int, start_ticks: int, btime: int = 1_700_000_000, state: str = "S") -> Proc:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text(f"cpu 1 2 3\nbtime {btime}\n")
    d = root / str(pid)
    d.mkdir(parents=True)
    fields = [state] + ["0"] * 18 + [str(start_ticks)] + ["0"] * 10
    (d / "stat").write_text(f"{pid} (py (trainer)) " + " ".join(fields) + "\n")
    return Proc(str(root))


def test_pid_reuse_is_not_the_writer(tmp_path):
    hz = os.sysconf("SC_CLK_TCK")
    run = tmp_path / "run"
    run.mkdir()
    f = run / "events.out.tfevents.1700000100.me.4242.0"
    f.write_bytes(b"")
    # The process with that pid started 50 s after the file was created: someone else.
    proc = _fake_proc(tmp_path / "proc", 4242, start_ticks=150 * hz)
    e = file_evidence(str(f), host="me", proc=proc)
    assert e.alive is False and "another process" in e.reason
    # Started before the file: the writer, alive.
    proc = _fake_proc(tmp_path / "proc2", 4242, start_ticks=90 * hz)
    assert file_evidence(str(f), host="me", proc=proc).alive is True
    # A zombie has exited.
    proc = _fake_proc(tmp_path / "proc4", 4242, start_ticks=90 * hz, state="Z")
    assert file_evidence(str(f), host="me", proc=proc).alive is False
    # No such process.
    assert file_evidence(str(run / "events.out.tfevents.1700000100.me.4243.0"), host="me", proc=proc).alive is False


def test_no_proc_is_no_evidence(tmp_path):
    f = tmp_path / f"events.out.tfevents.{int(time.time())}.me.{os.getpid()}.0"
    f.write_bytes(b"")
    assert file_evidence(str(f), host="me", proc=Proc(str(tmp_path / "nothing"))).alive is None


def test_run_is_alive_when_any_writer_is(tmp_path):
    hz = os.sysconf("SC_CLK_TCK")
    old = tmp_path / "events.out.tfevents.1700000000.me.111.0"  # first process, gone
    new = tmp_path / "events.out.tfevents.1700000500.me.4242.0"  # resumed process, alive
    old.write_bytes(b"")
    new.write_bytes(b"")
    proc = _fake_proc(tmp_path / "proc", 4242, start_ticks=490 * hz)
    e = run_writer(str(tmp_path), host="me", proc=proc)
    assert e.alive is True and e.pid == 4242
    new.unlink()
    e = run_writer(str(tmp_path), host="me", proc=proc)
    assert e.alive is False and e.pid == 111


WRITER = textwrap.dedent("""
    import sys, time
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    w = EventFileWriter(sys.argv[1])
    w.flush()
    print(w._file_name, flush=True)  # no public getter; the name is what the test checks
    sys.stdin.readline()  # until the test says so
    if sys.argv[2] == "close":
        w.close()  # a closed writer in a live process (a notebook): still no exit
        print("closed", flush=True)
        sys.stdin.readline()
""")


@pytest.mark.skipif(not LINUX, reason="writer evidence needs Linux's /proc")
def test_a_real_writer_process_alive_then_exited(tmp_path):
    for how in ("exit", "close"):
        d = tmp_path / how
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(d), how], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            name = p.stdout.readline().strip()
            w = parse_event_file_name(name)
            assert w is not None and w.pid == p.pid and w.host == this_host()
            e = run_writer(str(d))
            assert e.alive is True, e.reason
            p.stdin.write("\n")
            p.stdin.flush()
            if how == "close":
                assert p.stdout.readline().strip() == "closed"
                assert run_writer(str(d)).alive is True
                p.stdin.write("\n")
                p.stdin.flush()
            p.wait(timeout=30)
            e = run_writer(str(d))
            assert e.alive is False and "exited" in e.reason
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
