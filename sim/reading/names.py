"""Display names of a batch, read from its stored scenario text: arm labels, sweep parameter
labels, and the order in which the scenario file lists its arms and swept parameters.

A scenario may give an arm a ``label`` (English) and a ``label_fr`` (French), and a sweep its
parameters' labels in ``[sweep.labels]`` and ``[sweep.labels_fr]`` (dotted path -> text)::

    [arms.rct_creaming]
    mechanism = "impact_contract"
    label = "RCT, with creaming"
    label_fr = "Essai randomisé, avec écrémage"

    [sweep.labels]
    "arms.cis.price_eur_per_outcome" = "price per outcome (€)"

Names that are not given fall back to a readable default (see :class:`sim.reading.i18n.Labels`).
This module reads text only: it never imports the model.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Languages a label can be given in, and the scenario key of each.
LABEL_KEYS = {"en": "label", "fr": "label_fr"}
SWEEP_LABEL_KEYS = {"en": "labels", "fr": "labels_fr"}


@dataclass(frozen=True)
class DisplayNames:
    """What a batch's scenario says about naming its arms and swept parameters.

    Attributes:
        arms: arm -> language -> label (only the labels the scenario gives).
        mechanisms: arm -> mechanism, in the scenario's order.
        parameters: dotted path -> language -> label (only those the scenario gives).
        sweep_paths: swept parameters in the scenario's order.
    """

    arms: dict[str, dict[str, str]] = field(default_factory=dict)
    mechanisms: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    sweep_paths: tuple[str, ...] = ()

    @property
    def arm_order(self) -> list[str]:
        """Arms in the order the scenario lists them."""
        return list(self.mechanisms)


def parse_scenario_text(text: str) -> dict[str, Any]:
    """A stored scenario text (TOML, or the JSON of a scenario given as a dictionary) as a
    dictionary; empty when it cannot be read."""
    text = text or ""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def display_names(scenario: str | Mapping[str, Any] | None) -> DisplayNames:
    """The display names of a scenario, given as its stored text or as a dictionary."""
    if scenario is None:
        return DisplayNames()
    data = parse_scenario_text(scenario) if isinstance(scenario, str) else dict(scenario)
    arms: dict[str, dict[str, str]] = {}
    mechanisms: dict[str, str] = {}
    table = data.get("arms")
    if isinstance(table, Mapping):
        for name, arm in table.items():
            if not isinstance(arm, Mapping):
                continue
            mechanisms[str(name)] = str(arm.get("mechanism", ""))
            given = {
                lang: str(arm[key])
                for lang, key in LABEL_KEYS.items()
                if isinstance(arm.get(key), str) and arm[key].strip()
            }
            if given:
                arms[str(name)] = given
    parameters: dict[str, dict[str, str]] = {}
    paths: list[str] = []
    sweep = data.get("sweep")
    if isinstance(sweep, Mapping):
        for key in ("grid", "ranges"):
            if isinstance(sweep.get(key), Mapping):
                paths += [str(p) for p in sweep[key]]
        for lang, key in SWEEP_LABEL_KEYS.items():
            labels = sweep.get(key)
            if isinstance(labels, Mapping):
                for path, text in labels.items():
                    if isinstance(text, str) and text.strip():
                        parameters.setdefault(str(path), {})[lang] = text
    return DisplayNames(
        arms=arms, mechanisms=mechanisms, parameters=parameters, sweep_paths=tuple(paths)
    )


def ordered_paths(names: DisplayNames, found: list[str] | set[str]) -> list[str]:
    """Swept parameters found in a batch's point values, in the scenario's order (those the
    scenario does not list follow, sorted)."""
    present = set(found)
    first = [p for p in names.sweep_paths if p in present]
    return first + sorted(present - set(first))
