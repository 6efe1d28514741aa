"""The checks every funding mechanism must pass (scikit-learn's ``check_estimator`` idea).

A mechanism author calls ``check_mechanism(MyMechanism)``; the tests run it over every
registered mechanism. It raises ``AssertionError`` naming the first broken promise:

- the constructor only stores its parameters: ``get_params`` returns them, ``set_params`` and a
  clone round-trip them, and the defaults validate;
- ``validate`` rejects a value of the wrong type for every parameter with a ``UserInputError``
  (never another exception, never silence);
- a run leaves the parameters unchanged, spends within the budget the mechanism declares,
  balances its ledger, and is reproducible: the same seed gives the same cash flows.

Example:
    >>> from sim.funding.planned import Planned
    >>> check_mechanism(Planned)
"""

from __future__ import annotations

import copy
import math
import types
import typing
from functools import cache
from typing import Any

from sim.errors import UserInputError
from sim.funding.base import Mechanism
from sim.funding.ledger import PUBLIC_PAYERS
from sim.simulation.model import CityModel
from sim.world.territory import City, generate_city

#: Horizons tried, shortest first, until the mechanism's parameters can play out.
HORIZONS_MONTHS = (24, 36, 48, 60, 72, 96)
#: Values of the wrong type for a parameter, tried in turn (one of them differs from any default).
WRONG_VALUES: tuple[Any, ...] = ("not-a-value", [1, 2], {"unknown": 1.0}, 3.5, True)


@cache
def _tiny_city() -> City:
    return generate_city(4, 2_400, seed=7)


def check_mechanism(mechanism_type: type[Mechanism], **params: Any) -> None:
    """Check a mechanism class against every promise of the mechanism interface.

    Args:
        mechanism_type: the class (a subclass of ``sim.funding.base.Mechanism``).
        params: parameters for the run checks (defaults otherwise).
    """
    assert issubclass(mechanism_type, Mechanism), f"{mechanism_type} is not a Mechanism"
    assert mechanism_type.name, f"{mechanism_type.__name__} has no name"
    _check_parameters(mechanism_type)
    _check_wrong_types(mechanism_type)
    _check_run(mechanism_type, params)


def _check_parameters(mechanism_type: type[Mechanism]) -> None:
    """The constructor stores its parameters, and nothing else is needed to rebuild it."""
    mechanism = mechanism_type()
    params = mechanism.get_params()
    assert list(params) == mechanism_type.param_names(), "get_params must list every parameter"
    clone = mechanism_type(**copy.deepcopy(params))
    assert clone.get_params() == params, "a clone must have the same parameters"
    assert mechanism.set_params(**params) is mechanism, "set_params must return the mechanism"
    assert mechanism.get_params() == params, "set_params must round-trip get_params"
    mechanism.validate()


def _check_wrong_types(mechanism_type: type[Mechanism]) -> None:
    """Every parameter rejects a value of the wrong type with a clear ``UserInputError``."""
    defaults = mechanism_type().get_params()
    hints = typing.get_type_hints(mechanism_type.__init__)
    for name in defaults:
        allowed = _allowed_types(hints[name])
        for value in WRONG_VALUES:
            if isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed):
                continue
            mechanism = mechanism_type(**{**copy.deepcopy(defaults), name: value})
            message = _validation_error(mechanism, name, value)
            assert name in message, f"the error for {name}={value!r} must name it: {message}"


def _validation_error(mechanism: Mechanism, name: str, value: Any) -> str:
    """The message of the ``UserInputError`` that ``validate`` must raise for a wrong value."""
    try:
        mechanism.validate()
    except UserInputError as error:
        return str(error)
    except Exception as error:
        raise AssertionError(
            f"{mechanism.name}.validate() raised {type(error).__name__} for "
            f"{name}={value!r}; expected UserInputError"
        ) from error
    raise AssertionError(f"{mechanism.name}.validate() accepted {name}={value!r}")


def _allowed_types(annotation: Any) -> tuple[type, ...]:
    """The runtime types a parameter's annotation admits (a float admits an int)."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in _UNIONS else ()
    kinds: list[type] = []
    for option in options or (annotation,):
        origin = typing.get_origin(option) or option
        if isinstance(origin, type):
            kinds.append(origin)
    if float in kinds:
        kinds.append(int)
    return tuple(kinds)


_UNIONS = (typing.Union, types.UnionType)


def _check_run(mechanism_type: type[Mechanism], params: dict[str, Any]) -> None:
    """A short run: parameters unchanged, spending within the budget, reproducible flows."""
    mechanism = mechanism_type(**params)
    before = copy.deepcopy(mechanism.get_params())
    months = next(
        (m for m in HORIZONS_MONTHS if mechanism.horizon_problem(m) is None), HORIZONS_MONTHS[-1]
    )
    flows = []
    for _ in range(2):
        model = CityModel(_tiny_city(), seed=3, months=months, mechanism=mechanism)
        model.run()
        assert mechanism.get_params() == before, "a run must leave the parameters unchanged"
        flows.append(model.funding.ledger.to_records())
        balances = model.funding.ledger.balances_eur()
        assert math.isclose(sum(balances.values()), 0.0, abs_tol=1e-6), "ledger must balance"
        limit = model.funding.budget_limit_eur
        spent = sum(f["amount_eur"] for f in flows[-1] if f["payer"] in PUBLIC_PAYERS)
        if math.isfinite(limit):
            assert spent <= limit + 0.01, f"spent {spent:,.0f} beyond the budget {limit:,.0f}"
    assert flows[0] == flows[1], "the same seed must give the same cash flows"
