"""Polars, imported when it is first used.

The shared modules (``money``, ``quantity``, ``bsn``, the catalogue's ``pricing`` and ``membership``, ...) hold
each rule's scalar function next to its Polars twin. A command that needs only the scalar side (``mgr
validate``, ``mgr price``) should not pay for importing Polars (~0.15 s), so those modules take ``pl`` from
here::

    if TYPE_CHECKING:
        import polars as pl
    else:
        from mgr_tariffs.lazy import polars as pl

``pl`` is then Polars itself, loaded on the first attribute looked up (``pl.col``, ``pl.DataFrame``), by the
standard library's :class:`importlib.util.LazyLoader`. A module that imports Polars as usual (the billing
engine, the table reader) loads it at once; both see the same module.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, loaded when its first attribute is looked up (already imported: the module itself)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


polars = lazy_module("polars")
