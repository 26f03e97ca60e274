#!/usr/bin/env python3
"""Milliseconds per invoice of the documents ``mgr bill --out DIR --documents ...`` writes: csv, ubl and pdf.

    python bench/bench_documents.py [LOG] [--repeat 3] [--formats csv,ubl,pdf] [--work /dev/shm]

The log (default ``bench/data/hours-100000.csv``) is billed once; then each format is made in turn,
alternating, ``--repeat`` times, in memory (``csv``: the invoice CSVs and the summary; ``ubl``, ``pdf``:
``write_documents``, which includes resolving the parties and the VAT breakdown), and the median wall time
divided by the number of invoices is printed. Where ``write_documents`` takes ``workers``, ``ubl/1`` and
``pdf/1`` are the same in one process (no pool). The bench logs name providers ``Aanbieder 01`` ...
that no parties file knows: a parties file for them is written into the work folder (the example file's
municipalities, the example providers' VAT ids and IBANs in turn, made-up KvK and AGB numbers).
Run it against another tree with ``PYTHONPATH=/other/src``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import resource
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from mgr_tariffs.billing.engine import bill
from mgr_tariffs.billing.output import invoice_files, summary_csv
from mgr_tariffs.catalogue.loader import Lookup, load_catalogue
from mgr_tariffs.documents import write_documents
from mgr_tariffs.io.atomic import OutputSet
from mgr_tariffs.parties import load_parties

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PARTIES = ROOT / "data" / "examples" / "parties.yaml"


def bench_parties(providers: list[str], target: Path) -> Path:
    """A parties file covering ``providers``, built from the example file."""
    example = yaml.safe_load(EXAMPLE_PARTIES.read_text(encoding="utf-8"))
    models = list(example["providers"].values())
    entries = {}
    for number, name in enumerate(sorted(providers)):
        model = dict(models[number % len(models)])
        model.update(legal_name=f"{name} B.V.", kvk=f"{91000000 + number:08d}", agb=f"{98200000 + number:08d}")
        entries[name] = model
    target.write_text(yaml.safe_dump({"version": 1, "providers": entries,
                                      "municipalities": example["municipalities"]}, allow_unicode=True),
                      encoding="utf-8")
    return target


class Collected(OutputSet):
    """The files in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

    def check_targets(self, targets: list[Path]) -> None:
        return None

    def write_bytes(self, target: Path, data: bytes) -> None:
        self.files[target.name] = data


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the document workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("hours", type=Path, nargs="?", default=ROOT / "bench" / "data" / "hours-100000.csv")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="csv,ubl,pdf")
    parser.add_argument("--work", default=None, help="folder for the parties file (default: a temporary folder)")
    args = parser.parse_args()
    loaded = load_catalogue(ROOT / "data" / "tariffs.yaml")
    assert loaded.catalogue is not None
    lookup = Lookup(loaded.catalogue)
    result = bill([args.hours], lookup)
    invoices = result.invoices
    work = Path(tempfile.mkdtemp(dir=args.work))
    parties = load_parties(bench_parties(sorted({i.provider for i in invoices}), work / "parties.yaml"), lookup)
    assert parties.parties is not None, parties.problems
    print(f"{args.hours.name}: {len(invoices)} invoices, {sum(len(i.lines) for i in invoices)} lines")
    formats = [f.strip() for f in args.formats.split(",")]
    if "workers" in inspect.signature(write_documents).parameters:
        formats += [f"{f}/1" for f in formats if f != "csv"]
    times: dict[str, list[float]] = {f: [] for f in formats}
    cpu: dict[str, list[float]] = {f: [] for f in formats}
    for _ in range(args.repeat):
        for fmt in formats:
            start, start_cpu = time.perf_counter(), _cpu()
            if fmt == "csv":
                files = invoice_files(result)
                files["samenvatting.csv"] = summary_csv(result)
            else:
                kind, _, one = fmt.partition("/")
                collected = Collected()
                if one:
                    write_documents(invoices, parties.parties, lookup, work / "out", [kind],
                                    issue_date=dt.date(2026, 12, 1), outputs=collected, workers=1)
                else:
                    write_documents(invoices, parties.parties, lookup, work / "out", [kind],
                                    issue_date=dt.date(2026, 12, 1), outputs=collected)
                files = collected.files
            times[fmt].append(time.perf_counter() - start)
            cpu[fmt].append(_cpu() - start_cpu)
            del files
    for fmt in formats:
        median = statistics.median(times[fmt])
        print(f"{fmt:5} {median * 1000 / len(invoices):7.3f} ms per invoice  ({median:6.2f} s, runs "
              f"{', '.join(f'{t:.2f}' for t in times[fmt])} s; CPU of all processes "
              f"{statistics.median(cpu[fmt]) * 1000 / len(invoices):.3f} ms per invoice)")


if __name__ == "__main__":
    main()
