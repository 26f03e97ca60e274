"""Allocations (toewijzingen): what a municipality allocated a client, and the billed use checked against it.

``model`` — an allocation and its units and frequencies (WJ756, WMO757); ``register`` — the register read from
CSV/XLSX; ``wmo301`` — the register read from iWmo WMO301 messages (validated against the iWmo XSD);
``rules`` — the rules in plain Python (which allocation covers a row, the allowed volume of a monthly line and of
the whole allocation, the use per allocation and month); ``frame`` — the same rules over Polars frames (a property
test holds the two equal); ``report`` — allowed / used / remaining per allocation and month, findings and warnings.
"""

from mgr_tariffs.allocations.model import Allocation, Frequency, Register, Unit

XSD_ENV = "MGR_IWMO_DIR"
"""The environment variable naming the iWmo folder (``--iwmo-dir``; the same as ``mgr declare``'s)."""

__all__ = ["XSD_ENV", "Allocation", "Frequency", "Register", "Unit"]
