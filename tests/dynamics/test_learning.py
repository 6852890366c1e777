"""SGD (optax) and SGLD kernels.

Statistical tolerances are Z = 4 standard errors (false alarm ~6e-5 per check).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import simulator as sim

Z = 4.0
NEVER = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype), eps=0.0)]


def quadratic_data(n=64, d=1, seed=0):
    """Centred offsets: loss(x, b) = h |x|^2 / 2 + mean_b <d_i, x> has full-data loss h |x|^2 / 2."""
    d_i = np.random.default_rng(seed).normal(size=(n, d))
    return d_i - d_i.mean(axis=0)


def quadratic_loss(h):
    return lambda x, batch: 0.5 * h * jnp.sum(x * x) + jnp.mean(batch @ x)


def final_positions(kernel, start, n_chains, steps, seed=0):
    result = sim.race(kernel, NEVER, start, n_chains=n_chains, max_steps=steps, seed=seed, progress=False)
    assert result.counts["censored"] == n_chains, result.counts
    return result.position


def test_full_batch_sgld_is_langevin():
    """Same seed, same path: full-batch SGLD draws its noise exactly as langevin does."""
    data = quadratic_data(d=2)
    loss = lambda x, batch: jnp.sum((x * x - 1.0) ** 2) + jnp.mean(batch @ x)  # noqa: E731
    potential = lambda x: loss(x, jnp.asarray(data, jnp.float32))  # noqa: E731
    start = jnp.array([0.3, -0.2])
    a = final_positions(sim.dynamics.sgld(loss, data, 0.01, temperature=0.5), start, 64, 200, seed=3)
    b = final_positions(sim.dynamics.langevin(potential, 0.01, temperature=0.5), start, 64, 200, seed=3)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    assert np.std(a) > 0.1   # the paths really moved


def test_sgld_stationary_variance_on_a_quadratic():
    """Full batch on L = h x^2 / 2: x' = (1 - s h) x + sqrt(2 s T) xi has stationary variance
    T / (h (1 - s h / 2)) exactly. The sample variance of n chains has SE var * sqrt(2 / (n - 1));
    (1 - s h)^(2 * 400) ~ 1e-37, so the start at 0 is forgotten. The check can fail: the
    continuous-time value T / h differs by 10 %, i.e. 10 SE."""
    h, s, T, n = 2.0, 0.1, 0.7, 20_000
    kernel = sim.dynamics.sgld(quadratic_loss(h), quadratic_data(), s, temperature=T)
    x = final_positions(kernel, jnp.zeros(1), n, 400)[:, 0]
    exact = T / (h * (1 - s * h / 2))
    se = exact * math.sqrt(2 / (n - 1))
    assert abs(np.var(x) - exact) < Z * se
    assert abs(T / h - exact) > 2 * Z * se


def test_minibatch_sgld_adds_the_minibatch_temperature():
    """With minibatches the quadratic's update is x' = (1 - s h) x - s mean_B d + sqrt(2 s T) xi, so the
    stationary variance is (2 s T + s^2 Var(d) / B) / (1 - (1 - s h)^2): exact, with Var(d) the data's
    (population) variance, because the minibatch is drawn with replacement."""
    h, s, T, n, B = 2.0, 0.1, 0.2, 20_000, 4
    data = quadratic_data(n=256, seed=1)
    kernel = sim.dynamics.sgld(quadratic_loss(h), data, s, temperature=T, batch_size=B)
    x = final_positions(kernel, jnp.zeros(1), n, 400)[:, 0]
    exact = (2 * s * T + s**2 * np.var(data) / B) / (1 - (1 - s * h) ** 2)
    se = exact * math.sqrt(2 / (n - 1))
    assert abs(np.var(x) - exact) < Z * se
    # effective_temperature gives the same extra variance: T_eff = s Var(d) / (2 B).
    t_eff = sim.dynamics.effective_temperature(quadratic_loss(h), data, jnp.zeros(1), s, B)
    assert t_eff == pytest.approx(s * np.var(data) / (2 * B), rel=1e-4)


def test_optax_sgd_full_batch_is_gradient_descent_and_stays_in_its_basin():
    """optax.sgd(lr) on the full batch: x' = x - lr grad L(x), deterministic, for every chain.
    On the double well L = (x^2 - 1)^2 each start converges to the minimum of its own basin."""
    loss = lambda x, batch: jnp.sum((x * x - 1.0) ** 2) + 0.0 * jnp.sum(batch)  # noqa: E731
    data = np.zeros((4, 1))
    starts = jnp.array([[-1.7], [-0.4], [0.1], [0.6], [1.9]])
    x = final_positions(sim.dynamics.sgd(loss, data, optax.sgd(0.02), None), starts, 5, 500)
    np.testing.assert_allclose(x[:, 0], np.sign(starts[:, 0]), atol=1e-4)
    # and one step is exactly a gradient step
    one = final_positions(sim.dynamics.sgd(loss, data, optax.sgd(0.02), None), starts, 5, 1)
    expected = starts - 0.02 * jax.vmap(jax.grad(lambda x: jnp.sum((x * x - 1.0) ** 2)))(starts)
    np.testing.assert_allclose(one, expected, rtol=1e-6)


def test_adam_state_lives_in_the_chain_and_is_saved(tmp_path):
    loss = quadratic_loss(1.0)
    kernel = sim.dynamics.sgd(loss, quadratic_data(), optax.adam(0.05), batch_size=8)
    result = sim.race(kernel, NEVER, jnp.ones(1), n_chains=16, max_steps=30, seed=0, progress=False)
    assert set(result.state) == {"position", "opt_state.0.count", "opt_state.0.mu", "opt_state.0.nu"}
    np.testing.assert_array_equal(result.state["opt_state.0.count"], 30)
    again = sim.load_result(result.save(tmp_path))
    np.testing.assert_array_equal(again.state["opt_state.0.mu"], result.state["opt_state.0.mu"])


def test_noisy_sgd_gets_independent_noise_per_chain():
    """optax.noisy_sgd(lr, eta=2T/lr, gamma=0) is Langevin at T: x' = x - lr (h x + sqrt(eta) xi).
    Its own key is the same in every chain; stabsim reseeds it, so chains must differ, and the
    stationary variance is T / (h (1 - lr h / 2)) as for Langevin (4 SE, SE = var sqrt(2/(n-1)))."""
    h, lr, T, n = 2.0, 0.1, 0.5, 20_000
    loss = lambda x, batch: 0.5 * h * jnp.sum(x * x) + 0.0 * jnp.sum(batch)  # noqa: E731
    opt = optax.noisy_sgd(lr, eta=2 * T / lr, gamma=0.0, key=0)
    x = final_positions(sim.dynamics.sgd(loss, np.zeros((2, 1)), opt, None), jnp.zeros(1), n, 300)[:, 0]
    exact = T / (h * (1 - lr * h / 2))
    assert abs(np.var(x) - exact) < Z * exact * math.sqrt(2 / (n - 1))


def test_pytree_parameters_are_flattened_at_the_edge():
    params_like = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    loss = lambda p, batch: jnp.mean((batch[:, :2] @ p["w"] + p["b"] - batch[:, 2]) ** 2)  # noqa: E731
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    data = np.column_stack([X, X @ np.array([1.0, -2.0]) + 0.5])
    kernel = sim.dynamics.sgd(loss, data, optax.sgd(0.1), None, params_like=params_like)
    x = final_positions(kernel, jnp.zeros(3), 2, 2000)
    flat, _ = jax.flatten_util.ravel_pytree({"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)})
    np.testing.assert_allclose(x[0], flat, atol=1e-3)


@pytest.mark.parametrize("kwargs, error, word", [
    ({"data": np.zeros((0, 2))}, ValueError, "data"),
    ({"data": {"a": np.zeros((3, 2)), "b": np.zeros((4,))}}, ValueError, "data"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"step_size": -1.0}, ValueError, "step_size"),
    ({"temperature": 0.0}, ValueError, "temperature"),
    ({"localization": 1.0}, ValueError, "center"),
    ({"loss": 3}, TypeError, "loss"),
])
def test_sgld_refuses_bad_input(kwargs, error, word):
    args = {"loss": quadratic_loss(1.0), "data": quadratic_data(), "step_size": 0.1, **kwargs}
    with pytest.raises(error, match=word):
        sim.dynamics.sgld(**args)


def test_sgd_refuses_a_non_optimizer():
    with pytest.raises(TypeError, match="optimizer"):
        sim.dynamics.sgd(quadratic_loss(1.0), quadratic_data(), 0.1, 4)
