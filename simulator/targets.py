"""Targets: named sets S = {theta : residual(theta) <= eps}.

A residual is a pure JAX function of one chain's position that returns a
scalar, >= 0 outside the set. The engine vmaps it over chains, so it is
written for a single position.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax

from .validate import non_negative

Residual = Callable[[jax.Array], jax.Array]

#: Outcome labels that name engine outcomes; no target may use them.
RESERVED_NAMES = frozenset({"tie", "diverged", "censored", "escaped", "running", "failure"})


@dataclass(frozen=True)
class Target:
    """A target set S = {x : residual(x) <= eps}.

    Args:
        name: unique label, used as the key in ``RaceResult.counts``.
        residual: pure function ``position -> scalar``; >= 0 outside the set.
        eps: tolerance; the chain enters the target when ``residual <= eps``.
        distance: whether ``residual`` is (locally) the Euclidean distance to
            the set, in the position's own coordinates. Only such targets get
            the Brownian-bridge crossing correction (``race(bridge=True)``).
    """

    name: str
    residual: Residual
    eps: float = 0.0
    distance: bool = True

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Target name must be a non-empty str, got {self.name!r}")
        if self.name in RESERVED_NAMES:
            raise ValueError(
                f"Target name {self.name!r} is reserved for engine outcomes "
                f"({sorted(RESERVED_NAMES)})")
        if not callable(self.residual):
            raise TypeError(f"Target {self.name!r}: residual must be callable, "
                            f"got {type(self.residual).__name__}")
        try:
            eps = non_negative("eps", self.eps)
        except (TypeError, ValueError) as err:
            raise type(err)(f"Target {self.name!r}: {err}") from None
        object.__setattr__(self, "eps", eps)
        if not isinstance(self.distance, bool):
            raise TypeError(f"Target {self.name!r}: distance must be a bool")


def check_targets(targets) -> tuple[Target, ...]:
    """Return ``targets`` as a tuple, refusing empty lists, non-Targets and duplicate names."""
    if isinstance(targets, Target):
        targets = [targets]
    try:
        targets = tuple(targets)
    except TypeError:
        raise TypeError("targets must be a sequence of sim.Target") from None
    if not targets:
        raise ValueError("targets must contain at least one sim.Target")
    for t in targets:
        if not isinstance(t, Target):
            raise TypeError(f"targets must contain sim.Target objects, got {type(t).__name__}")
    names = [t.name for t in targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"targets: duplicate target names {duplicates}")
    return targets
