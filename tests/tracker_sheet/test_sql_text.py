"""The text rules of tracker cells, in SQL, give what Python gives for awkward text."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.tracker_sheet import sql_text as sql
from app.tracker_sheet.columns import defuse_formula

AWKWARD = [
    "",
    "plain",
    "=1+2",
    '=HYPERLINK("http://attacker.example","open me")',
    "+49 30 901820",
    "-5",
    "- 5",
    "+(30) 4.5",
    "-٣٤",  # Arabic-Indic digits: a number to Python's \d
    "+\u2003(30)",  # an em space: whitespace to Python's \s
    "-\x1c5",  # a file separator: whitespace to Python too
    "-5x",
    "@SUM(A1)",
    "\t=x",
    "\r=x",
    "'=already",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\rhere",
    "  padded \u00a0 words\n\t end  ",
    "\u3000\u2028only\u2029spaces\u0085",
    "bell\x07 escape\x1b",
]


def test_the_character_classes_are_pythons_own() -> None:
    every = "".join(map(chr, range(0x110000)))

    assert sql.characters(sql.SPACES) == re.findall(r"\s", every)
    assert sql.characters(sql.DIGITS) == re.findall(r"\d", every)


def _sql(db: Database, expression: str, value: str) -> object:
    with db.engine.connect() as connection:
        return connection.execute(text(f"SELECT {expression}"), {"v": value}).scalar_one()


@pytest.mark.postgres_only
@pytest.mark.parametrize("value", AWKWARD)
def test_sql_writes_a_cell_as_python_does(db: Database, value: str) -> None:
    value_sql = "CAST(:v AS text)"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([defuse_formula(value), "x"])

    assert _sql(db, sql.defuse(value_sql), value) == defuse_formula(value)
    assert _sql(db, sql.collapse(value_sql), value) == " ".join(value.split())
    assert _sql(db, sql.has_text(value_sql), value) == bool(value.strip())
    assert _sql(db, sql.trim_end(value_sql), value) == value.rstrip()
    written = _sql(db, sql.csv_field(sql.defuse(value_sql)), value)
    assert f"{written},x\r\n" == buffer.getvalue()
