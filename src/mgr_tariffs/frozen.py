"""The one base of every value model: frozen (hashable, never edited) and strict (unknown fields refused)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A pydantic model that cannot be changed after it is made and refuses fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")
