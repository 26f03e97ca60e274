"""The progress bar of document writing (``mgr bill --out DIR --documents ubl,pdf``) on a terminal.

The library reports ``(invoices done, in all)`` through :attr:`OutputRequest.progress
<mgr_tariffs.billing.output.OutputRequest.progress>`; this shows it with rich on stderr, with a count and an
estimate of the time left, and only when stderr is a terminal and the output is not JSON (piped, or with
``--format json``, nothing is shown). The bar appears at the first report and goes away at the last one
(``done == total``, which the library also sends when writing stops on an error).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from mgr_tariffs.billing.output import OutputRequest


class DocumentProgress:
    """A callable ``(done, total)`` that draws one rich progress bar on stderr while documents are written."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if done >= total:
                return  # nothing shown yet and already done: stay silent
            self._start(total)
        assert self._progress is not None and self._task is not None
        self._progress.update(self._task, completed=done, total=total)
        if done >= total:
            self._progress.stop()
            self._progress = None

    def _start(self, total: int) -> None:
        from rich.console import Console  # noqa: PLC0415 - on a terminal only
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

        self._progress = Progress(TextColumn("documents"), BarColumn(), MofNCompleteColumn(), TextColumn("invoices,"),
                                  TimeRemainingColumn(), TextColumn("left"), console=Console(stderr=True),
                                  transient=True)
        self._task = self._progress.add_task("documents", total=total)
        self._progress.start()


def with_document_progress(request: OutputRequest | None, *, as_json: bool) -> OutputRequest | None:
    """``request`` with a progress bar for its documents when stderr is a terminal and the output is not JSON."""
    if request is None or as_json or set(request.formats) <= {"csv"} or not sys.stderr.isatty():
        return request
    return replace(request, progress=DocumentProgress())
