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


# Python's \\s and \\d (Python 3.11: Unicode 14) as code point ranges. Scanning every code
# point with ``re`` takes a quarter of a second, so they are written out here, and
# tests/tracker_sheet/test_sql_text.py checks them against ``re`` itself: a newer Python with
# more digits fails there instead of drifting.
SPACES = (
    (0x0009, 0x000D), (0x001C, 0x0020), (0x0085, 0x0085), (0x00A0, 0x00A0), (0x1680, 0x1680),
    (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)  # fmt: skip
DIGITS = (
    (0x0030, 0x0039), (0x0660, 0x0669), (0x06F0, 0x06F9), (0x07C0, 0x07C9), (0x0966, 0x096F),
    (0x09E6, 0x09EF), (0x0A66, 0x0A6F), (0x0AE6, 0x0AEF), (0x0B66, 0x0B6F), (0x0BE6, 0x0BEF),
    (0x0C66, 0x0C6F), (0x0CE6, 0x0CEF), (0x0D66, 0x0D6F), (0x0DE6, 0x0DEF), (0x0E50, 0x0E59),
    (0x0ED0, 0x0ED9), (0x0F20, 0x0F29), (0x1040, 0x1049), (0x1090, 0x1099), (0x17E0, 0x17E9),
    (0x1810, 0x1819), (0x1946, 0x194F), (0x19D0, 0x19D9), (0x1A80, 0x1A89), (0x1A90, 0x1A99),
    (0x1B50, 0x1B59), (0x1BB0, 0x1BB9), (0x1C40, 0x1C49), (0x1C50, 0x1C59), (0xA620, 0xA629),
    (0xA8D0, 0xA8D9), (0xA900, 0xA909), (0xA9D0, 0xA9D9), (0xA9F0, 0xA9F9), (0xAA50, 0xAA59),
    (0xABF0, 0xABF9), (0xFF10, 0xFF19), (0x104A0, 0x104A9), (0x10D30, 0x10D39),
    (0x11066, 0x1106F), (0x110F0, 0x110F9), (0x11136, 0x1113F), (0x111D0, 0x111D9),
    (0x112F0, 0x112F9), (0x11450, 0x11459), (0x114D0, 0x114D9), (0x11650, 0x11659),
    (0x116C0, 0x116C9), (0x11730, 0x11739), (0x118E0, 0x118E9), (0x11950, 0x11959),
    (0x11C50, 0x11C59), (0x11D50, 0x11D59), (0x11DA0, 0x11DA9), (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9), (0x16B50, 0x16B59), (0x1D7CE, 0x1D7FF), (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9), (0x1E950, 0x1E959), (0x1FBF0, 0x1FBF9),
)  # fmt: skip


def characters(ranges: tuple[tuple[int, int], ...]) -> list[str]:
    return [chr(point) for low, high in ranges for point in range(low, high + 1)]


@functools.cache
def _classes() -> tuple[str, str, str]:
    """(Python's \\s, the same without the plain space, Python's \\d) as bracket bodies."""
    spaces = characters(SPACES)
    others = [c for c in spaces if c != " "]
    return _bracket(spaces), _bracket(others), _bracket(characters(DIGITS))


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
