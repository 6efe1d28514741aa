"""The contract designer: from a batch's evaluated outcomes, the terms that work for both sides.

A stored contract run keeps everything its settlement needs: what the evaluator certified at each
payment date, the investor's drawdowns, the capital, the operating cost and the payer's own costs.
The designer settles those stored outcomes again under every terms of a grid (price per outcome or
rate-card scale, threshold, cap as a multiple of the capital, maximum return, a first-loss
guarantee as a share of the capital) and keeps the **region** where, across replications:

- the payer's NPV is positive with at least the chosen probability (the run's NPV against its
  status-quo twin, with the contract's repayments replaced by those of the new terms);
- the investor reaches the chosen annual return with at least the chosen probability (its flows,
  drawdowns out and repayments plus any guarantee in, have a non-negative NPV at that rate);
- the Bordeaux text's rule holds with at least the chosen probability: repaying the investor
  costs the payer less than financing the service itself (repayments + the payer's own costs
  < the operator's costs).

When no terms satisfy the three constraints, the designer says which ones bind: those whose
removal would leave some terms (or, if removing any one is not enough, the constraints that no
terms meet even alone). Reads only stored data (``sim.experiments.store``); the settlement is the
pure function of ``sim.funding.settlement``.

Example:
    >>> design = design_contract("results/demo.db")  # doctest: +SKIP
    >>> print(design.summary(Labels("en")))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.errors import UserInputError
from sim.experiments.store import ResultStore, require_existing
from sim.funding.settlement import ContractTerms, EvaluatedPeriod, MetricFigures, settle
from sim.reading.i18n import Labels
from sim.world.params import ModelParams

CONSTRAINTS = ("payer_npv", "investor_return", "rule")
DEFAULT_CAP_RATIOS = (1.0, 1.2, 1.5, 2.0)
DEFAULT_MAX_RETURNS = (0.03, 0.05, 0.08, 0.12)
DEFAULT_GUARANTEES = (0.0, 0.25, 0.5, 1.0)
#: Price points tried when none are given: from 0 to this multiple of the break-even price.
PRICE_POINTS = 21
PRICE_SPAN = 3.0


@dataclass(frozen=True)
class Constraints:
    """What a city asks of a contract, with probabilities across replications.

    Attributes:
        payer_npv_probability: P(payer's NPV > 0) must be at least this.
        investor_return_per_year: the investor's target annual return.
        investor_probability: P(investor reaches its target) must be at least this.
        rule_probability: P(payer's cost < the service's cost) must be at least this.
    """

    payer_npv_probability: float = 0.5
    investor_return_per_year: float = 0.03
    investor_probability: float = 0.5
    rule_probability: float = 1.0

    def __post_init__(self) -> None:
        """Probabilities in [0, 1], a return in [-0.99, 1]."""
        for name in ("payer_npv_probability", "investor_probability", "rule_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UserInputError(f"{name} must be a probability in [0, 1], got {value!r}")
        if not -0.99 <= self.investor_return_per_year <= 1.0:
            raise UserInputError(
                "investor_return_per_year must be in [-0.99, 1], "
                f"got {self.investor_return_per_year!r}"
            )


@dataclass(frozen=True)
class StoredContract:
    """One replication's contract as the store keeps it, with what the payer's NPV needs."""

    replication: int
    terms: ContractTerms
    periods: tuple[EvaluatedPeriod, ...]
    drawdowns: tuple[tuple[int, float], ...]
    capital_eur: float
    operating_cost_eur: float
    payer_cost_eur: float
    npv_eur: float
    repayments: tuple[tuple[int, float], ...]
    discount_rate_per_year: float


@dataclass
class ContractDesign:
    """The designer's answer.

    Attributes:
        arm, point: the batch's contract arm and sweep point whose outcomes were used.
        replications: how many replications.
        constraints: what was asked.
        axis: ``price`` (EUR per outcome) or ``scale`` (of a rate card's prices).
        grid: one row per terms tried: the terms, the probability of each constraint, the mean
            payer NPV, payments and investor NPV at its target rate, ``feasible``.
        best: the best feasible terms (highest mean payer NPV first), or empty.
        binding: the constraints that bind when no terms satisfy all of them.
        alone: the best probability each constraint reaches on its own over the grid.
    """

    arm: str
    point: int
    replications: int
    constraints: Constraints
    axis: str
    grid: pd.DataFrame
    best: pd.DataFrame
    binding: tuple[str, ...] = ()
    alone: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """Whether some terms satisfy every constraint."""
        return not self.best.empty

    def summary(self, labels: Labels) -> str:
        """The answer in words, then the table of the best terms."""
        c = self.constraints
        head = labels.t(
            "design.asked",
            p_npv=labels.pct(c.payer_npv_probability),
            target=labels.pct(c.investor_return_per_year, 1),
            p_investor=labels.pct(c.investor_probability),
            p_rule=labels.pct(c.rule_probability),
            replications=self.replications,
            arm=labels.arm(self.arm),
        )
        if self.feasible:
            share = float(self.grid["feasible"].mean())
            verdict = labels.t(
                "design.found", count=int(self.grid["feasible"].sum()), share=labels.pct(share, 1)
            )
            return "\n".join([head, verdict, "", self.table(labels)])
        names = labels.join([labels.t(f"design.constraint.{c}") for c in self.binding])
        alone = ", ".join(
            f"{labels.t(f'design.constraint.{name}')} {labels.pct(self.alone[name])}"
            for name in CONSTRAINTS
        )
        return "\n".join(
            [head, labels.t("design.none", binding=names), labels.t("design.alone", alone=alone)]
        )

    def table(self, labels: Labels, rows: int = 5) -> str:
        """The best terms as a plain-text table."""
        frame = self.best_table(labels).head(rows)
        return str(frame.to_string(index=False))

    def best_table(self, labels: Labels) -> pd.DataFrame:
        """The best terms with translated column names and formatted values."""
        b = self.best
        axis = labels.t(f"design.axis.{self.axis}")
        return pd.DataFrame(
            {
                axis: [
                    labels.eur(v) if self.axis == "price" else labels.num(v, 2) for v in b["price"]
                ],
                labels.t("design.threshold"): [labels.num(v, 2) for v in b["threshold"]],
                labels.t("design.cap_ratio"): [labels.num(v, 2) for v in b["cap_ratio"]],
                labels.t("design.max_return"): [labels.pct(v, 1) for v in b["max_return"]],
                labels.t("design.guarantee"): [labels.pct(v) for v in b["guarantee_share"]],
                labels.t("design.p_payer_npv"): [labels.pct(v) for v in b["p_payer_npv"]],
                labels.t("design.mean_payer_npv"): [labels.eur(v) for v in b["mean_payer_npv"]],
                labels.t("design.p_investor"): [labels.pct(v) for v in b["p_investor_return"]],
                labels.t("design.p_rule"): [labels.pct(v) for v in b["p_rule"]],
                labels.t("design.mean_payments"): [labels.eur(v) for v in b["mean_payments"]],
            }
        )


# ---------------------------------------------------------------------------- stored data
def stored_contracts(
    store: ResultStore, batch_id: int, arm: str | None = None, point: int | None = None
) -> tuple[str, int, list[StoredContract]]:
    """The contract runs of one arm and sweep point, one per replication.

    Raises:
        UserInputError: no impact contract arm, or no finished run of it.
    """
    runs = store.runs(batch_id)
    contracts = runs[(runs["mechanism"] == "impact_contract") & (runs["status"] == "done")]
    if contracts.empty:
        raise UserInputError(f"{store.url}: batch {batch_id} has no finished contract run")
    arms = sorted(set(contracts["arm"]))
    arm = arm if arm is not None else arms[0]
    if arm not in arms:
        raise UserInputError(f"--arm: expected one of {', '.join(arms)}, got {arm!r}")
    mine = contracts[contracts["arm"] == arm]
    point = int(mine["point"].min()) if point is None else point
    mine = mine[mine["point"] == point]
    if mine.empty:
        raise UserInputError(f"--point: arm {arm!r} has no finished run at point {point}")
    metrics = store.metrics(batch_id)
    npv = dict(zip(metrics["run_id"], metrics["npv_eur"], strict=True))
    rate_default = ModelParams().discount_rate_per_year
    out = []
    for row in mine.itertuples():
        record = json.loads(str(row.contract))
        if not record.get("periods"):
            continue
        params = json.loads(str(row.model_params))
        out.append(
            _stored(
                record,
                int(row.replication),
                float(npv[row.id]),
                params.get("discount_rate_per_year", rate_default),
            )
        )
    if not out:
        raise UserInputError(
            f"{store.url}: the contracts of arm {arm!r} reached no payment date: nothing to settle"
        )
    return arm, point, out


def _stored(record: dict[str, Any], replication: int, npv: float, rate: float) -> StoredContract:
    periods = tuple(
        EvaluatedPeriod(
            int(p["month"]),
            float(p["validated_outcomes"]),
            float(p["counterfactual_outcomes"]),
            {m: MetricFigures(*v) for m, v in p.get("metrics", {}).items()},
            str(p.get("cohort", "")),
            float(p.get("participants", 0)),
        )
        for p in record["periods"]
    )
    last = periods[-1].month
    settlement = record["settlement"]
    repayments = tuple((int(m), float(a)) for m, a in settlement["payments"])
    return StoredContract(
        replication=replication,
        terms=ContractTerms(**record["terms"]),
        periods=periods,
        drawdowns=tuple((int(m), float(a)) for m, a in record["drawdowns"] if int(m) <= last),
        capital_eur=float(record["capital_eur"]),
        operating_cost_eur=float(record["operating_cost_eur"]),
        payer_cost_eur=float(record["payer_cost_eur"]),
        npv_eur=npv,
        repayments=repayments,
        discount_rate_per_year=float(rate),
    )


# ---------------------------------------------------------------------------- the search
def _present_value(
    flows: tuple[tuple[int, float], ...] | list[tuple[int, float]], rate: float
) -> float:
    return math.fsum(amount * (1.0 + rate) ** (-month / 12.0) for month, amount in flows)


def _terms_at(
    base: ContractTerms, axis: str, price: float, threshold: float, cap: float, max_return: float
) -> ContractTerms:
    """The stored terms with a price (or rate-card scale), threshold, cap and maximum return."""
    changes: dict[str, Any] = {
        "threshold_value": threshold,
        "payment_cap_eur": cap,
        "max_return_per_year": max_return,
        "guarantee_cover_eur": 0.0,
    }
    if axis == "price":
        changes["price_eur_per_outcome"] = price
    else:
        changes["rate_card"] = tuple(
            dataclasses.replace(line, price_eur=line.price_eur * price) for line in base.rate_card
        )
        changes["tiers"] = tuple(
            dataclasses.replace(tier, amount_eur=tier.amount_eur * price) for tier in base.tiers
        )
    return dataclasses.replace(base, **changes)


def default_prices(contracts: list[StoredContract], axis: str) -> tuple[float, ...]:
    """Prices from 0 to 3 x the price at which the mean validated outcomes repay the capital
    (scales from 0 to 3 for a rate card)."""
    if axis == "scale":
        return tuple(float(x) for x in np.linspace(0.0, PRICE_SPAN, PRICE_POINTS))
    validated = np.mean([max(c.periods[-1].validated_outcomes, 0.0) for c in contracts])
    capital = np.mean([c.capital_eur for c in contracts])
    break_even = capital / validated if validated > 0 else capital
    top = _round_price(PRICE_SPAN * break_even)
    return tuple(float(x) for x in np.linspace(0.0, top, PRICE_POINTS))


def _round_price(value: float) -> float:
    magnitude = 10 ** max(0, math.floor(math.log10(max(value, 1.0))) - 1)
    return float(math.ceil(value / magnitude) * magnitude)


def default_thresholds(contracts: list[StoredContract]) -> tuple[float, ...]:
    """Thresholds from 0 to the lowest final validated count (absolute), or 0 to 0.3 (relative)."""
    kind = contracts[0].terms.threshold_kind
    if kind == "relative":
        return (0.0, 0.05, 0.1, 0.2, 0.3)
    low = min(max(c.periods[-1].validated_outcomes, 0.0) for c in contracts)
    return tuple(sorted({float(round(x)) for x in np.linspace(0.0, low, 5)}))


def design_contract(
    db: str | ResultStore,
    batch: int | None = None,
    arm: str | None = None,
    point: int | None = None,
    constraints: Constraints | None = None,
    prices: tuple[float, ...] | None = None,
    thresholds: tuple[float, ...] | None = None,
    cap_ratios: tuple[float, ...] = DEFAULT_CAP_RATIOS,
    max_returns: tuple[float, ...] = DEFAULT_MAX_RETURNS,
    guarantee_shares: tuple[float, ...] = DEFAULT_GUARANTEES,
) -> ContractDesign:
    """Search the terms that satisfy the city's constraints on a batch's stored outcomes.

    Args:
        db: a results database (path or URL) or an open store.
        batch: the batch (default: the latest).
        arm: the contract arm (default: the first impact contract arm).
        point: the sweep point whose outcomes are used (default: the arm's first); points that
            differ only by settlement terms have the same outcomes.
        constraints: what the city asks (defaults: ``Constraints()``).
        prices: prices per outcome (or rate-card scales) to try; default: 0 to 3 x break-even.
        thresholds: thresholds to try, in the contract's threshold kind.
        cap_ratios: caps as multiples of each replication's capital.
        max_returns: the investor's maximum annual returns.
        guarantee_shares: first-loss guarantees as shares of the capital.
    """
    if isinstance(db, str):
        require_existing(db)
        with ResultStore(db) as store:
            return design_contract(
                store,
                batch,
                arm,
                point,
                constraints,
                prices,
                thresholds,
                cap_ratios,
                max_returns,
                guarantee_shares,
            )
    store = db
    batch_id = store.batch_id(batch)
    arm, point, contracts = stored_contracts(store, batch_id, arm, point)
    asked = constraints or Constraints()
    axis = "scale" if contracts[0].terms.rate_card else "price"
    prices = prices or default_prices(contracts, axis)
    thresholds = thresholds or default_thresholds(contracts)
    rows = []
    for price, threshold, cap, max_return in itertools.product(
        prices, thresholds, cap_ratios, max_returns
    ):
        settled = _evaluate(contracts, asked, axis, price, threshold, cap, max_return)
        for guarantee in guarantee_shares:
            rows.append(
                {
                    "price": price,
                    "threshold": threshold,
                    "cap_ratio": cap,
                    "max_return": max_return,
                    "guarantee_share": guarantee,
                    **_with_guarantee(settled, guarantee),
                }
            )
    grid = pd.DataFrame(rows)
    passes = {
        "payer_npv": grid["p_payer_npv"] >= asked.payer_npv_probability - 1e-12,
        "investor_return": grid["p_investor_return"] >= asked.investor_probability - 1e-12,
        "rule": grid["p_rule"] >= asked.rule_probability - 1e-12,
    }
    for name, ok in passes.items():
        grid[f"ok_{name}"] = ok
    grid["feasible"] = passes["payer_npv"] & passes["investor_return"] & passes["rule"]
    best = grid[grid["feasible"]].sort_values(
        ["mean_payer_npv", "p_investor_return", "guarantee_share"],
        ascending=[False, False, True],
    )
    alone = {
        "payer_npv": float(grid["p_payer_npv"].max()),
        "investor_return": float(grid["p_investor_return"].max()),
        "rule": float(grid["p_rule"].max()),
    }
    binding: tuple[str, ...] = ()
    if best.empty:
        binding = _binding(passes)
    return ContractDesign(
        arm=arm,
        point=point,
        replications=len(contracts),
        constraints=asked,
        axis=axis,
        grid=grid,
        best=best.reset_index(drop=True),
        binding=binding,
        alone=alone,
    )


def _binding(passes: dict[str, pd.Series]) -> tuple[str, ...]:
    """Constraints whose removal leaves some terms; else those no terms meet even alone; else
    every constraint (they conflict only all together)."""
    single = tuple(
        name
        for name in CONSTRAINTS
        if bool(np.logical_and.reduce([passes[o] for o in CONSTRAINTS if o != name]).any())
    )
    if single:
        return single
    never = tuple(name for name in CONSTRAINTS if not bool(passes[name].any()))
    return never or CONSTRAINTS


@dataclass(frozen=True)
class _Settled:
    """One terms' settlement in each replication, before any guarantee."""

    payer_npv: np.ndarray
    payments: np.ndarray
    investor_npv: np.ndarray
    rule: np.ndarray
    loss: np.ndarray
    capital: np.ndarray
    guarantee_discount: np.ndarray


def _evaluate(
    contracts: list[StoredContract],
    asked: Constraints,
    axis: str,
    price: float,
    threshold: float,
    cap_ratio: float,
    max_return: float,
) -> _Settled:
    """Settle one terms in every replication. A guarantee changes neither the payments nor the
    payer's NPV, only the investor's flows, so it is added afterwards (``_with_guarantee``)."""
    target = asked.investor_return_per_year
    columns: dict[str, list[float]] = {k: [] for k in _Settled.__dataclass_fields__}
    for c in contracts:
        terms = _terms_at(c.terms, axis, price, threshold, cap_ratio * c.capital_eur, max_return)
        settled = settle(terms, list(c.periods), list(c.drawdowns), with_irr=False)
        rate = c.discount_rate_per_year
        last = c.periods[-1].month
        final = last == terms.payment_months[-1]
        drawn = math.fsum(amount for _, amount in c.drawdowns)
        columns["payer_npv"].append(
            c.npv_eur + _present_value(c.repayments, rate) - _present_value(settled.payments, rate)
        )
        columns["payments"].append(settled.total_paid_eur)
        columns["investor_npv"].append(_present_value(settled.investor_flows_eur, target))
        columns["rule"].append(
            float(settled.total_paid_eur + c.payer_cost_eur < c.operating_cost_eur)
        )
        columns["loss"].append(max(0.0, drawn - settled.total_paid_eur) if final else 0.0)
        columns["capital"].append(c.capital_eur)
        columns["guarantee_discount"].append((1.0 + target) ** (-last / 12.0))
    return _Settled(**{k: np.array(v) for k, v in columns.items()})


def _with_guarantee(settled: _Settled, share: float) -> dict[str, float]:
    """Probabilities and means across replications with a first-loss guarantee of ``share`` x
    capital: the guarantor pays the investor's loss up to its cover at the last payment date."""
    guarantee = np.minimum(share * settled.capital, settled.loss)
    investor = settled.investor_npv + guarantee * settled.guarantee_discount
    return {
        "p_payer_npv": float(np.mean(settled.payer_npv > 0)),
        "mean_payer_npv": float(np.mean(settled.payer_npv)),
        "p_investor_return": float(np.mean(investor >= -1e-6)),
        "mean_investor_npv": float(np.mean(investor)),
        "p_rule": float(np.mean(settled.rule)),
        "mean_payments": float(np.mean(settled.payments)),
        "mean_guarantee": float(np.mean(guarantee)),
    }


# ---------------------------------------------------------------------------- the figure
def design_figure(design: ContractDesign, labels: Labels) -> Figure:
    """The region of terms: on the left, price x threshold at the best (or closest) cap,
    maximum return and guarantee, coloured by which constraints hold; on the right, each
    constraint's probability against the price at that threshold, with the level asked."""
    grid = design.grid
    reference = design.best.iloc[0] if design.feasible else _closest(grid)
    fixed = (
        (grid["cap_ratio"] == reference["cap_ratio"])
        & (grid["max_return"] == reference["max_return"])
        & (grid["guarantee_share"] == reference["guarantee_share"])
    )
    plane = grid[fixed]
    prices = np.sort(plane["price"].unique())
    thresholds = np.sort(plane["threshold"].unique())
    status = np.zeros((len(thresholds), len(prices)))
    for row in plane.itertuples():
        i = int(np.searchsorted(thresholds, row.threshold))
        j = int(np.searchsorted(prices, row.price))
        status[i, j] = row.ok_payer_npv * 1 + row.ok_investor_return * 2 + row.ok_rule * 4
    fig = Figure(figsize=(11.5, 4.8), dpi=110, layout="constrained")
    left, right = fig.subplots(1, 2)
    colours = {
        0: "#d9d9d9",
        1: "#9ecae1",
        2: "#fdd0a2",
        3: "#c6dbef",
        4: "#e5e5e5",
        5: "#6baed6",
        6: "#fdae6b",
        7: "#31a354",
    }
    scale = prices / 1_000 if design.axis == "price" else prices
    image = np.array([[_rgb(colours[int(v)]) for v in row] for row in status])
    step_x = (scale[1] - scale[0]) if len(scale) > 1 else 1.0
    step_y = (thresholds[1] - thresholds[0]) if len(thresholds) > 1 else 1.0
    left.imshow(
        image,
        origin="lower",
        aspect="auto",
        extent=(
            scale[0] - step_x / 2,
            scale[-1] + step_x / 2,
            thresholds[0] - step_y / 2,
            thresholds[-1] + step_y / 2,
        ),
        interpolation="nearest",
    )
    legend = []
    for code in sorted({int(v) for v in status.flat}, reverse=True):
        met = [name for bit, name in zip((1, 2, 4), CONSTRAINTS, strict=True) if code & bit]
        text = (
            labels.t(
                "design.legend.meets",
                which=labels.join([labels.t(f"design.constraint.{name}") for name in met]),
            )
            if met
            else labels.t("design.legend.none")
        )
        legend.append(Patch(color=colours[code], label=text))
    left.legend(handles=legend, loc="upper left", fontsize="small", framealpha=0.9)
    x_label = labels.t(f"design.axis.{design.axis}") + (" (k€)" if design.axis == "price" else "")
    left.set(
        xlabel=x_label,
        ylabel=labels.t("design.threshold"),
        title="\n".join(
            labels.t(
                "design.figure.plane",
                cap=labels.num(float(reference["cap_ratio"]), 2),
                max_return=labels.pct(float(reference["max_return"]), 1),
                guarantee=labels.pct(float(reference["guarantee_share"])),
            ).split(", ", 1)
        ),
    )
    line = plane[plane["threshold"] == reference["threshold"]].sort_values("price")
    x = line["price"] / 1_000 if design.axis == "price" else line["price"]
    asked = design.constraints
    for column, key, level, colour in (
        ("p_payer_npv", "design.constraint.payer_npv", asked.payer_npv_probability, "C0"),
        (
            "p_investor_return",
            "design.constraint.investor_return",
            asked.investor_probability,
            "C1",
        ),
        ("p_rule", "design.constraint.rule", asked.rule_probability, "C2"),
    ):
        right.plot(x, line[column], marker="o", ms=3, color=colour, label=labels.t(key))
        right.axhline(level, color=colour, ls=":", lw=1)
    right.set(
        xlabel=x_label,
        ylabel=labels.t("design.probability"),
        ylim=(-0.03, 1.03),
        title=labels.t(
            "design.figure.curves", threshold=labels.num(float(reference["threshold"]), 2)
        ),
    )
    right.legend(fontsize="small", loc="center right")
    verdict = (
        labels.t("design.figure.found")
        if design.feasible
        else labels.t(
            "design.figure.none",
            binding=labels.join([labels.t(f"design.constraint.{c}") for c in design.binding]),
        )
    )
    fig.suptitle(labels.t("design.figure.title") + "\n" + verdict, fontsize="medium")
    return fig


def _closest(grid: pd.DataFrame) -> pd.Series:
    """When nothing is feasible, the terms to draw the plane around: in the cap, maximum return
    and guarantee whose price x threshold plane meets the most constraints in all (where the
    conflict shows best), the terms meeting the most constraints there."""
    met = (
        grid["ok_payer_npv"].astype(int)
        + grid["ok_investor_return"].astype(int)
        + grid["ok_rule"].astype(int)
    )
    keys = ["cap_ratio", "max_return", "guarantee_share"]
    by_plane = met.groupby([grid[k] for k in keys]).sum()
    cap, max_return, guarantee = by_plane.idxmax()
    plane = (
        (grid["cap_ratio"] == cap)
        & (grid["max_return"] == max_return)
        & (grid["guarantee_share"] == guarantee)
    )
    total = grid["p_payer_npv"] + grid["p_investor_return"] + grid["p_rule"]
    order = np.lexsort((-total[plane].to_numpy(), -met[plane].to_numpy()))
    return grid[plane].iloc[int(order[0])]


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
