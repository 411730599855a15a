"""``python -m bench [--quick]``: every figure, a table on stdout, ``bench/results.json``."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench.api import measure_api
from bench.cli import measure_cli
from bench.dag import measure_dag
from bench.data import measure_configure, measure_results
from bench.figures import Figure, table, write_results
from bench.jobs import measure_overhead, measure_throughput
from bench.service import Bench

__all__ = ["main"]

_MIB = 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args(argv)
    quick = args.quick
    work = Path(tempfile.mkdtemp(prefix="c2d-bench-"))
    os.chmod(work, 0o755)  # noqa: S103 (the sandboxed uid must reach the bare-run folders)
    figures: list[Figure] = []
    try:
        figures += measure_dag(rounds=20 if quick else 200)
        sizes = [("1mib", _MIB)] if quick else [("100mib", 100 * _MIB), ("1gib", 1024 * _MIB)]
        figures += measure_configure(work / "configure", sizes)
        home = work / "home"
        bench = Bench(home)
        try:
            figures += measure_overhead(bench, work / "sandbox", jobs=3 if quick else 30)
            figures += measure_throughput(bench, jobs=6 if quick else 200, rounds=1 if quick else 3)
            size, label = (_MIB, "1mib") if quick else (1024 * _MIB, "1gib")
            figures += measure_results(bench, home, size, label)
            figures += measure_cli(bench, rounds=3 if quick else 11)
        finally:
            bench.close()
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
    print(table(figures))
    write_results(figures, args.output)
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
