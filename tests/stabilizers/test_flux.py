"""The first-step flux (jump regime, i.i.d. limit) and exclusive tube volumes against exact references."""
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

import simulator as sim
from simulator import groups
from simulator.stats import standard_error as se
from simulator.groups.sampling import lebesgue_ball_volume
from simulator.stabilizers import laws, volumes

G = groups.GL(2)
B = groups.frobenius_ball(G, 0.5)                      # centre I: entry coordinates see a 4-ball of radius 0.5


def point_target(name, a, eps, shrink=1.0):
    """The tube {||g - a||_F <= eps / shrink}: a 4-ball around a."""
    a = jnp.asarray(a, jnp.float32)
    return sim.Target(name, lambda g: shrink * jnp.linalg.norm(g - a), eps, distance=False)


def test_exclusive_volumes_of_nested_balls_are_the_shell_and_zero():
    """Tube b (radius 2 eps) holds tube a (radius eps), both around the same point inside B: b's exclusive
    volume is the shell, 15 vol_4(eps), a's is exactly 0. Tolerance 4 standard errors of the estimate."""
    eps, a = 0.1, np.eye(2)
    out = volumes.tube_volumes(B, [point_target("a", a, eps), point_target("b", a, eps, shrink=0.5)], [eps],
                               200_000, seed=2, measure="lebesgue")
    shell = 15 * lebesgue_ball_volume(4, eps)
    got = out["exclusive_volume"]["b"][0]
    assert abs(got.value - shell) <= 4 * se(got), (got, shell)
    assert out["exclusive_volume"]["a"][0].value == 0.0
    assert out["volume"]["a"][0].value > 0


@pytest.mark.parametrize("name", ["a", "b"])
def test_first_step_flux_of_a_small_ball_matches_the_noncentral_chi_square(name):
    """Entry walk g + s Z confined to B = {||g - I||_F <= r}, tubes two eps-balls 0.28 apart. For y in a
    tube a step stays in B with probability ncx2.cdf(r^2/s^2; 4, ||y - I||^2/s^2), so

        Phi = vol_4(eps) E_y[ncx2.cdf(...)]  (y uniform in the tube),

    less the chance of landing in a tube again: at most P(||s Z|| <= 2 eps) = chi2.cdf((2 eps/s)^2; 4)
    (own tube, 1.0e-3) plus the other tube's (< 1e-4, 0.28 / s = 1.4 step scales away). The expectation
    is a smooth integrand averaged over 40,000 exact uniform draws (its own standard error is added).
    Tolerance: 4 standard errors of the flux estimate plus that bias bound."""
    eps, s, r = 0.03, 0.2, 0.5
    centres = {"a": np.diag([1.2, 1.0]), "b": np.diag([1.0, 0.8])}
    targets = [point_target(n, c, eps) for n, c in centres.items()]
    near = {n: groups.frobenius_ball(G, 2 * eps, center=c) for n, c in centres.items()}  # ||c^-1|| <= 1.25
    flux = laws.first_step_flux(B, targets, eps, "entry", s, 200_000, near=near, seed=5)[name]

    rng = np.random.default_rng(0)
    u = rng.standard_normal((40_000, 4))
    y = centres[name].ravel() + eps * u / np.linalg.norm(u, axis=1, keepdims=True) \
        * rng.uniform(size=(40_000, 1)) ** 0.25
    stay = sps.ncx2.cdf(r**2 / s**2, 4, np.sum((y - np.eye(2).ravel()) ** 2, axis=1) / s**2)
    volume = lebesgue_ball_volume(4, eps)
    exact, exact_se = volume * stay.mean(), volume * stay.std() / math.sqrt(len(stay))
    bias = (sps.chi2.cdf((2 * eps / s) ** 2, 4) + 1e-4) * exact
    assert abs(flux.value - exact) <= 4 * math.hypot(se(flux), exact_se) + bias, (flux, exact)


def test_first_step_flux_refuses_unknown_names_and_kinds():
    targets = [point_target("a", np.eye(2), 0.05)]
    with pytest.raises(ValueError, match="near"):
        laws.first_step_flux(B, targets, 0.05, "entry", 0.2, 100, near={"z": B})
    with pytest.raises(ValueError, match="kind"):
        laws.first_step_flux(B, targets, 0.05, "walk", 0.2, 100)
    for bad in (0.0, -0.1, math.inf, "0.2"):
        with pytest.raises(ValueError, match="scale"):
            laws.first_step_flux(B, targets, 0.05, "entry", bad, 100)
