#!/usr/bin/env python3
"""Where the time of ``mgr bill --out`` goes: each phase timed inside one process.

    python bench/bench_phases.py bench/data/hours-1000000.csv [--work /dev/shm] [--documents lines|csv]

The output is written to a fresh folder under ``--work`` and kept (this disk is slow to create files right
after deleting many): remove it by hand.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

START = time.perf_counter()
START_CPU = time.process_time()

from mgr_tariffs.billing.engine import bill  # noqa: E402
from mgr_tariffs.billing.output import OutputRequest, output_contents  # noqa: E402
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue  # noqa: E402
from mgr_tariffs.io.atomic import write_directory  # noqa: E402 - imports are the first phase measured

ROOT = Path(__file__).resolve().parent.parent


def say(phase: str) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall, cpu = time.perf_counter() - START, time.process_time() - START_CPU
    print(f"{wall:7.2f} s  {cpu:7.2f} s cpu ({usage.ru_stime:5.2f} sys, {usage.ru_minflt:7,} page faults)  "
          f"{usage.ru_maxrss // 1024:5} MiB peak  {phase}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("hours", type=Path)
    parser.add_argument("--work", default=None, help="folder for the output (default: a temporary folder)")
    parser.add_argument("--documents", default="lines", help="what --out writes: lines (default) or csv")
    args = parser.parse_args()
    say("imported")
    loaded = load_catalogue(ROOT / "data" / "tariffs.yaml")
    assert loaded.catalogue is not None
    result = bill([args.hours], Lookup(loaded.catalogue), progress=say)
    say(f"billed: {result.summary.invoices} invoices, total {result.summary.total}")
    work = Path(tempfile.mkdtemp(dir=args.work))
    request = OutputRequest(work / "out", tuple(args.documents.split(",")))
    files = output_contents(result, request, Lookup(loaded.catalogue))  # the import is formatted as it is written
    say(f"formatted {len(files)} files")
    write_directory(request.out_dir, files)
    say(f"written to {request.out_dir}")


if __name__ == "__main__":
    main()
