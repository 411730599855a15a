"""``python -m bench [--quick] [--consumers 1,10,50] [--scale] [--index]``: a table,
``results.json``."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench.api import measure_api
from bench.calibration import calibrate, calibration_figures, calibration_line
from bench.cli import measure_cli
from bench.dag import measure_dag
from bench.data import measure_configure, measure_results
from bench.e2e import measure_consumers, measure_wide_burst
from bench.figures import Figure, table, write_results
from bench.images import measure_images
from bench.index import measure_index
from bench.jobs import measure_overhead, measure_throughput
from bench.scale import measure_scale
from bench.service import Bench

__all__ = ["main"]

_MIB = 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results.json")
    parser.add_argument(
        "--consumers",
        default=None,
        help="consumer counts for the waiting-consumer figures (default 1,10,50; --quick 1,2)",
    )
    parser.add_argument(
        "--only-consumers", action="store_true", help="only the consumer's-view figures"
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the scale figures: 100,000 finished jobs stored, 1,000 queued",
    )
    parser.add_argument(
        "--index",
        action="store_true",
        help="only the asset indexer's figures: seconds per 10,000 blocks on anvil",
    )
    args = parser.parse_args(argv)
    consumers = _counts(args.consumers or ("1,2" if args.quick else "1,10,50"))
    quick = args.quick
    work = Path(tempfile.mkdtemp(prefix="c2d-bench-"))
    os.chmod(work, 0o755)  # noqa: S103 (the sandboxed uid must reach the bare-run folders)
    figures: list[Figure] = []
    calibration = calibrate(5 if quick else 20)
    line = calibration_line(calibration, os.getloadavg())
    print(line, flush=True)
    figures += calibration_figures(calibration)
    try:
        if args.scale:
            figures += measure_scale(
                work,
                jobs=1000 if quick else 100_000,
                queued=50 if quick else 1000,
                rate=200,
                duration=1 if quick else 10,
            )
            return _report(line, figures, args.output)
        index_blocks, index_assets = (2000, 5) if quick else (10_000, 20)
        if args.index:
            figures += measure_index(work / "index", blocks=index_blocks, assets=index_assets)
            return _report(line, figures, args.output)
        home = work / "home"
        bench = Bench(home)
        try:
            figures += measure_consumers(
                bench,
                work / "e2e",
                consumers,
                jobs=4 if quick else 100,
                burst=10 if quick else 200,
            )
        finally:
            bench.close()
        # The same burst with two and four slots per CPU: what the default's three cost and gain.
        cores = os.cpu_count() or 1
        for per_cpu in (2, 4):
            figures += measure_wide_burst(
                work / f"wide{per_cpu}", slots=per_cpu * cores, burst=10 if quick else 200
            )
        if args.only_consumers:
            return _report(line, figures, args.output)
        figures += measure_dag(rounds=20 if quick else 200)
        sizes = [("1mib", _MIB)] if quick else [("100mib", 100 * _MIB), ("1gib", 1024 * _MIB)]
        figures += measure_configure(work / "configure", sizes)
        home = work / "home2"
        bench = Bench(home)
        try:
            figures += measure_overhead(bench, work / "sandbox", jobs=3 if quick else 30)
            figures += measure_throughput(bench, jobs=6 if quick else 200, rounds=1 if quick else 3)
            size, label = (_MIB, "1mib") if quick else (1024 * _MIB, "1gib")
            figures += measure_results(bench, home, size, label)
            figures += measure_cli(bench, rounds=3 if quick else 11)
        finally:
            bench.close()
        big = 4 * _MIB if quick else 100 * _MIB
        figures += measure_images(work / "images", jobs=3 if quick else 30, big_bytes=big)
        api_bench = Bench(work / "api-home", env={"C2D_MAX_CONCURRENT_JOBS": "1"})
        try:
            figures += measure_api(
                api_bench,
                rate=200,
                duration=0.5 if quick else 10,
                admissions=5 if quick else 100,
            )
        finally:
            api_bench.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _report(line, figures, args.output)


def _report(line: str, figures: list[Figure], output: Path) -> int:
    print(line)
    print(table(figures))
    write_results(figures, output)
    print(f"\nwritten to {output}")
    return 0


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"--consumers: comma-separated whole numbers, not {text!r}") from None
    if not counts or min(counts) < 1:
        raise SystemExit("--consumers: give at least one count, each at least 1")
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
