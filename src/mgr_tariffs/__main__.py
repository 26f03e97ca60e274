"""``python -m mgr_tariffs``: the same as the ``mgr`` command."""

from mgr_tariffs.entry import main

main()
