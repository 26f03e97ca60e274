#!/usr/bin/env python3
"""Benchmark allocations: ``mgr bill`` with and without ``--allocations`` on a large log and register.

It generates the log with ../shared/bench/gen_hours.py (cached under bench/data/, as bench_bill.py does) and a
register of about 100,000 allocations that covers every row of it (cached too): per client, provider,
municipality and product consecutive periods of a quarter (re-integratie, 2021) or half a year
(cliëntondersteuning, 2019-2021), with the four kinds of size in turn (40 h a week, 200 h a month, a total of
twice the period's use, a budget of twice its amount), so every rule is exercised and nothing is over.

It reports, as medians of ``--repeat`` runs, in one process: billing alone (``bill``), reading the register
(``read_register``) and applying it (``apply_allocations``), wall and CPU seconds (all threads); and, when the
installed ``mgr bill`` has ``--allocations``, the two commands end to end under ``/usr/bin/time -v``, alternating
(wall time, CPU time and peak memory): with ``--out`` to a folder (the default) or, with ``--no-out``, printing the
totals only (no 8,000 files written: far less noise from a busy disk). Run by hand, never in CI:

    python bench/bench_allocations.py 1000000 --repeat 3 [--no-out]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from bench_bill import DATA, log_of  # noqa: E402

from mgr_tariffs.allocations.billing import apply_allocations  # noqa: E402
from mgr_tariffs.allocations.register import read_register  # noqa: E402
from mgr_tariffs.billing.engine import bill  # noqa: E402
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue  # noqa: E402

TARIFFS = HERE.parent / "data" / "tariffs.yaml"
HEADER = ["toewijzingnummer", "bsn", "aanbieder", "gemeente", "productcode", "ingangsdatum", "einddatum", "volume",
          "eenheid", "frequentie", "budget"]


def register_of(rows: int, log: Path, lookup: Lookup) -> Path:
    """The register for the log: consecutive periods per key, sizes in turn; written once."""
    path = DATA / f"toewijzingen-{rows}.csv"
    if path.exists():
        return path
    billed = bill([log], lookup).rows
    period = pl.when(pl.col("product").is_in(["LN017", "LN018"])).then(
        pl.col("date").dt.truncate("6mo")).otherwise(pl.col("date").dt.truncate("3mo"))
    length = pl.when(pl.col("product").is_in(["LN017", "LN018"])).then(pl.lit("6mo")).otherwise(pl.lit("3mo"))
    keyed = billed.with_columns(start=period, _length=length)
    groups = keyed.group_by("bsn_id", "provider", "municipality_id", "product", "start", "_length").agg(
        ticks=pl.col("ticks").sum(), cents=(pl.col("ticks") * pl.col("price_cents") // 3000).sum())
    groups = groups.sort("bsn_id", "provider", "product", "start").with_columns(
        end=pl.when(pl.col("_length") == "6mo").then(pl.col("start").dt.offset_by("6mo"))
        .otherwise(pl.col("start").dt.offset_by("3mo")).dt.offset_by("-1d"),
        kind=pl.int_range(pl.len()) % 4, number=pl.format("T{}", pl.int_range(1, pl.len() + 1)))
    volume = (pl.when(pl.col("kind") == 0).then(pl.lit("40")).when(pl.col("kind") == 1).then(pl.lit("200"))
              .when(pl.col("kind") == 2).then((pl.col("ticks") * 2 // 3000 + 1).cast(pl.String)))
    out = groups.select(
        toewijzingnummer="number", bsn=pl.col("bsn_id").cast(pl.String).str.pad_start(9, "0"), aanbieder="provider",
        gemeente=pl.col("municipality_id").cast(pl.String).str.pad_start(4, "0"), productcode="product",
        ingangsdatum=pl.col("start").cast(pl.String), einddatum=pl.col("end").cast(pl.String), volume=volume,
        eenheid=pl.when(pl.col("kind") < 3).then(pl.lit("uur")),
        frequentie=pl.when(pl.col("kind") == 0).then(pl.lit("week")).when(pl.col("kind") == 1).then(pl.lit("maand"))
        .when(pl.col("kind") == 2).then(pl.lit("totaal")),
        budget=pl.when(pl.col("kind") == 3).then((pl.col("cents") * 2 // 100 + 1).cast(pl.String)))
    out.write_csv(path, separator=";")
    return path


def median_seconds(step: object, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` runs of ``step``, and its last value."""
    times, cpu, value = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = step()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), value


def timed(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MiB of one command under /usr/bin/time -v (dirty
    pages of the previous run flushed first)."""
    os.sync()
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{run.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", run.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", run.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    assert wall and user and system and rss, run.stderr
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, float(user.group(1)) + float(system.group(1)), int(rss.group(1)) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", default=None, help="Folder for the output folders (default: the temp folder).")
    parser.add_argument("--no-out", action="store_true", help="Run the commands without --out (totals only).")
    args = parser.parse_args()
    catalogue = load_catalogue(TARIFFS).catalogue
    assert catalogue is not None
    lookup = Lookup(catalogue)
    log = log_of(args.rows)
    register_path = register_of(args.rows, log, lookup)
    billing_s, billing_cpu, result = median_seconds(lambda: bill([log], lookup), args.repeat)
    reading_s, reading_cpu, read = median_seconds(lambda: read_register([register_path], lookup), args.repeat)
    register = read.register  # type: ignore[attr-defined]
    assert register is not None, read.problems[:5]  # type: ignore[attr-defined]
    applying_s, applying_cpu, applied = median_seconds(
        lambda: apply_allocations(result, register), args.repeat)  # type: ignore[arg-type]
    errors = applied.result.errors  # type: ignore[attr-defined]
    print("| rows | allocations | | bill | read register | apply | bill + allocations | ratio | errors |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for kind, (b, r, a) in (("wall", (billing_s, reading_s, applying_s)), ("CPU", (billing_cpu, reading_cpu,
                                                                                     applying_cpu))):
        total = b + r + a
        print(f"| {args.rows:,} | {register.table.height:,} | {kind} | {b:.2f} s | {r:.2f} s | {a:.2f} s | "
              f"{total:.2f} s | {total / b:.2f}x | {len(errors)} |")
    mgr = str(Path(sys.executable).with_name("mgr"))
    if not Path(mgr).exists():
        mgr = shutil.which("mgr") or ""
    shown = subprocess.run([mgr, "bill", "--help"], capture_output=True, text=True, check=False) if mgr else None
    help_text = shown.stdout if shown else ""
    if "--allocations" not in help_text:
        print("\n(the installed `mgr bill` has no --allocations: end-to-end runs skipped)")
        return
    plain, with_register = [], []
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        for i in range(args.repeat):
            base = [mgr, "bill", str(log), "--tariffs", str(TARIFFS)]
            plain.append(timed([*base, *([] if args.no_out else ["--out", f"{work}/plain-{i}"])]))
            with_register.append(timed([*base, *([] if args.no_out else ["--out", f"{work}/alloc-{i}"]),
                                        "--allocations", str(register_path)]))
    out = "" if args.no_out else " --out DIR"
    print("\n| command | wall | CPU | peak RSS |\n|---|---:|---:|---:|")
    for name, runs in ((f"mgr bill LOG{out}", plain), (f"mgr bill LOG{out} --allocations REG", with_register)):
        print(f"| `{name}` | {statistics.median(r[0] for r in runs):.2f} s | "
              f"{statistics.median(r[1] for r in runs):.2f} s | {max(r[2] for r in runs)} MiB |")
    wall = statistics.median(r[0] for r in with_register) / statistics.median(r[0] for r in plain)
    cpu = statistics.median(r[1] for r in with_register) / statistics.median(r[1] for r in plain)
    print(f"\nratio {wall:.2f}x wall, {cpu:.2f}x CPU")


if __name__ == "__main__":
    main()
