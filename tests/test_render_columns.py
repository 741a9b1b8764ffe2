"""Fitting a table to the terminal's width (`columns.fit`), and the tables and records a
Terminal draws with it: one line per record, no line longer than the width, a SID whole or
absent, free text shortened with "…" before any column is dropped."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from convo_cli.render.columns import Column, fit
from convo_cli.render.output import Output
from convo_cli.render.streams import IOStreams
from convo_cli.render.terminal import Terminal

SID = Column("SID", priority=10)
NAME = Column("Name", priority=8, shrink=True, min_width=4)
TITLE = Column("Title", priority=6, shrink=True, min_width=8)
STATE = Column("State", priority=4)
DATE = Column("Created", priority=2)
COLUMNS = [SID, NAME, TITLE, STATE, DATE]
ROWS = [["CH" + "a" * 32, "standup", "Daily standup of the platform team", "active",
         "today 09:00"],
        ["CH" + "b" * 32, "retro", "Retro", "closed", "2026-11-02"]]
TOKEN = re.compile(r"\b(?:CH|MB|IM|AC)[0-9a-zA-Z]*")


def widths(layout):
    return {COLUMNS[i].header: w for i, w in layout}


def test_everything_whole_when_it_fits():
    assert widths(fit(COLUMNS, ROWS, 200)) == {
        "SID": 34, "Name": 7, "Title": 34, "State": 6, "Created": 11}


def test_free_text_is_shortened_first_the_widest_first():
    # 34+7+34+6+11 and four gaps of 2: 100 cells; at 90 the title gives up 10.
    assert widths(fit(COLUMNS, ROWS, 90)) == {
        "SID": 34, "Name": 7, "Title": 24, "State": 6, "Created": 11}
    # The title down to its minimum, then the name.
    assert widths(fit(COLUMNS, ROWS, 72)) == {
        "SID": 34, "Name": 5, "Title": 8, "State": 6, "Created": 11}


def test_then_columns_are_dropped_dates_first_and_the_sid_last():
    assert widths(fit(COLUMNS, ROWS, 70)) == {"SID": 34, "Name": 7, "Title": 17, "State": 6}
    assert widths(fit(COLUMNS, ROWS, 60)) == {"SID": 34, "Name": 6, "Title": 8, "State": 6}
    assert widths(fit(COLUMNS, ROWS, 50)) == {"SID": 34, "Name": 4, "Title": 8}
    assert widths(fit(COLUMNS, ROWS, 40)) == {"SID": 34, "Name": 4}
    assert widths(fit(COLUMNS, ROWS, 39)) == {"SID": 34}


def test_a_column_that_cannot_be_shortened_is_whole_or_absent():
    # Too narrow for a SID: the names are shown instead, shortened.
    assert widths(fit(COLUMNS, ROWS, 30)) == {"Name": 7, "Title": 13, "State": 6}
    assert widths(fit(COLUMNS, ROWS, 12)) == {"Name": 7}
    assert fit([SID], ROWS, 33) == []


def test_the_last_column_left_may_shorten_below_its_minimum():
    assert fit([SID, TITLE], [r[:1] + r[2:3] for r in ROWS], 5) == [(1, 5)]


def test_wide_characters_and_emoji_count_two_cells():
    rows = [["CH" + "a" * 32, "東京オフィス 🍣", "x", "active", "today"]]
    assert widths(fit(COLUMNS, rows, 200))["Name"] == 15


def terminal(width: int) -> Terminal:
    return Terminal(IOStreams.test(tty=True, width=width))


@pytest.mark.parametrize("width", [100, 80, 60, 45, 40, 39, 30, 20])
def test_a_table_keeps_one_line_per_record_at_any_width(width):
    t = terminal(width)
    rows = ROWS + [["CH" + "c" * 32, "東京オフィスの雑談", "🍣" * 30 + " and\nmore\ttext",
                    "active", None]]
    t.table(COLUMNS, rows, empty="none")
    lines = t.io.out().splitlines()
    assert len(lines) == 1 + len(rows)
    assert all(cell_len(line) <= width for line in lines), lines
    assert all(len(sid) == 34 for line in lines for sid in TOKEN.findall(line)), lines
    shown = sum(len(TOKEN.findall(line)) for line in lines)
    assert shown == (len(rows) if width >= 34 else 0)
    if width >= 40:
        assert any("\u2026" in line for line in lines)  # shortened, visibly


def test_a_table_with_plain_headers_still_takes_wrap_indexes():
    t = terminal(30)
    t.table(["SID", "Name"], [["MB" + "a" * 32, "a long name to shorten"]], empty="none",
            wrap=[1])
    assert t.io.out().splitlines() == ["Name", "a long name to shorten"]
    t = terminal(50)
    t.table(["SID", "Name"], [["MB" + "a" * 32, "a long name to shorten"]], empty="none",
            wrap=[1])
    assert t.io.out().splitlines()[1] == f"MB{'a' * 32}  a long name t\u2026"


def test_an_empty_table_says_so_on_standard_error():
    t = terminal(80)
    t.table(COLUMNS, [], empty="No conversations.")
    assert (t.io.out(), t.io.err()) == ("", "No conversations.\n")


RECORD = [("SID", "MB" + "d" * 32), ("Conversation", "CH" + "e" * 32),
          ("Identity", "a-very-long-identity-for-the-ci-bot@example.com"),
          ("Joined", "2026-11-23 10:00"), ("Attributes", '{"role": "bot", "team": "platform"}')]


def test_a_record_side_by_side_when_the_values_fit_beside_the_labels():
    t = terminal(80)
    t.record(RECORD)
    assert t.io.out().splitlines() == [
        f"SID           MB{'d' * 32}", f"Conversation  CH{'e' * 32}",
        "Identity      a-very-long-identity-for-the-ci-bot@example.com",
        "Joined        2026-11-23 10:00",
        'Attributes    {"role": "bot", "team": "platform"}']


def test_a_record_folds_values_under_themselves():
    t = terminal(50)
    t.record([("SID", "CH" + "f" * 32), ("Friendly name", "Platform team weekly standup "
                                                          "and retrospective")])
    assert t.io.out().splitlines() == [
        f"SID            CH{'f' * 32}",
        "Friendly name  Platform team weekly standup and",
        "               retrospective"]


@pytest.mark.parametrize("width", [40, 30])
def test_a_narrow_record_puts_values_under_their_labels_and_keeps_sids_whole(width):
    t = terminal(width)
    t.record(RECORD)
    lines = t.io.out().splitlines()
    assert all(cell_len(line) <= width for line in lines), lines
    assert all(label in "\n".join(lines) for label, _ in RECORD)
    if width >= 36:  # room for a SID under its label
        assert [line for line in lines if not line.startswith(" ")] == [r[0] for r in RECORD]
        assert f"  MB{'d' * 32}" in lines and f"  CH{'e' * 32}" in lines


def test_output_declares_its_tables_columns():
    io = IOStreams.test(tty=True, width=40)
    Output(io).records(["active", "name", "kind", "account_sid"], [
        {"active": "*", "name": "a-rather-long-profile-name", "kind": "twilio",
         "account_sid": "AC" + "1" * 32}], empty="none")
    lines = io.out().splitlines()
    assert all(cell_len(line) <= 40 for line in lines) and len(lines) == 2
    assert all(len(sid) == 34 for line in lines for sid in TOKEN.findall(line))


def test_shortened_text_ends_in_an_ellipsis_right_after_the_last_whole_character():
    from convo_cli.render.terminal import shorten

    assert shorten("東京オフィス", 6) == "東京…"  # 5 cells: half a character is not shown
    assert shorten("Daily standup", 7) == "Daily…"  # no space before the "…"
    assert shorten("standup", 7) == "standup"
    t = terminal(44)
    t.table([Column("SID"), Column("Name", shrink=True, min_width=4), Column("State")],
            [["CH" + "a" * 32, "東京オフィス", "active"]], empty="none")
    assert t.io.out().splitlines()[1] == f"CH{'a' * 32}  東京オ…"  # 7 of its 8 cells
