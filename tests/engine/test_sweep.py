"""Sweeps: one compiled program for a grid of settings; each setting equals its own plain race."""
import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim


def tilted(x):
    return (x[0] ** 2 - 1) ** 2 + 0.5 * x[0]


TARGETS = [sim.Target("left", lambda x: x[0] + 1.0), sim.Target("right", lambda x: 1.0 - x[0])]
RUN = dict(n_chains=500, max_steps=50_000, seed=3, progress=False, batch_size=256)


def factory(temperature, step_size=0.01):
    return sim.dynamics.langevin(tilted, step_size, temperature)


def test_each_setting_equals_its_plain_race_and_the_sweep_compiles_once():
    temperatures = [0.2, 0.5, 1.0]
    swept = sim.race(factory, TARGETS, jnp.array([0.0]), sweep={"temperature": temperatures}, **RUN)
    assert isinstance(swept, sim.SweepResult) and len(swept) == 3
    plain_compiles = 0
    for setting, result in zip(swept.settings, swept):
        plain = sim.race(factory(setting["temperature"]), TARGETS, jnp.array([0.0]), **RUN)
        np.testing.assert_array_equal(result.outcome, plain.outcome)
        np.testing.assert_array_equal(result.stop_step, plain.stop_step)
        # traced vs compiled-in parameters round differently in float32 over thousands of steps
        np.testing.assert_allclose(result.position, plain.position, rtol=1e-5)
        assert result.config["kernel"]["temperature"] == setting["temperature"]
        assert result.config["sweep"] == setting and result.n_chains == RUN["n_chains"]
        plain_compiles += plain.work["compiles"]
    # one program per lane count for the whole sweep, against one set per temperature
    assert swept[0].work["compiled"]["run"] == len(set(swept[0].work["batch_sizes"]))
    assert swept[0].work["compiles"] < plain_compiles
    table = swept.table("left")
    assert [s["temperature"] for s, _ in table] == temperatures
    assert table[0][1].value > table[-1][1].value     # colder: the deeper (left) well more often


def test_a_grid_over_two_arguments_and_eps():
    swept = sim.race(factory, TARGETS, jnp.array([0.0]),
                     sweep={"temperature": [0.3, 0.6], "step_size": [0.005, 0.01], "eps": [0.0, 0.5]}, **RUN)
    assert len(swept) == 8 and swept.settings[0] == {"temperature": 0.3, "step_size": 0.005, "eps": 0.0}
    wide = swept[1]                                  # eps 0.5: both targets are nearer, chains stop sooner
    assert wide.config["targets"][0]["eps"] == 0.5
    assert wide.stop_step.mean() < swept[0].stop_step.mean()
    plain = sim.race(sim.dynamics.langevin(tilted, 0.005, 0.3),
                     [sim.Target(t.name, t.residual, eps=0.5) for t in TARGETS], jnp.array([0.0]), **RUN)
    np.testing.assert_array_equal(wide.outcome, plain.outcome)


def test_an_eps_sweep_of_a_built_kernel():
    swept = sim.race(sim.dynamics.random_walk(0.1), TARGETS, jnp.array([0.0]), sweep={"eps": [0.0, 0.9]}, **RUN)
    near = [sim.Target(t.name, t.residual, eps=0.9) for t in TARGETS]
    plain = sim.race(sim.dynamics.random_walk(0.1), near, jnp.array([0.0]), **RUN)
    np.testing.assert_array_equal(swept[1].stop_step, plain.stop_step)   # stops once |x| >= 0.1
    assert swept[1].stop_step.mean() * 10 < swept[0].stop_step.mean()


@pytest.mark.parametrize("kernel, sweep, error, word", [
    (factory, {}, TypeError, "sweep"),
    (factory, [0.1], TypeError, "sweep"),
    (factory, {"temperature": []}, ValueError, "temperature"),
    (factory, {"temperature": [0.1, float("nan")]}, ValueError, "temperature"),
    (factory, {"temperature": [0.1, -1.0]}, ValueError, "temperature"),
    (factory, {"eps": [-0.1]}, ValueError, "eps"),
    (factory, {"colour": [1.0]}, TypeError, "colour"),
    (sim.dynamics.random_walk(0.1), {"temperature": [0.1]}, TypeError, "factory"),
    ("langevin", {"temperature": [0.1]}, TypeError, "kernel"),
])
def test_bad_sweeps_are_refused_before_compiling(no_compile, kernel, sweep, error, word):
    with pytest.raises(error, match=word):
        sim.race(kernel, TARGETS, jnp.array([0.0]), sweep=sweep, **RUN)


def test_a_sweep_resumes_from_its_checkpoint(tmp_path):
    args = dict(sweep={"temperature": [0.3, 0.6]}, checkpoint=tmp_path / "ck", **RUN)
    first = sim.race(factory, TARGETS, jnp.array([0.0]), **args)
    again = sim.race(factory, TARGETS, jnp.array([0.0]), resume=True, **args)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.outcome, b.outcome)
    with pytest.raises(ValueError, match="different configuration"):
        sim.race(factory, TARGETS, jnp.array([0.0]), resume=True, **{**args, "sweep": {"temperature": [0.3, 0.7]}})


def test_a_sweep_of_words_names_the_setting(no_compile):
    with pytest.raises(ValueError, match="sweep\\['temperature'\\]"):
        sim.race(factory, TARGETS, jnp.array([0.0]), sweep={"temperature": ["warm", "cold"]}, **RUN)


@pytest.mark.parametrize("kind", ["sgld", "sgd"])
def test_a_sweep_over_learning_kernels_built_from_numpy_data(kind):
    """Regression (issue 38.1): the factory runs inside the compiled program, where jnp.asarray(data) is a
    tracer, and the data digest crashed on it (TracerArrayConversionError), so the README's own-study
    sweep failed. Each setting must equal its own plain race."""
    import optax
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(32, 2)), rng.normal(size=(32,)))

    def loss(w, batch):
        x, y = batch
        return jnp.mean((x @ w - y) ** 2)

    def factory(value):
        if kind == "sgld":
            return sim.dynamics.sgld(loss, data, 1e-2, value, batch_size=8)
        return sim.dynamics.sgd(loss, data, optax.sgd(value), 8)
    fit = [sim.Target("fit", lambda w: loss(w, data), eps=1.2)]
    values = [1e-3, 1e-2] if kind == "sgld" else [0.01, 0.05]
    run = dict(n_chains=32, max_steps=100, seed=1, progress=False)
    swept = sim.race(factory, fit, jnp.array([2.0, -2.0]), sweep={"value": values}, **run)
    for value, result in zip(values, swept):
        plain = sim.race(factory(value), fit, jnp.array([2.0, -2.0]), **run)
        np.testing.assert_array_equal(result.outcome, plain.outcome)
        np.testing.assert_array_equal(result.stop_step, plain.stop_step)
