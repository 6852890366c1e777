"""sim.learning_coefficient (localized SGLD, devinterp's estimator) against the exact value for a regular model.

For a quadratic loss L_n(w) = L_n(w*) + (w - w*)^T H (w - w*) / 2 the SGLD of the estimator is an
Ornstein-Uhlenbeck recursion with precision P = n beta H + gamma I; in the eigenbasis of H its
stationary variance is exactly 1 / (p (1 - eps p / 4)) (the Euler step's own bias included), so
E[lambda_hat] = n beta / 2 * sum_i h_i / (p_i (1 - eps p_i / 4)), which tends to d/2 as gamma, eps -> 0.
Tolerance: 4 standard errors of the mean over independent chains.
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim
from simulator.stats import standard_error


def test_regular_model_matches_its_exact_expectation():
    rng = np.random.default_rng(0)
    n, d = 1000, 4
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.normal(size=n)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]              # the minimiser of L_n

    def loss(w, batch):
        x, target = batch
        return 0.5 * jnp.mean((x @ w - target) ** 2)

    eps, gamma = 1e-4, 10.0
    lc = sim.learning_coefficient(loss, (X, y), w_star, n_chains=16, n_steps=3000, step_size=eps,
                                  localization=gamma, seed=0, precision="float64")
    nb = n * lc.beta
    h = np.linalg.eigvalsh(X.T @ X / n)
    p = nb * h + gamma
    exact = nb / 2 * np.sum(h / (p * (1 - eps * p / 4)))
    assert lc.beta == pytest.approx(1 / math.log(n))
    assert abs(lc.estimate.value - exact) <= 4 * standard_error(lc.estimate), (lc.estimate, exact)
    assert 1.5 < exact < d / 2                                  # the localization's pull, below d/2 = 2


@pytest.mark.parametrize("change, error, words", [
    (dict(n_chains=1), ValueError, "n_chains"),
    (dict(step_size=-1.0), ValueError, "step_size"),
    (dict(burn_in=1.0), ValueError, "burn_in"),
    (dict(beta=0.0), ValueError, "beta"),
])
def test_bad_input(change, error, words):
    data = (np.ones((10, 2)), np.ones(10))
    with pytest.raises(error, match=words):
        sim.learning_coefficient(lambda w, b: jnp.mean((b[0] @ w - b[1]) ** 2), data, np.zeros(2), **change)


def test_sum_of_powers_matches_its_exact_localized_expectation():
    # L(w) = w1^2 + w2^4 + w3^6 factorises, so under exp(-n beta L - gamma |w|^2 / 2) the expectation
    # n beta E[L] is a sum of three 1-D quadratures; as gamma -> 0 it is 1/2 + 1/4 + 1/6 = 11/12, the
    # learning coefficient. The Euler step adds at most eps p / 4 ~ 0.5 % (p = 2 n beta + gamma on w1),
    # far below the 4 SE tolerance (SE ~ 0.07 over 16 chains).
    from scipy import integrate
    n, eps, gamma = 10_000, 1e-5, 1.0
    lc = sim.learning_coefficient(lambda w, b: w[0] ** 2 + w[1] ** 4 + w[2] ** 6 + 0.0 * jnp.mean(b),
                                  np.zeros((n, 1)), np.zeros(3), n_chains=16, n_steps=20_000, step_size=eps,
                                  localization=gamma, seed=1, precision="float64")
    nb = n * lc.beta

    def coordinate(p):
        weight = lambda x: math.exp(-nb * x ** p - gamma * x * x / 2)   # noqa: E731
        top = integrate.quad(lambda x: nb * x ** p * weight(x), -2, 2, points=[0.0], limit=200)[0]
        return top / integrate.quad(weight, -2, 2, points=[0.0], limit=200)[0]
    exact = sum(coordinate(p) for p in (2, 4, 6))
    assert abs(exact - 11 / 12) < 0.03                     # the localization's small pull at this n
    assert abs(lc.estimate.value - exact) <= 4 * standard_error(lc.estimate), (lc.estimate, exact)
