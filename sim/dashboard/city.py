"""A small city run live: an arm and its status-quo twin stepped month by month together.

Both models share the city and the seed, so they draw the same random numbers every month;
what differs between them is what the programme caused.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import matplotlib as mpl
import networkx as nx
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

import sim.funding  # noqa: F401  (loads the mechanisms before the model that uses them)
from sim.dashboard.texts import Texts
from sim.funding import make_mechanism
from sim.simulation.model import CityModel
from sim.world.territory import City, generate_city

#: The arms a workshop can watch, with parameters sized for the small city.
ARMS: dict[str, dict[str, Any]] = {
    "planned": {"budget_eur_per_year": 300_000},
    "call_for_projects": {"budget_eur_per_year": 300_000},
    "impact_contract": {"places": 60, "effect_factor": 3.0},
}
TERRITORIES = 9
RESIDENTS = 6_000
MONTHS = 48
COLOURINGS = ("unemployment", "enrolment")


def small_city(seed: int = 3) -> City:
    """The generated city of the live page: a few territories, a few thousand residents."""
    return generate_city(TERRITORIES, RESIDENTS, seed=seed, name="workshop")


class LiveCity:
    """An arm and its twin, built on the same small city and seed.

    Args:
        arm: a mechanism of :data:`ARMS`.
        seed: the runs' seed.
        months: horizon.
    """

    def __init__(self, arm: str = "impact_contract", seed: int = 1, months: int = MONTHS) -> None:
        self.arm = arm
        self.seed = seed
        self.months = months
        self.city = small_city()
        self.lock = threading.Lock()
        self.model = CityModel(
            self.city,
            seed=seed,
            months=months,
            mechanism=make_mechanism(arm, **ARMS[arm]),
            resident_agents=False,
        )
        self.twin = CityModel(self.city, seed=seed, months=months, resident_agents=False)

    @property
    def month(self) -> int:
        """The last simulated month."""
        return int(self.model.month)

    @property
    def done(self) -> bool:
        """Whether the horizon is reached."""
        return self.month >= self.months

    def step(self) -> None:
        """One month of both runs."""
        with self.lock:
            if not self.done:
                self.model.step()
                self.twin.step()

    def territory_values(self, model: CityModel, colouring: str) -> np.ndarray:
        """Per territory: the unemployment rate this month, or the enrolled per 1,000."""
        if colouring == "unemployment":
            return np.asarray(model.territory_unemployment[model.month], dtype=float)
        population = model.population
        enrolled = np.bincount(
            population.territory[model.enrolment.action >= 0], minlength=model.city.size
        )
        return enrolled / np.maximum(population.territory_sizes, 1) * 1000.0

    def difference(self) -> tuple[float, float]:
        """Arm minus twin: cumulative jobs held 6 months, and enrolled this month."""
        m, t, month = self.model.series, self.twin.series, self.month
        return (
            float(m["sustained_jobs_cumulative"][month] - t["sustained_jobs_cumulative"][month]),
            float(m["enrolled"][month] - t["enrolled"][month]),
        )

    def figure(self, texts: Texts, colouring: str = "unemployment") -> Figure:
        """The two networks side by side, coloured alike, and the two job curves below."""
        labels = texts.labels
        with self.lock:
            values = [self.territory_values(m, colouring) for m in (self.model, self.twin)]
            month = self.month
            jobs = [
                np.array(m.series["sustained_jobs_cumulative"][: month + 1], dtype=float)
                for m in (self.model, self.twin)
            ]
        fig = Figure(figsize=(10, 6.4), layout="constrained")
        grid = fig.add_gridspec(2, 2, height_ratios=(3, 2))
        maps = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])]
        curve = fig.add_subplot(grid[1, :])
        graph = self.city.graph()
        pos = {i: (t.x, t.y) for i, t in enumerate(self.city.territories)}
        if colouring == "unemployment":
            top = max(0.25, float(max(v.max() for v in values)))
            norm = Normalize(0.0, top)
            cmap = mpl.colormaps["OrRd"]
        else:
            top = max(10.0, float(max(v.max() for v in values)))
            norm = Normalize(0.0, top)
            cmap = mpl.colormaps["Blues"]
        names = [labels.arm(self.arm), texts.t("city.twin")]
        qpv = [t.qpv for t in self.city.territories]
        for ax, vals, name in zip(maps, values, names, strict=True):
            nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="#b0b0b0")
            nx.draw_networkx_nodes(
                graph,
                pos,
                ax=ax,
                node_color=[cmap(norm(v)) for v in vals],
                node_size=520,
                edgecolors=["black" if q else "#808080" for q in qpv],
                linewidths=[2.4 if q else 0.6 for q in qpv],
            )
            for i, v in enumerate(vals):
                text = labels.pct(v) if colouring == "unemployment" else labels.integer(v)
                ax.annotate(text, pos[i], ha="center", va="center", fontsize=7)
            ax.set_title(name, fontsize=12)
            ax.set_axis_off()
            ax.margins(0.1)
        bar = fig.colorbar(
            mpl.cm.ScalarMappable(norm=norm, cmap=cmap),
            ax=maps,
            shrink=0.8,
            label=texts.t(f"city.colour.{colouring}"),
        )
        # The scale reads like the territories' labels (12 %, not 0.12; French separators).
        bar.ax.yaxis.set_major_formatter(
            FuncFormatter(
                lambda v, _pos: labels.pct(v) if colouring == "unemployment" else labels.integer(v)
            )
        )
        months = np.arange(month + 1)
        curve.plot(months, jobs[0], color="#d62728", label=names[0])
        curve.plot(months, jobs[1], color="#4d4d4d", linestyle="--", label=names[1])
        curve.set_xlim(0, self.months)
        # Jobs are counted: whole numbers from zero (month 0 would otherwise show -0.04 to 0.04).
        curve.set_ylim(bottom=0.0, top=max(1.0, float(max(j.max() for j in jobs)) * 1.1))
        curve.yaxis.set_major_locator(MaxNLocator(integer=True))
        curve.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels.integer(v)))
        curve.set_xlabel(texts.t("city.months_axis"))
        curve.set_ylabel(texts.t("city.jobs"))
        curve.legend(frameon=False, loc="upper left")
        curve.grid(alpha=0.3)
        fig.suptitle(texts.t("city.month", month=month, months=self.months), fontsize=13)
        return fig


def as_int(value: float) -> str:
    """A signed whole number for the difference line (``+3``, ``-1``, ``0``)."""
    if not math.isfinite(value):
        return "n/a"
    return f"{round(value):+d}" if round(value) else "0"
