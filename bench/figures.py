"""One measured figure, the way every benchmark reports it: median, spread, target."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """``name``: what was measured; ``samples``: one value per run (median is reported)."""

    name: str
    unit: str
    samples: tuple[float, ...]
    target: str | None = None
    met: bool | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        return max(self.samples) - min(self.samples) if len(self.samples) > 1 else 0.0

    def render(self) -> str:
        verdict = "" if self.met is None else (" ok" if self.met else " MISSED")
        target = f"  target {self.target}{verdict}" if self.target else ""
        return (
            f"{self.name:<58} {self.median:>12,.2f} {self.unit:<14}"
            f" (±{self.spread / 2:,.2f}, n={len(self.samples)}){target}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "spread": self.spread,
            "samples": list(self.samples),
            "target": self.target,
            "met": self.met,
        }
