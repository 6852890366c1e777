"""sim.compare: a race's odds beside a volume curve's ratio, with z (issue 37).

Exact case: a kernel whose every step is an independent N(0, I) draw. Two disjoint discs A (around the
origin) and B (around (1.5, 0)), radius eps: the first disc entered is A with probability mu(A) / (mu(A) +
mu(B)), so the odds P(A first) / P(B first) equal the volume ratio V_A(eps) / V_B(eps) under N(0, I)
exactly. The two estimates are independent, so z is about N(0, 1): |z| < 3.5 fails with probability
5e-4 when the code is right.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import pytest
from scipy import stats as st

import simulator as sim
from simulator.dynamics.base import Kernel


class Draw(NamedTuple):
    position: jax.Array


def independent_draws() -> Kernel:
    return Kernel(Draw, lambda key, state: Draw(jax.random.normal(key, state.position.shape)), "independent",
                  {}, None)


def disc_a(x):
    return jnp.linalg.norm(x)


def disc_b(x):
    return jnp.linalg.norm(x - jnp.array([1.5, 0.0], x.dtype))


EPS = 0.2


@pytest.fixture(scope="module")
def race_and_curve():
    result = sim.race(independent_draws(), [sim.Target("A", disc_a, EPS), sim.Target("B", disc_b, EPS)],
                      jnp.array([5.0, 5.0]), n_chains=20_000, max_steps=10_000, seed=0, progress=False)
    curve = sim.volume_curve([sim.Target("A", disc_a), sim.Target("B", disc_b)], sim.space.gaussian(2),
                             eps=[1.0, 0.5, EPS], n_live=200, n_runs=10, seed=0, progress=False)
    return result, curve


def test_odds_of_independent_draws_match_the_volume_ratio(race_and_curve):
    result, curve = race_and_curve
    comparison = sim.compare(result, curve, "A", "B", eps=EPS)
    # mu(A) / mu(B): chi2_2 and noncentral chi2_2 (noncentrality 1.5^2) at eps^2; 3.06
    exact = st.chi2.cdf(EPS ** 2, 2) / st.ncx2.cdf(EPS ** 2, 2, 1.5 ** 2)
    point = sim.Estimate(exact, exact, exact)
    for estimate in (comparison.odds, comparison.volume_ratio):    # each against the exact value
        assert abs(sim.stats.log_z(estimate, point)) < 3.5, (estimate, exact)
    assert abs(comparison.z) < 3.5, comparison
    assert comparison.summary().startswith("A / B at eps 0.2: odds")
    ax = comparison.plot()
    assert len(ax.lines) >= 2 and ax.get_xscale() == "log"


def test_a_wrong_prediction_gives_a_large_z(race_and_curve):
    result, curve = race_and_curve
    wrong = sim.compare(result, curve, "B", "A", eps=EPS)._replace(odds=result.ratio("A", "B"))
    assert abs(sim.stats.log_z(wrong.odds, wrong.volume_ratio)) > 10      # odds ~3 against a ratio ~1/3


def test_compare_refuses_other_eps_and_other_kinds(race_and_curve):
    result, curve = race_and_curve
    with pytest.raises(ValueError, match="eps 0.2, not 0.5"):
        sim.compare(result, curve, "A", "B", eps=0.5)
    with pytest.raises(TypeError, match="curve"):
        sim.compare(result, result, "A", "B", eps=EPS)
    with pytest.raises(TypeError, match="result"):
        sim.compare(curve, curve, "A", "B", eps=EPS)
    with pytest.raises(ValueError, match="eps"):
        sim.compare(result, curve, "A", "B", eps=0.3)   # 0.3 is not on the curve's grid (or the race's eps)
