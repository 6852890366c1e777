"""Laplace/Gibbs mass, Eyring-Kramers, exact 1-D first-passage references, and NUTS occupation.

Tolerances are Z = 4 standard errors; SE is (CI half-width) / 1.96 for each interval.
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim
from simulator.theory import exact
from simulator.theory.kramers import kramers_time
from simulator.theory.laplace import laplace_mass
from simulator.theory.nuts import nuts_occupation

Z = 4.0
C = 0.5   # tilt of the double well V(x) = (x^2 - 1)^2 exp(C x): equal depths, V''(+-1) = 8 e^(+-C)
SADDLE = (-4 + math.sqrt(16 + 4 * C * C)) / (2 * C)


def well(x):
    return (x**2 - 1) ** 2 * jnp.exp(C * x)


def well_np(x):
    return (x**2 - 1) ** 2 * np.exp(C * x)


def se(estimate):
    return (estimate.high - estimate.low) / (2 * 1.96)


def test_laplace_mass_of_a_gaussian_is_exact():
    """V = x^T A x / 2 has mass (2 pi T)^(D/2) det(A)^(-1/2) exactly."""
    a = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    m = laplace_mass(lambda x: 0.5 * x @ jnp.asarray(a, jnp.float32) @ x, 0.3, point=np.zeros(3))
    assert m.value == pytest.approx((2 * math.pi * 0.3) ** 1.5 / math.sqrt(np.linalg.det(a)), rel=1e-4)


def test_laplace_mass_refuses_a_saddle():
    with pytest.raises(ValueError, match="not a minimum"):
        laplace_mass(lambda x: x[0] ** 2 - x[1] ** 2, 1.0, point=np.zeros(2))


def test_mean_first_passage_closed_forms():
    """Two closed forms of E_x tau_b = (1/T) int_x^b e^(V/T) int_lower^y e^(-V/T), reflecting at lower = 0."""
    assert exact.mean_first_passage_1d(lambda x: 0 * x, 0.5, 1.0, 0.5, lower=0.0) == pytest.approx(0.75, rel=1e-8)
    # drift -1 (V = x), T = 1, reflecting at 0: E_0 tau_1 = int_0^1 e^y (1 - e^-y) dy = e - 2
    assert exact.mean_first_passage_1d(lambda x: x, 0.0, 1.0, 1.0, lower=0.0) == pytest.approx(math.e - 2, rel=1e-8)


def test_kramers_approaches_the_exact_mean_first_passage_time():
    """Eyring-Kramers is the T -> 0 limit of the exact time; its relative error is O(T). Measured
    (1 - K/E) / T stays between 0.2 and 0.5 for T = 0.2 ... 0.025 on this well; a wrong prefactor
    (say sqrt(V''(m) V''(s)) replaced by V''(m)) would give a constant, non-vanishing error."""
    errors = []
    for T in (0.2, 0.1, 0.05, 0.025):
        k = kramers_time(well, -1.0, SADDLE, T)
        e = exact.mean_first_passage_1d(well_np, -1.0, 1.0, T, lower=-3.0)
        errors.append(abs(1 - k / e) / T)
    assert all(0.1 < r < 0.6 for r in errors), errors


def test_double_well_committor_matches_the_scale_function():
    """Langevin (h = 0.002, bridge on) from x = 0 at T = 0.25: P(+1 before -1) against the exact scale-function
    committor. n = 20,000 gives SE = sqrt(p (1 - p) / n) = 0.0034; the tolerance adds the first-order overshoot
    shift |p(boundaries moved by 0.58 sigma) - p| (1e-4 here). The symmetric guess 1/2 is ~45 SE away."""
    T, h, x0, n = 0.25, 0.002, 0.0, 20_000
    p = exact.committor_1d(well_np, -1.0, 1.0, x0, T)
    shift = exact.SIEGMUND_BETA * math.sqrt(2 * h * T)
    bias = abs(exact.committor_1d(well_np, -1 - shift, 1 + shift, x0, T) - p)
    targets = [sim.Target("left", lambda x: x[0] + 1.0), sim.Target("right", lambda x: 1.0 - x[0])]
    result = sim.race(sim.dynamics.langevin(lambda x: well(x[0]), h, T), targets, jnp.array([x0]),
                      n_chains=n, max_steps=200_000, seed=1, bridge=True, progress=False)
    assert result.counts["censored"] == 0
    tolerance = Z * math.sqrt(p * (1 - p) / n) + bias
    assert abs(result.probability("right").value - p) < tolerance
    assert abs(0.5 - p) > 5 * tolerance


def ring_potential(x):
    """V = kappa(theta) (r - 1)^2 / 2 with kappa = 1 + 0.5 cos(theta): a circle of minima."""
    r, theta = jnp.linalg.norm(x), jnp.arctan2(x[1], x[0])
    return 0.5 * (1 + 0.5 * jnp.cos(theta)) * (r - 1) ** 2


def test_laplace_agrees_with_nuts_on_a_circle_of_minima():
    """Occupation of {V <= eps, x > 0} under exp(-V/T): Laplace gives
    F_chi2(1)(2 eps / T) * int_right kappa^-1/2 / int_circle kappa^-1/2 (exact here up to e^(-1/T) terms,
    since the radial Jacobian r averages to 1 across the Gaussian tube). NUTS (8 chains x 2000 draws)
    must agree within Z * sqrt(SE_nuts^2 + SE_laplace^2). The curvature-blind value (0.5 F) is > 5 of those away."""
    T, eps = 0.02, 0.04
    chart = lambda u: jnp.array([jnp.cos(u[0]), jnp.sin(u[0])])  # noqa: E731
    right = laplace_mass(ring_potential, T, chart=chart, box=([-math.pi / 2], [math.pi / 2]),
                         n_samples=4000, sublevel=eps)
    total = laplace_mass(ring_potential, T, chart=chart, box=([-math.pi], [math.pi]), n_samples=4000, seed=1)
    predicted = sim.stats.ratio_of_estimates(right, total)
    targets = [sim.Target("right", lambda x: jnp.where(x[0] > 0, ring_potential(x), 1.0), eps=eps)]
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    occupation = nuts_occupation(ring_potential, targets, np.c_[np.cos(angles), np.sin(angles)],
                                 temperature=T, num_warmup=500, num_samples=2000, seed=0)
    assert occupation.rhat["theta"] < 1.01
    measured = occupation.fraction["right"]
    tolerance = Z * math.hypot(se(measured), se(predicted))
    assert abs(measured.value - predicted.value) < tolerance
    from scipy import stats
    assert abs(0.5 * stats.chi2.cdf(2 * eps / T, 1) - predicted.value) > 5 * tolerance / Z


@pytest.mark.parametrize("call", [
    lambda: laplace_mass(lambda x: x @ x, 0.0, point=np.zeros(2)),
    lambda: kramers_time(well, -1.0, SADDLE, -1.0),
    lambda: nuts_occupation(lambda x: x @ x, [sim.Target("a", lambda x: x[0])], np.zeros((2, 2)), temperature=0.0),
])
def test_bad_temperature_is_refused(call):
    with pytest.raises(ValueError, match="temperature"):
        call()
