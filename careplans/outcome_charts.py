"""Geometry for outcome charts over time (TOP days used and self-ratings, BARC-10
totals): pure functions, shared by the pages and, later, the PDF.

Each chart is one measure (small multiples, never colours to tell series apart): every
point is a marker with its value written above it and its date below, and the page
shows the same numbers as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from careplans.views import format_date, short_date


@dataclass
class Point:
    x: float
    y: float
    value: int
    date_label: str
    long_date: str
    stage: str
    show_date: bool


@dataclass
class LineChart:
    title: str
    unit: str
    low: int
    high: int
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[Point] = field(default_factory=list)
    gridlines: list[tuple[float, int]] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def description(self) -> str:
        if not self.points:
            return "Nothing recorded yet."
        parts = [f"{p.value} {self.unit} on {p.long_date}" + (f" ({p.stage.lower()})" if p.stage else "")
                 for p in self.points]
        return f"{self.title}, oldest first: " + "; ".join(parts) + "."


def line_chart(title: str, points: list[dict[str, Any]], low: int, high: int, step: int, unit: str,
               width: int = 320, height: int = 180) -> LineChart:
    """`points`: [{"date": ISO date, "value": int, "label": stage words}], oldest first."""
    left, right, top, bottom, pad = 34, 14, 24, 40, 24
    chart = LineChart(title=title, unit=unit, low=low, high=high, width=width, height=height, left=left,
                      right=right, top=top, bottom=bottom)
    plot_h, plot_w = height - top - bottom, width - left - right
    span = max(1, high - low)
    for v in range(low, high + 1, step):
        chart.gridlines.append((top + plot_h * (1 - (v - low) / span), v))
    n = len(points)
    every = max(1, -(-n // 4))
    for i, p in enumerate(points):
        value = max(low, min(high, int(p["value"])))
        x = left + (plot_w / 2 if n == 1 else pad + (plot_w - 2 * pad) * i / (n - 1))
        y = top + plot_h * (1 - (value - low) / span)
        chart.points.append(Point(x=x, y=y, value=value, date_label=short_date(p["date"]),
                                  long_date=format_date(p["date"]), stage=p.get("label") or "",
                                  show_date=(n - 1 - i) % every == 0))
    return chart


def outcome_charts(series: dict[str, Any]) -> dict[str, Any]:
    """The charts for `careplans.assessments.outcome_series()`."""
    used = [s for s in series.get("days_used", []) if any(p["value"] for p in s["points"])]
    return {
        "days_used": [line_chart(f"{s['label']}: days used in the last 4 weeks", s["points"], 0, 28, 7, "days")
                      for s in used],
        # Substances answered with 0 days every time: a sentence, not an empty chart.
        "days_none": [s["label"] for s in series.get("days_used", []) if s not in used],
        "ratings": [line_chart(f"{s['label']}, rated from 0 (poor) to 20 (good)", s["points"], 0, 20, 5, "out of 20")
                    for s in series.get("ratings", [])],
        "barc10": [line_chart("BARC-10 total, from 10 to 60", series["barc10"], 10, 60, 10, "out of 60")]
        if series.get("barc10") else [],
    }
