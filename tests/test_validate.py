"""Bad input is refused with a ValueError/TypeError naming the argument, before compiling."""
import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim


def ring(name="ring"):
    return sim.Target(name, lambda x: jnp.linalg.norm(x) - 1.0)


def far():
    return sim.Target("far", lambda x: 5.0 - jnp.linalg.norm(x))


def run(**overrides):
    args = dict(kernel=sim.dynamics.random_walk(0.1), targets=[ring(), far()],
                start=jnp.array([2.0, 0.0, 0.0]), n_chains=10, max_steps=10, progress=False)
    args.update(overrides)
    return sim.race(args.pop("kernel"), args.pop("targets"), args.pop("start"), **args)


@pytest.mark.parametrize("overrides, error, name", [
    (dict(n_chains=0), ValueError, "n_chains"),
    (dict(n_chains=-3), ValueError, "n_chains"),
    (dict(n_chains=2.5), TypeError, "n_chains"),
    (dict(max_steps=0), ValueError, "max_steps"),
    (dict(max_steps=2**40), ValueError, "max_steps"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="0"), TypeError, "seed"),
    (dict(block_size=0), ValueError, "block_size"),
    (dict(precision="float16"), ValueError, "precision"),
    (dict(compaction="sometimes"), ValueError, "compaction"),
    (dict(start=jnp.array([jnp.nan, 0.0, 0.0])), ValueError, "start"),
    (dict(start=jnp.array([jnp.inf, 0.0, 0.0])), ValueError, "start"),
    (dict(start="abc"), TypeError, "start"),
    (dict(targets=[ring("same"), sim.Target("same", lambda x: x[0])]), ValueError, "duplicate"),
    (dict(targets=[]), ValueError, "targets"),
    (dict(targets=["ring"]), TypeError, "targets"),
    (dict(kernel=lambda key, x: x), TypeError, "kernel"),
    (dict(targets=[sim.Target("vec", lambda x: x - 1.0)]), ValueError, "residual"),
    (dict(start=jnp.zeros(2), targets=[sim.Target("A", lambda x: jnp.dot(jnp.ones(3), x))]),
     ValueError, "start"),
    (dict(start_batched=True), ValueError, "start_batched"),
    (dict(kernel=sim.dynamics.mala(lambda x: jnp.sum(x**2), 0.1), bridge=True), ValueError, "bridge"),
    (dict(targets=[sim.Target("t", lambda x: x[0], distance=False)], bridge=True), ValueError, "bridge"),
    (dict(kernel=sim.dynamics.langevin(lambda x: x**2, 0.1)), ValueError, "start"),
])
def test_race_refuses(no_compile, overrides, error, name):
    with pytest.raises(error, match=name):
        run(**overrides)


@pytest.mark.parametrize("make, error, name", [
    (lambda: sim.Target("t", lambda x: x, eps=-0.1), ValueError, "eps"),
    (lambda: sim.Target("t", lambda x: x, eps=float("nan")), ValueError, "eps"),
    (lambda: sim.Target("t", lambda x: x, eps="small"), TypeError, "eps"),
    (lambda: sim.Target("", lambda x: x), TypeError, "name"),
    (lambda: sim.Target("censored", lambda x: x), ValueError, "reserved"),
    (lambda: sim.Target("t", 3.0), TypeError, "residual"),
    (lambda: sim.dynamics.random_walk(0.0), ValueError, "scale"),
    (lambda: sim.dynamics.langevin(lambda x: x, step_size=0.0), ValueError, "step_size"),
    (lambda: sim.dynamics.langevin(lambda x: x, step_size=-1.0), ValueError, "step_size"),
    (lambda: sim.dynamics.mala(lambda x: x, step_size=0.0), ValueError, "step_size"),
    (lambda: sim.dynamics.mala(lambda x: x, step_size=0.1, temperature=0), ValueError, "temperature"),
    (lambda: sim.dynamics.langevin("V", step_size=0.1), TypeError, "potential"),
])
def test_constructors_refuse(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_ambiguous_start_rule():
    """A leading axis of length n_chains is the chain axis unless start_batched=False."""
    targets = [sim.Target("t", lambda x: jnp.linalg.norm(x) - 0.1)]
    kernel = sim.dynamics.random_walk(0.1)
    matrix = np.eye(3) * 2.0
    as_batch = sim.race(kernel, targets, matrix, n_chains=3, max_steps=2, progress=False)
    assert as_batch.position.shape == (3, 3)
    shared = sim.race(kernel, targets, matrix, n_chains=3, max_steps=2, start_batched=False,
                      progress=False)
    assert shared.position.shape == (3, 3, 3)


def test_result_refuses_unknown_outcome_name():
    result = run()
    with pytest.raises(ValueError, match="name"):
        result.probability("nope")
    with pytest.raises(ValueError, match="name"):
        result.ratio("ring", "nope")
