"""Reading one input file whole, bounded: the one place that turns a missing, oversized or unreadable file into
:class:`~mgr_tariffs.problems.InputError` (exit 2 on the command line)."""

from __future__ import annotations

from pathlib import Path

from mgr_tariffs.problems import InputError


def read_bounded(path: Path, file: str, limit: int, limit_text: str) -> bytes:
    """The bytes of ``path`` (named ``file`` in messages), refused when it is a folder, missing, unreadable or
    larger than ``limit`` bytes (``limit_text`` says how much that is, e.g. ``"1 GiB"``)."""
    try:
        if path.is_dir():
            raise InputError(file, "is a directory, not a file")
        size = path.stat().st_size
        if size > limit:
            raise InputError(file, f"is {size:,} bytes; at most {limit:,} bytes ({limit_text}) can be read")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(file, "no such file") from None
    except OSError as exc:
        raise InputError(file, f"cannot be read: {exc.strerror or exc}") from None
