"""The status quo: nothing new is funded. Standard public services still act (they exist in every
arm), so this is the counterfactual twin of every other arm."""

from __future__ import annotations

from typing import ClassVar

from sim.funding.base import Mechanism


class StatusQuo(Mechanism):
    """No new programme; only the standard services."""

    name: ClassVar[str] = "status_quo"

    def __init__(self) -> None:
        pass
