"""Rendering many documents: in this process, or in batches on a pool of worker processes.

:func:`render` turns prepared invoices into the bytes of each format, in invoice order. A run of
:data:`POOL_FROM` invoices or more, on Linux with more than one core, is cut into batches that forked worker
processes render in the formats of :data:`POOLED` (PDF) while this process renders the others (UBL) itself. A
worker is a copy of this process made when the pool starts (a few milliseconds), so it already holds the
prepared invoices and only a batch's range goes to it and its bytes come back (sending the invoices themselves,
pickled, would cost a third of rendering them). A worker runs only the pure-Python writers, never Polars, so the
threads Polars has in this process (which a fork does not copy) are never waited for. A small run, another
platform or one core stays in this process. Either way the bytes are the same: every writer is a pure function
of its invoice. An error is a value: a worker stops its batch at the first :class:`DocumentError` of a format
and sends the message back; the first one in format and invoice order is raised here, as the same run in one
process would raise it. An unexpected exception or a worker that dies is a :class:`DocumentError` too, never a
traceback.
"""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from mgr_tariffs.documents.errors import DocumentError
from mgr_tariffs.documents.prepare import Prepared

Progress = Callable[[int, int], None]
"""Told ``(invoices done, invoices in all)`` after each batch; its last call has done == total."""
POOL_FROM = 200
"""Invoices from which a pool is worth starting (below it, one process is done in about the time a pool takes to
start and end)."""
BATCH = 64
"""Invoices per batch at most: small enough for a steady progress count, large enough that sending a batch
(pickled invoices out, bytes back) costs little against rendering it."""

POOLED = frozenset({"pdf"})
"""The formats worth a pool: a PDF is a few kilobytes of compressed bytes for ~1 ms of work, a UBL document
~50 KB of text for ~0.4 ms, and sending that back from a worker costs more than the second core gains. A million
rows (8,160 invoices of 40 lines): PDF 7.4 s in this process, 4.2 s on a pool of two; UBL 3.4 s in this process,
4.1 s on the pool (its workers spent 5.5 s of CPU, this process 1.5 s receiving 442 MB). Both at once: this
process renders the UBL while the workers render the PDF."""

Rendered = tuple[dict[str, list[bytes]], dict[str, str]]
"""Per format the documents of a batch, and per format the error that stopped it (if any)."""


def _builders() -> dict[str, Callable[[Prepared], bytes]]:
    from mgr_tariffs.documents.pdf import build_pdf  # noqa: PLC0415
    from mgr_tariffs.documents.ubl import build_ubl  # noqa: PLC0415

    return {"ubl": build_ubl, "pdf": build_pdf}


def render_batch(formats: Sequence[str], documents: Sequence[Prepared]) -> Rendered:
    """The documents of one batch in each format; a format stops at its first error (kept as its message)."""
    builders = _builders()
    made: dict[str, list[bytes]] = {}
    errors: dict[str, str] = {}
    for fmt in formats:
        build = builders[fmt]
        files = made[fmt] = []
        for doc in documents:
            try:
                files.append(build(doc))
            except DocumentError as exc:
                errors[fmt] = str(exc)
                break
            except Exception as exc:  # a writer bug becomes a message, not a traceback from a worker
                errors[fmt] = f"{doc.id}: the {fmt} writer failed ({type(exc).__name__}: {exc})"
                break
    return made, errors


_SHARED: list[Sequence[Prepared]] = []
"""The batches of the run being rendered, set before the pool forks its workers (which inherit it)."""


def _render_shared(formats: tuple[str, ...], index: int) -> Rendered:
    return render_batch(formats, _SHARED[index])


def workers_available() -> int:
    """The cores this process may run on; 1 where workers are not forked (not Linux)."""
    if sys.platform != "linux":
        return 1
    return len(os.sched_getaffinity(0))


def render(documents: Sequence[Prepared], formats: Sequence[str], *, progress: Progress | None = None,
           workers: int | None = None) -> dict[str, list[bytes]]:
    """Per format the bytes of every document, in the order of ``documents``.

    ``workers``: processes to render with (default: a pool over every core for :data:`POOL_FROM` invoices or
    more, else this process; 1 means this process). Raises :class:`DocumentError`, the first in format and
    invoice order.
    """
    total = len(documents)
    count = workers if workers is not None else (workers_available() if total >= POOL_FROM else 1)
    if sys.platform != "linux":
        count = 1  # workers are forked, which only Linux does safely
    size = max(1, min(BATCH, -(-total // max(1, count * 8))))
    batches = [documents[start:start + size] for start in range(0, total, size)]
    pooled = [fmt for fmt in formats if fmt in POOLED] if count > 1 and len(batches) > 1 else []
    here = [fmt for fmt in formats if fmt not in pooled]
    told = _Told(progress, total, bool(pooled), bool(here))
    try:
        if not pooled:
            results = _here(batches, here, told)
        else:
            results = _pooled(batches, pooled, here, min(count, len(batches)), told)
    finally:
        told.last()
    return _joined(results, formats)


class _Told:
    """The progress of a run whose pooled and local formats advance apart: an invoice is done when all its
    formats are, so what is told is the lesser of the two counts (never going back, the last call done == total)."""

    def __init__(self, progress: Progress | None, total: int, pooled: bool, here: bool) -> None:
        self.progress, self.total = progress, total
        self.done = {"pool": 0 if pooled else total, "here": 0 if here else total}
        self.shown = 0

    def add(self, part: str, count: int) -> None:
        self.done[part] += count
        done = min(self.done.values())
        if self.progress is not None and self.shown < done < self.total:
            self.shown = done
            self.progress(done, self.total)

    def last(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def _here(batches: list[Sequence[Prepared]], formats: Sequence[str], told: _Told,
          pending: Callable[[], None] | None = None) -> list[Rendered]:
    """Each batch in ``formats`` in this process; ``pending`` is called between batches (to collect a pool's
    finished batches meanwhile)."""
    results = []
    for batch in batches:
        results.append(render_batch(formats, batch))
        told.add("here", len(batch))
        if pending is not None:
            pending()
    return results


def _pooled(batches: list[Sequence[Prepared]], formats: Sequence[str], here: Sequence[str], count: int,
            told: _Told) -> list[Rendered]:
    """The batches in ``formats`` on a pool of ``count`` forked workers and in ``here`` in this process
    meanwhile; per batch the documents of both."""
    context = multiprocessing.get_context("fork")
    found: dict[int, Rendered] = {}
    _SHARED[:] = batches
    gc.freeze()  # the objects of this process stay out of the workers' collections, so their pages stay shared
    try:
        with warnings.catch_warnings(), concurrent.futures.ProcessPoolExecutor(
                max_workers=count, mp_context=context, initializer=gc.disable) as pool:
            # Python 3.12+ warns on every fork of a process with threads; the workers never touch what they hold
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            futures = {pool.submit(_render_shared, tuple(formats), index): index for index in range(len(batches))}

            def collect(wait: bool) -> None:
                for future in concurrent.futures.as_completed(futures) if wait else [
                        f for f in futures if f.done()]:
                    index = futures.pop(future)
                    found[index] = future.result()
                    told.add("pool", len(batches[index]))

            try:
                local = _here(batches, here, told, lambda: collect(wait=False)) if here else []
                collect(wait=True)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    except DocumentError:
        raise
    except Exception as exc:  # a dead worker, an unpicklable value: a message, not a traceback
        raise DocumentError(f"the document workers failed ({type(exc).__name__}: {exc}); nothing was written") \
            from None
    finally:
        gc.unfreeze()
        _SHARED.clear()
    if not local:
        return [found[index] for index in range(len(batches))]
    return [({**found[i][0], **local[i][0]}, {**found[i][1], **local[i][1]}) for i in range(len(batches))]


def _joined(results: list[Rendered], formats: Sequence[str]) -> dict[str, list[bytes]]:
    for fmt in formats:
        for _, errors in results:
            if fmt in errors:
                raise DocumentError(errors[fmt])
    return {fmt: [data for made, _ in results for data in made[fmt]] for fmt in formats}
