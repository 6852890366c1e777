"""Races against exact hitting probabilities.

Tolerances. For n chains and a true probability p the estimate has standard
error SE = sqrt(p (1 - p) / n); we allow Z = 4 standard errors (a false
alarm with probability 6e-5 per comparison). A discrete chain also carries a
known bias. Checked only at its steps, a walk with step sd sigma overshoots
a boundary by SIEGMUND_BETA * sigma on average, which moves the hitting
probability by the "first-order bias" b1 = p_discrete - p_exact. The
Brownian bridge removes that term; what it leaves is of order sigma^2
(curvature). We allow a quarter of b1 for everything beyond first order, so
each test says: the first-order theory holds without the bridge, and the
bridge removes at least three quarters of the bias. Sizes are chosen so that
Z * SE < b1 / 2: then an estimate that kept the whole bias b1 lies outside
the bridge tolerance Z * SE + b1 / 4, so the test can fail.
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as st

import simulator as sim
from simulator.theory import exact

Z = 4.0


def standard_error(p, n):
    return math.sqrt(p * (1 - p) / n)


def annulus_targets(a, R):
    return [sim.Target("inner", lambda x: jnp.linalg.norm(x) - a),
            sim.Target("outer", lambda x: R - jnp.linalg.norm(x))]


@pytest.mark.parametrize("d", [2, 3])
def test_brownian_annulus(d):
    a, r, R, sigma, n = 1.0, 2.0, 4.0, 0.1, 100_000
    p_exact = exact.annulus_inner_probability(d, r, a, R)
    p_discrete = exact.annulus_discrete_probability(d, r, a, R, sigma)
    b1 = abs(p_discrete - p_exact)
    se = standard_error(p_exact, n)
    assert Z * se < b1 / 2, "test too small to resolve the bias it checks"
    start = jnp.zeros(d).at[0].set(r)
    estimates = {}
    for bridge in (False, True):
        result = sim.race(sim.dynamics.random_walk(sigma), annulus_targets(a, R), start,
                          n_chains=n, max_steps=200_000, seed=7, bridge=bridge, progress=False)
        counts = result.counts
        assert counts["tie"] == counts["diverged"] == counts["censored"] == 0, counts
        estimates[bridge] = result.probability("inner").value
    # Without the bridge: the first-order (Siegmund) prediction, and clearly not the exact value.
    assert abs(estimates[False] - p_discrete) <= Z * se + b1 / 4, (estimates, p_discrete)
    assert abs(estimates[False] - p_exact) > Z * se, (estimates, p_exact)
    # With the bridge: the exact value.
    assert abs(estimates[True] - p_exact) <= Z * se + b1 / 4, (estimates, p_exact)


def double_well(x):
    """Asymmetric double well: minima near -1 and +1, the right one lower."""
    return (x**2 - 1.0) ** 2 - 0.25 * x


def test_langevin_committor_1d():
    a, b, x0, T, h, n = -1.0, 1.0, -0.1, 0.5, 1e-3, 40_000
    potential = lambda x: double_well(jnp.sum(x))  # noqa: E731  position is a 1-vector
    p_exact = exact.committor_1d(double_well, a, b, x0, T)
    sigma = math.sqrt(2 * h * T)
    shift = exact.SIEGMUND_BETA * sigma
    b1 = abs(exact.committor_1d(double_well, a - shift, b + shift, x0, T) - p_exact)
    se = standard_error(p_exact, n)
    targets = [sim.Target("left", lambda x: x[0] - a), sim.Target("right", lambda x: b - x[0])]
    result = sim.race(sim.dynamics.langevin(potential, step_size=h, temperature=T), targets,
                      jnp.array([x0]), n_chains=n, max_steps=1_000_000, seed=3, bridge=True,
                      progress=False)
    assert result.counts["censored"] == 0
    p_hat = result.probability("right").value
    assert abs(p_hat - p_exact) <= Z * se + b1 / 4, (p_hat, p_exact, se, b1)


def test_committor_reference_is_linear_without_potential():
    """The quadrature reference itself: V = 0 gives the linear scale function."""
    assert exact.committor_1d(lambda x: 0.0, -1.0, 3.0, 0.0) == pytest.approx(0.25, abs=1e-12)
    assert exact.annulus_inner_probability(1, 2.0, 1.0, 4.0) == pytest.approx(2 / 3)


def test_mala_mixture_occupation():
    """MALA leaves exp(-V) invariant: after mixing, P(x < 0) is the exact mixture mass.

    The chains start in the light mode, so only a correct acceptance ratio
    moves 70 % of them to the heavy one. Tolerance: Z * SE of a proportion.
    """
    w, mu, n = 0.3, 1.5, 20_000
    mass_left = w * st.norm.cdf(mu) + (1 - w) * st.norm.cdf(-mu)

    def potential(x):
        x = jnp.sum(x)
        return -jnp.logaddexp(jnp.log(w) - 0.5 * (x + mu) ** 2, jnp.log(1 - w) - 0.5 * (x - mu) ** 2)

    never = [sim.Target("never", lambda x: 1.0 + 0.0 * jnp.sum(x))]
    start = -mu + 0.1 * np.random.default_rng(0).standard_normal((n, 1))
    result = sim.race(sim.dynamics.mala(potential, step_size=0.5), never, start,
                      n_chains=n, max_steps=2_000, seed=11, progress=False)
    assert result.counts["censored"] == n
    left = float(np.mean(result.position[:, 0] < 0))
    assert abs(left - mass_left) <= Z * standard_error(mass_left, n), (left, mass_left)
    acceptance = result.acceptance()
    assert 0.3 < acceptance.low <= acceptance.high < 1.0, acceptance
