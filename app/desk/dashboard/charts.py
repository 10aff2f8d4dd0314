"""Horizontal bar charts as plain data the template draws as inline SVG (no script, no
inline style: the CSP stays strict). Pure: tested without a database."""

from __future__ import annotations

from dataclasses import dataclass

from app.reporting.schemas import DurationStats

BAR_WIDTH = 320  # px of the longest bar
ROW_HEIGHT = 24
LABEL_WIDTH = 180


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # the figure printed at the bar's end
    width: float  # px
    y: int


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    headers: tuple[str, ...]  # the table beside the chart
    rows: tuple[tuple[str, ...], ...]

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * ROW_HEIGHT + 8

    @property
    def label_width(self) -> int:
        return LABEL_WIDTH

    @property
    def width(self) -> int:
        return LABEL_WIDTH + BAR_WIDTH + 90


def bars(values: list[tuple[str, float, str]]) -> tuple[Bar, ...]:
    """Each value's bar, scaled so the largest fills ``BAR_WIDTH`` (all zero: no bars)."""
    top = max((value for _, value, _ in values), default=0.0)
    return tuple(
        Bar(
            label=label,
            value=value,
            text=text,
            width=round(value / top * BAR_WIDTH, 1) if top > 0 else 0.0,
            y=index * ROW_HEIGHT + 4,
        )
        for index, (label, value, text) in enumerate(values)
    )


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def hours(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 3600:.1f} h" if seconds < 72 * 3600 else f"{seconds / 86400:.1f} d"


def duration_chart(title: str, stats: dict[str, DurationStats]) -> BarChart:
    """Median and p90 of each duration, side by side."""
    values: list[tuple[str, float, str]] = []
    rows: list[tuple[str, ...]] = []
    for name, stat in stats.items():
        for which, seconds in (("median", stat.median_seconds), ("p90", stat.p90_seconds)):
            values.append((f"{name} {which}", seconds or 0.0, hours(seconds)))
        rows.append((name, str(stat.count), hours(stat.median_seconds), hours(stat.p90_seconds)))
    return BarChart(title, bars(values), ("", "incidents", "median", "p90"), tuple(rows))
