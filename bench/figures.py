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
    # False where the baseline is context, not the same work done with less (an overhead
    # beside the run it is added to): then it cannot be "slower" in the bench-bug sense.
    floor: bool = True

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")

    @property
    def baseline_suspect(self) -> bool:
        """A baseline that does less work yet scores worse than the measured thing: the bench
        measured itself (its load generator, its client), not the baseline."""
        if self.baseline is None or not self.floor:
            return False
        if self.higher_is_better:
            return self.baseline < self.value
        return self.baseline > self.value

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or self.baseline_suspect:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        del data["target"], data["floor"]
        data["value"] = round(self.value, 3)
        data["baseline"] = None if self.baseline is None else round(self.baseline, 3)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        if self.baseline_suspect:
            data["bench_bug"] = "baseline slower than the measured thing"
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
                _ratio_cell(figure),
                figure.target,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _ratio_cell(figure: Figure) -> str:
    if figure.baseline_suspect:
        return "BENCH BUG: baseline slower"
    return "-" if figure.ratio is None else f"{figure.ratio:.3f}"


def write_results(figures: Sequence[Figure], path: Path) -> None:
    path.write_text(json.dumps([f.as_json() for f in figures], indent=2) + "\n")
