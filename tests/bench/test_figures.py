"""The bench's figures: percentiles, ratios, the results.json shape and the table."""

from __future__ import annotations

import json
from pathlib import Path

from bench.figures import Figure, percentile, table, write_results


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([3.0], 0.95) == 3


def test_results_json_has_the_agreed_fields(tmp_path: Path) -> None:
    figures = [Figure("status_p99_ms", 4.0, "ms", 2.0, "<= 10"), Figure("jobs_lost", 0, "jobs")]
    write_results(figures, tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data[0] == {
        "name": "status_p99_ms",
        "value": 4.0,
        "unit": "ms",
        "baseline": 2.0,
        "ratio": 2.0,
    }
    assert data[1]["baseline"] is None and data[1]["ratio"] is None
    printed = table(figures)
    assert "status_p99_ms" in printed and "2.000" in printed
