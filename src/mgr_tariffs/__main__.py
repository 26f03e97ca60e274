"""``python -m mgr_tariffs``: the same as the ``mgr`` command."""

from .entry import main

main()
