"""Every problem reaches the app (issue 12.3, app side): a damaged event file is a badge on its
run's row and a line in its detail; a directory that can't be listed (it belongs to no run) is
said once and stays in the status line."""

from __future__ import annotations

import pytest
from testing import sync, wait_for

from tui.app.app import AppOptions, make_app
from tui.app.screens.detail import DetailScreen

SIZE = (120, 35)


def damaged_logdir(root) -> None:
    pytest.importorskip("tensorboard")
    from eventfiles import Writer, event_files

    for run in ("good", "bad"):
        w = Writer(root / run)
        for step in range(1, 40):
            w.scalar("losses/entropy", 1.5 - step * 0.01, step, 1_700_000_000.0 + step)
        w.close()
    path = event_files(root / "bad")[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte inside a record: its checksum fails
    path.write_bytes(bytes(data))


@sync
async def test_a_damaged_file_is_a_badge_on_the_row_and_a_line_in_the_detail(tmp_path):
    logs = tmp_path / "logs"
    damaged_logdir(logs)
    notices: list[str] = []
    app = make_app([str(logs)], AppOptions(poll=0.2))
    real = app.notify
    app.notify = lambda m, **kw: (notices.append(m), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: (v := app.judge.view("bad")) is not None and bool(v.problems))
        table = app.screen.table
        await wait_for(pilot, lambda: "bad" in table.row_keys and table.get_cell("bad", "name").plain.startswith("! "))
        assert table.get_cell("bad", "name").plain.startswith("! ")
        assert not table.get_cell("good", "name").plain.startswith("!")
        assert any(m.startswith("bad: ") for m in notices)
        row = list(table.row_keys).index("bad")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.run == "bad"
        verdicts = " ".join(str(app.screen.query_one("#verdicts").render()).split())  # lines wrap
        problem = " ".join(next(iter(app.judge.view("bad").problems.values())).split())
        assert "! " in verdicts and problem[:60] in verdicts


class Listed:
    """A directory that can't be listed, as `tui.ingest.Ingestor.problems` reports it."""

    kind = "unreadable-dir"

    def __init__(self, path: str) -> None:
        self.path = path
        self.message = f"can't list {path}: Permission denied"

    @property
    def advice(self) -> str:
        return f"{self.message}; runs inside it, if any, are not shown"


@sync
async def test_a_directory_that_cannot_be_listed_is_said_and_stays_in_the_status_line(tmp_path):
    logs = tmp_path / "logs"
    damaged_logdir(logs)
    notices: list[str] = []
    app = make_app([str(logs)], AppOptions(poll=0.2))
    ing = app.session.ingestor
    hidden = [Listed(str(logs / "locked"))]
    ing.problems = lambda: list(hidden)  # type: ignore[method-assign]  # root reads mode 000 dirs
    real = app.notify
    app.notify = lambda m, **kw: (notices.append(m), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("can't list" in m for m in notices))
        status = app.screen.query_one("#status")
        await wait_for(pilot, lambda: str(status.render()).startswith("! 1 directory can't be read"))
        assert sum("can't list" in m for m in notices) == 1  # said once, not on every rescan
        hidden.clear()  # readable again
        app.session._wake.set()
        (logs / "new").mkdir()  # a change makes the watcher rescan
        await wait_for(pilot, lambda: not app.session.logdir_problems)
        await wait_for(pilot, lambda: "can't be read" not in str(status.render()))


def absurd_length_logdir(root) -> None:
    """A run whose file has a record header claiming 2**62 bytes (with a valid length CRC) in
    the middle: the records after it used to become silent "pending bytes"."""
    pytest.importorskip("tensorboard")
    import struct

    from eventfiles import Writer, event_files

    from tui.ingest.tfrecord import masked_crc

    w = Writer(root / "absurd")
    for step in range(1, 30):
        w.scalar("losses/entropy", 1.5 - step * 0.01, step, 1_700_000_000.0 + step)
    w.close()
    path = event_files(root / "absurd")[0]
    data = path.read_bytes()
    length = struct.pack("<Q", 1 << 62)
    bogus = length + struct.pack("<I", masked_crc(length))
    cut = len(data) // 2
    # Put the bogus header on a record boundary: after the first records.
    pos, boundary = 0, 0
    while pos < cut:
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        boundary = pos = pos + 12 + n + 4
    path.write_bytes(data[:boundary] + bogus + data[boundary:])


@sync
async def test_an_absurd_record_length_is_a_badge_and_a_line_in_the_detail(tmp_path):
    logs = tmp_path / "logs"
    absurd_length_logdir(logs)
    app = make_app([str(logs)], AppOptions(poll=0.2))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: (v := app.judge.view("absurd")) is not None and bool(v.problems))
        await wait_for(pilot, lambda: "absurd" in app.screen.table.row_keys and app.screen.table.get_cell("absurd", "name").plain.startswith("! "))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        verdicts = " ".join(str(app.screen.query_one("#verdicts").render()).split())
        assert "! " in verdicts and "length" in verdicts
        assert app.judge.view("absurd").last_step == 29  # the records after it were read too
