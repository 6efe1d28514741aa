"""Published social impact contracts as data: their terms, what was published about their
outcome, and the checks that settling those outcomes must pass.

A library file (TOML, in ``scenarios/contracts/``) keeps the research record as found (``name``,
``description``, ``[[sources]]``, the quoted ``[terms]`` and ``[published]`` sections, and the
``[[assumed]]`` list of every term that was not published, with the reasoning) and adds three
sections that the simulator reads:

- ``[contract]``: the terms as :class:`sim.funding.settlement.ContractTerms` fields (rate card,
  tiers, payers, guarantee...);
- ``[outcome]``: the published outcome as the evaluator's certified figures
  (``[[outcome.periods]]``, :class:`sim.funding.settlement.EvaluatedPeriod` fields) and the
  investors' drawdowns
  (``drawdowns = [[month, amount], ...]`` or ``{ total, from_month, to_month }`` spread evenly);
- ``[[checks]]``: a published figure, the settled figure it is compared with, and the tolerance
  the source's precision allows (``kind = "published"``), or a rule of the contract checked on
  the figures (``kind = "rule"``) when no outcome was published.

Example:
    >>> from pathlib import Path
    >>> folder = Path(__file__).resolve().parents[2] / "scenarios" / "contracts"
    >>> rikers = load_contract(folder / "rikers_able.toml")
    >>> settled = settle_contract(rikers)
    >>> settled.total_paid_eur, round(settled.guarantee_paid_eur)
    (0.0, 6000000)
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import UserInputError
from sim.funding.settlement import ContractTerms, EvaluatedPeriod, Settlement, settle

#: Derived figures a check may name besides the attributes of a ``Settlement``.
DERIVED = ("investor_received_eur", "investor_net_eur", "drawn_eur")
CHECK_KINDS = ("published", "solved", "rule")


@dataclass(frozen=True)
class Check:
    """A published figure (or a rule) against what the settlement gives.

    Attributes:
        figure: What is compared, in words.
        settled: The settlement's figure: an attribute of ``Settlement`` (``total_paid_eur``,
            ``investor_irr_per_year``, ``guarantee_paid_eur``...), an item of one
            (``limited_by[0]``, ``payments[1][1]``), or a derived figure (``DERIVED``).
        published: The published value (a number or a text such as ``threshold_not_met``).
        tolerance: Absolute tolerance the source's rounding allows (numbers only).
        low, high: Alternatively, the interval the settled figure must fall in (``high``
            excluded), e.g. "just over 3 %" as [0.030, 0.035).
        kind: ``published`` (a figure someone published) or ``rule`` (the contract's own rule).
        source: The source id of the published figure.
    """

    figure: str
    settled: str
    published: Any = None
    tolerance: float = 0.0
    low: float | None = None
    high: float | None = None
    kind: str = "published"
    source: str = ""

    def value(self, settlement: Settlement, drawdowns: list[tuple[int, float]]) -> Any:
        """The settled figure this check reads."""
        drawn = math.fsum(amount for _, amount in drawdowns)
        received = settlement.total_paid_eur + settlement.guarantee_paid_eur
        derived = {
            "investor_received_eur": received,
            "investor_net_eur": received - drawn,
            "drawn_eur": drawn,
        }
        match = re.fullmatch(r"(\w+)((?:\[\d+\])*)", self.settled)
        if match is None:
            raise UserInputError(f"check {self.figure!r}: cannot read figure {self.settled!r}")
        name, indices = match.groups()
        if name in derived:
            value: Any = derived[name]
        elif hasattr(settlement, name):
            value = getattr(settlement, name)
        else:
            raise UserInputError(
                f"check {self.figure!r}: {name!r} is neither a settlement figure nor one of "
                f"{', '.join(DERIVED)}"
            )
        for index in re.findall(r"\[(\d+)\]", indices):
            value = value[int(index)]
        return value

    def passes(self, value: Any) -> bool:
        """Whether the settled figure matches the published one within the tolerance."""
        if self.low is not None or self.high is not None:
            low = -math.inf if self.low is None else self.low
            high = math.inf if self.high is None else self.high
            return value is not None and low <= float(value) < high
        if isinstance(self.published, str | bool):
            return bool(value == self.published)
        return value is not None and abs(float(value) - float(self.published)) <= self.tolerance


@dataclass(frozen=True)
class PublishedContract:
    """One contract of the library: terms, published outcome, checks and what was assumed."""

    key: str
    name: str
    country: str
    currency: str
    terms: ContractTerms
    periods: tuple[EvaluatedPeriod, ...]
    drawdowns: tuple[tuple[int, float], ...]
    checks: tuple[Check, ...]
    assumed: tuple[dict[str, Any], ...] = ()
    sources: tuple[dict[str, Any], ...] = ()
    published: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    description_fr: str = ""

    @property
    def outcome_published(self) -> bool:
        """Whether any figure of its outcome was published (some check compares with one)."""
        return any(check.kind == "published" for check in self.checks)


def _drawdowns(value: Any, where: str) -> tuple[tuple[int, float], ...]:
    """Drawdowns as pairs, or a total spread evenly over a range of months."""
    if isinstance(value, Mapping):
        total = float(value["total"])
        months = range(int(value["from_month"]), int(value["to_month"]) + 1)
        return tuple((month, total / len(months)) for month in months)
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in value
    ):
        raise UserInputError(
            f"{where}: outcome.drawdowns must be [[month, amount], ...] or "
            "{{ total, from_month, to_month }}"
        )
    return tuple((int(month), float(amount)) for month, amount in value)


def load_contract(path: str | Path) -> PublishedContract:
    """Read one library file.

    Raises:
        UserInputError: the file is missing, not TOML, or its terms, periods or checks are
            inconsistent (the message names the file).
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UserInputError(f"{file}: cannot read the contract: {error}") from None
    try:
        for section in ("contract", "outcome", "checks"):
            if section not in data:
                raise UserInputError(f"missing the [{section}] section")
        terms = ContractTerms(**data["contract"])
        outcome = data["outcome"]
        periods = tuple(EvaluatedPeriod(**period) for period in outcome.get("periods", []))
        drawdowns = _drawdowns(outcome.get("drawdowns", []), str(file))
        checks = tuple(Check(**check) for check in data["checks"])
        for check in checks:
            if check.kind not in CHECK_KINDS:
                raise UserInputError(
                    f"check {check.figure!r}: kind must be one of {', '.join(CHECK_KINDS)}"
                )
    except (TypeError, KeyError) as error:
        raise UserInputError(f"{file}: {error}") from None
    except UserInputError as error:
        raise UserInputError(f"{file}: {error}") from None
    return PublishedContract(
        key=file.stem,
        name=str(data.get("name", file.stem)),
        country=str(data.get("country", "")),
        currency=str(data.get("currency", "")),
        terms=terms,
        periods=periods,
        drawdowns=drawdowns,
        checks=checks,
        assumed=tuple(data.get("assumed", [])),
        sources=tuple(data.get("sources", [])),
        published=dict(data.get("published", {})),
        description=str(data.get("description", "")),
        description_fr=str(data.get("description_fr", "")),
    )


def load_library(folder: str | Path) -> list[PublishedContract]:
    """Every contract of a library folder, by file name."""
    return [load_contract(path) for path in sorted(Path(folder).glob("*.toml"))]


def settle_contract(contract: PublishedContract) -> Settlement:
    """Settle a library contract's published outcome under its terms."""
    return settle(contract.terms, list(contract.periods), list(contract.drawdowns))


def check_results(contract: PublishedContract) -> list[tuple[Check, Any, bool]]:
    """Each check with the settled figure and whether it passes."""
    settled = settle_contract(contract)
    results = []
    for check in contract.checks:
        value = check.value(settled, list(contract.drawdowns))
        results.append((check, value, check.passes(value)))
    return results
