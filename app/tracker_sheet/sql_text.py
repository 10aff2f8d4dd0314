"""Python's text rules for tracker cells, written as PostgreSQL expressions.

The fast export (``app.tracker_sheet.pg_cells``) lets PostgreSQL build the cells, so the
rules the Python writer applies must read the same in SQL: Python's ``\\s`` and ``\\d`` (every
Unicode space and decimal digit, not ASCII alone), ``str.split``/``strip`` whitespace, the
formula guard of ``columns.defuse_formula`` and the quoting of ``csv.writer``. The character
classes are taken from Python's own ``re`` once per process, so the two cannot drift apart.

Every function here returns SQL text over an SQL expression given as text; none takes user
input (values reach the query as bound parameters). Pure: no database.
"""

from __future__ import annotations

import functools
import re

from app.tracker_sheet.columns import FORMULA_STARTS

_BRACKET_SPECIALS = frozenset("]\\^-[")


def _bracket(chars: list[str]) -> str:
    """A regex bracket body (no brackets) listing ``chars``, consecutive ones as ranges."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    start = previous = points[0]
    for point in [*points[1:], -2]:
        if point == previous + 1:
            previous = point
            continue
        parts.append(chr(start) if start == previous else f"{chr(start)}-{chr(previous)}")
        start = previous = point
    body = "".join(parts)
    assert not _BRACKET_SPECIALS & {c for c in chars}, "a bracket special would need escaping"
    return body


@functools.cache
def _classes() -> tuple[str, str, str]:
    """(Python's \\s, the same without the plain space, Python's \\d) as regex bracket bodies,
    read from ``re`` itself."""
    every = "".join(map(chr, range(0x110000)))
    spaces = re.findall(r"\s", every)
    others = [c for c in spaces if c != " "]
    return _bracket(spaces), _bracket(others), _bracket(re.findall(r"\d", every))


def literal(text: str) -> str:
    """An SQL string literal (standard_conforming_strings: only quotes are doubled)."""
    assert "\x00" not in text
    assert "%" not in text  # it would clash with the driver's %(name)s parameters
    return "'" + text.replace("'", "''") + "'"


def collapse(expression: str) -> str:
    """Runs of whitespace as one space, none at either end: ``" ".join(text.split())``. Text
    that is so already (most of it) skips the regular expressions, which cost microseconds."""
    spaces, others, _ = _classes()
    collapsed = (
        f"{expression} !~ {literal(f'[{others}]')} AND strpos({expression}, '  ') = 0 "
        f"AND left({expression}, 1) <> ' ' AND right({expression}, 1) <> ' '"
    )
    slow = f"btrim(regexp_replace({expression}, {literal(f'[{spaces}]+')}, ' ', 'g'), ' ')"
    return f"(CASE WHEN {collapsed} THEN {expression} ELSE {slow} END)"


def has_text(expression: str) -> str:
    """True when the text holds something besides whitespace (``bool(text.strip())``)."""
    spaces, _, _ = _classes()
    return f"({expression} ~ {literal(f'[^{spaces}]')})"


def trim_end(expression: str) -> str:
    """``text.rstrip()``: no whitespace at the end."""
    spaces, _, _ = _classes()
    return f"regexp_replace({expression}, {literal(f'[{spaces}]+$')}, '')"


def defuse(expression: str) -> str:
    """``columns.defuse_formula``: an apostrophe before text a spreadsheet would run. The
    first character is looked at as a number (``ascii``): most text never reaches the regex."""
    spaces, _, digits = _classes()
    starts = ", ".join(str(ord(c)) for c in FORMULA_STARTS)
    plain_number = literal(f"^[+-]?[{digits}{spaces}().-]*$")  # columns._PLAIN_NUMBER
    return (
        f"CASE WHEN ascii({expression}) IN ({starts}) AND {expression} !~ {plain_number} "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def csv_field(expression: str) -> str:
    """One CSV field as ``csv.writer`` writes it (QUOTE_MINIMAL, "\\r\\n" lines): quoted, with
    quotes doubled, when it holds a comma, a quote, a CR or an LF; NULL and "" as nothing.
    (``strpos`` four times costs less than one regular expression.)"""
    special = " + ".join(
        f"strpos({expression}, {c})" for c in ("','", "'\"'", "chr(10)", "chr(13)")
    )
    return (
        f"CASE WHEN {special} > 0 "
        f"THEN '\"' || replace({expression}, '\"', '\"\"') || '\"' "
        f"ELSE coalesce({expression}, '') END"
    )


def utc_iso(expression: str) -> str:
    """``csv_cell`` of a time: ISO 8601 in UTC to the second, "2026-03-12T09:30:00+00:00".
    (The ISO text output, needing ``DateStyle`` ISO, costs a third of ``to_char``'s.)"""
    utc = f"date_trunc('second', {expression} AT TIME ZONE 'UTC')"
    return f"(replace({utc}::text, ' ', 'T') || '+00:00')"


def utc_minute(expression: str) -> str:
    """``LOG_TIME_FORMAT``: "2026-03-12 09:30 UTC" (``DateStyle`` ISO)."""
    return f"(left(({expression} AT TIME ZONE 'UTC')::text, 16) || ' UTC')"


def utc_day(expression: str) -> str:
    """The UTC day of a time, "2026-03-12" (``DateStyle`` ISO)."""
    return f"(({expression} AT TIME ZONE 'UTC')::date::text)"


def words(expression: str, mapping: dict[str, str]) -> str:
    """``mapping.get(value)``: NULL for a value the mapping does not name."""
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in mapping.items())
    return f"(CASE {expression} {cases} END)"
