"""Markov chains with exact absorption probabilities, for the splitting tests (imported, never collected)."""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import simulator as sim
from simulator.dynamics.base import Kernel


class WalkState(NamedTuple):
    position: jax.Array


def ruin_probability(p_up: float, n: int, start: int = 1) -> float:
    """P(reach n before 0 from start), (1 - r^start) / (1 - r^n) with r = q/p (gambler's ruin)."""
    r = (1 - p_up) / p_up
    return (1 - r ** start) / (1 - r ** n)


def ruin(n: int, p_up: float = 0.3):
    """(kernel, targets, start, options) of gambler's ruin from 1 to n before 0, scored by x itself."""
    return (sim.dynamics.lattice_walk(p_up), [sim.Target("top", lambda x: n - x[0])], jnp.array([1.0]),
            dict(score=lambda x: x[0], failure=lambda x: x[0] <= 0))


# A star: centre 0, branch A = 1..A_END and branch B = -1..-B_END (x signed), plus failure and escape
# states (flag 1 and 2). From the centre: to +1 or -1 with IN each, failure with FAIL, escape with the
# rest; on a branch: one step out with OUT, back toward the centre otherwise.
A_END, B_END, IN, FAIL, OUT = 14, 20, 0.1, 0.5, 0.3


def star(a_end: int = A_END, b_end: int = B_END) -> Kernel:
    def step(key, state):
        x, flag = state.position
        u = jax.random.uniform(key)
        centre_x = jnp.where(u < IN, 1.0, jnp.where(u < 2 * IN, -1.0, 0.0))
        centre_flag = jnp.where(u < 2 * IN, 0.0, jnp.where(u < 2 * IN + FAIL, 1.0, 2.0))
        branch_x = x + jnp.sign(x) * jnp.where(u < OUT, 1.0, -1.0)
        return WalkState(jnp.where(x == 0, jnp.stack([centre_x, centre_flag]), jnp.stack([branch_x, flag])))
    return Kernel(WalkState, step, "star", {"a_end": a_end, "b_end": b_end}, None)


def star_case(a_end: int = A_END, b_end: int = B_END):
    """(kernel, targets, start, options): targets A (x = a_end) and B (x = -b_end), failure flag 1, the
    domain excludes flag 2; one score |x| for both."""
    targets = [sim.Target("A", lambda p: a_end - p[0]), sim.Target("B", lambda p: p[0] + b_end)]
    return (star(a_end, b_end), targets, jnp.array([0.0, 0.0]),
            dict(score=lambda p: jnp.abs(p[0]), failure=lambda p: p[1] == 1, domain=lambda p: p[1] != 2))


def star_exact(a_end: int = A_END, b_end: int = B_END) -> dict:
    """Absorption probabilities from the centre (A, B, failure, escaped), by one linear solve."""
    states = list(range(-b_end + 1, a_end))          # the transient states
    index = {x: i for i, x in enumerate(states)}
    m = len(states)
    P = np.zeros((m, m))
    exits = np.zeros((m, 4))                          # columns: A, B, failure, escaped
    for x in states:
        i = index[x]
        if x == 0:
            P[i, index[1]] += IN
            P[i, index[-1]] += IN
            exits[i, 2:] = FAIL, 1 - 2 * IN - FAIL
            continue
        s = int(math.copysign(1, x))
        for y, prob in ((x + s, OUT), (x - s, 1 - OUT)):
            if y == a_end:
                exits[i, 0] += prob
            elif y == -b_end:
                exits[i, 1] += prob
            else:
                P[i, index[y]] += prob
    h = np.linalg.solve(np.eye(m) - P, exits)[index[0]]
    return dict(zip(("A", "B", "failure", "escaped"), h))
