"""One measured figure, percentiles, the printed table and ``bench/results.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Figure", "percentile", "table", "write_results"]


@dataclass(frozen=True)
class Figure:
    """``value`` against ``baseline`` (same unit); a ``*_ratio`` name is judged by ``ratio``."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    # What the value is held to, in words (printed, not stored).
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        del data["target"]
        data["value"] = round(self.value, 3)
        data["baseline"] = None if self.baseline is None else round(self.baseline, 3)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        return data


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "unit", "baseline", "ratio", "target")]
    for figure in figures:
        rows.append(
            (
                figure.name,
                f"{figure.value:.3f}",
                figure.unit,
                "-" if figure.baseline is None else f"{figure.baseline:.3f}",
                "-" if figure.ratio is None else f"{figure.ratio:.3f}",
                figure.target,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def write_results(figures: Sequence[Figure], path: Path) -> None:
    path.write_text(json.dumps([f.as_json() for f in figures], indent=2) + "\n")
