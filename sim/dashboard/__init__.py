"""The workshop dashboard: a local web page (Solara) to compare the arms of a batch, move a
contract's terms live on its stored evaluated outcomes, and watch a small city run with its
status-quo twin.

Only :mod:`sim.dashboard.app` and :mod:`sim.dashboard.server` need Solara (the ``dashboard``
extra); the other modules compute from stored results and can be used and tested without it.
"""
