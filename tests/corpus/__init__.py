"""The hostile-input corpus and its helpers (see README.md)."""
