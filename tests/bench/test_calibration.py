"""The calibration line round-trips and refuses what it did not write; suspect baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.calibration import calibration_line, parse_calibration_line
from bench.figures import Figure, table, write_results


def test_calibration_line_parses_back() -> None:
    values = {"fork_exec_ms": 1.25, "bwrap_ms": 20.5, "python_loop_ms": 98.0}
    line = calibration_line(values, (7.5, 8.0, 9.0))
    assert parse_calibration_line(line) == {**values, "load1": 7.5}


def test_calibration_line_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="not a calibration line"):
        parse_calibration_line("status_p99_ms 4.0")
    with pytest.raises(ValueError, match="bwrap_ms"):
        parse_calibration_line("calibration: fork_exec_ms=1 python_loop_ms=2")


def test_a_baseline_slower_than_the_measured_thing_is_a_bench_bug(tmp_path: Path) -> None:
    broken = Figure("status_p50_ms", 2.0, "ms", 9111.0)
    slow_rate = Figure("start_admission_per_s", 75.0, "req/s", 40.0)
    sane = Figure("start_admission_per_s", 75.0, "req/s", 400.0)
    context = Figure("job_overhead_p50_ms", 60.0, "ms", 74.0, floor=False)
    assert broken.ratio is None and slow_rate.ratio is None
    assert sane.ratio == pytest.approx(75 / 400) and context.ratio == pytest.approx(60 / 74)
    printed = table([broken, slow_rate, sane, context])
    assert printed.count("BENCH BUG: baseline slower") == 2
    write_results([broken, sane], tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data[0]["ratio"] is None and "bench_bug" in data[0]
    assert "bench_bug" not in data[1]
