"""Every public entry point, fed bad types, non-finite values, out-of-range values and wrong shapes.

Each case must raise a ValueError or TypeError whose message names the argument; for ``race`` the
``no_compile`` fixture also proves the refusal comes before anything is compiled. Hypothesis draws
the invalid values of race's integer arguments from the whole space of wrong types and ranges.
"""
import math

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import simulator as sim

RING = sim.Target("ring", lambda x: jnp.linalg.norm(x) - 1.0)
FAR = sim.Target("far", lambda x: 5.0 - jnp.linalg.norm(x))
GL2 = sim.groups.GL(2)
BALL = sim.groups.frobenius_ball(GL2, 0.5)
NAN, INF = float("nan"), float("inf")


def race(**overrides):
    args = dict(kernel=sim.dynamics.random_walk(0.1), targets=[RING, FAR], start=jnp.array([2.0, 0.0, 0.0]),
                n_chains=10, max_steps=10, progress=False)
    args.update(overrides)
    return sim.race(args.pop("kernel"), args.pop("targets"), args.pop("start"), **args)


RACE_CASES = [
    # types
    (dict(n_chains=2.5), TypeError, "n_chains"), (dict(n_chains="10"), TypeError, "n_chains"),
    (dict(n_chains=True), TypeError, "n_chains"), (dict(max_steps=None), TypeError, "max_steps"),
    (dict(seed="0"), TypeError, "seed"), (dict(seed=1.0), TypeError, "seed"),
    (dict(block_size=2.0), TypeError, "block_size"), (dict(batch_size="all"), TypeError, "batch_size"),
    (dict(bridge="yes"), TypeError, "bridge"), (dict(domain=5), TypeError, "domain"),
    (dict(kernel=lambda key, x: x), TypeError, "kernel"), (dict(targets=["ring"]), TypeError, "targets"),
    (dict(targets=RING.residual), TypeError, "targets"), (dict(start="abc"), TypeError, "start"),
    (dict(checkpoint=5), TypeError, "checkpoint"), (dict(checkpoint_every="often"), TypeError, "checkpoint_every"),
    (dict(devices=["cpu"]), TypeError, "devices"), (dict(devices=[]), TypeError, "devices"),
    (dict(trace_every=1, observables={1: lambda x: x[0]}), TypeError, "observables"),
    (dict(trace_every=1, observables={"a": 3}), TypeError, "observables"),
    # non-finite
    (dict(start=jnp.array([NAN, 0.0, 0.0])), ValueError, "start"),
    (dict(start=jnp.array([INF, 0.0, 0.0])), ValueError, "start"),
    (dict(checkpoint_every=NAN), ValueError, "checkpoint_every"),
    # out of range
    (dict(n_chains=0), ValueError, "n_chains"), (dict(n_chains=-3), ValueError, "n_chains"),
    (dict(max_steps=0), ValueError, "max_steps"), (dict(max_steps=2**40), ValueError, "max_steps"),
    (dict(seed=-1), ValueError, "seed"), (dict(seed=2**32), ValueError, "seed"),
    (dict(block_size=0), ValueError, "block_size"), (dict(batch_size=-1), ValueError, "batch_size"),
    (dict(precision="float16"), ValueError, "precision"), (dict(compaction="sometimes"), ValueError, "compaction"),
    (dict(compaction=1), ValueError, "compaction"), (dict(checkpoint_every=-1), ValueError, "checkpoint_every"),
    (dict(first_chain=-1), ValueError, "first_chain"), (dict(first_chain=2**31 - 5), ValueError, "first_chain"),
    (dict(trace_every=0), ValueError, "trace_every"), (dict(trace_every=-2), ValueError, "trace_every"),
    (dict(observables={"a": lambda x: x[0]}), ValueError, "trace_every"),
    (dict(trace_every=1, trace_memory_limit=10), ValueError, "trace_every"),
    (dict(resume=True), ValueError, "resume"),
    (dict(targets=[]), ValueError, "targets"),
    (dict(targets=[RING, sim.Target("ring", lambda x: x[0])]), ValueError, "duplicate"),
    (dict(start_batched=True), ValueError, "start_batched"),
    (dict(kernel=sim.dynamics.mala(lambda x: jnp.sum(x**2), 0.1), bridge=True), ValueError, "bridge"),
    (dict(targets=[sim.Target("t", lambda x: x[0], distance=False)], bridge=True), ValueError, "bridge"),
    # wrong shapes
    (dict(targets=[sim.Target("vec", lambda x: x - 1.0)]), ValueError, "residual"),
    (dict(start=jnp.zeros(2), targets=[sim.Target("A", lambda x: jnp.dot(jnp.ones(3), x))]), ValueError, "start"),
    (dict(kernel=sim.dynamics.langevin(lambda x: x**2, 0.1)), ValueError, "start"),
    (dict(domain=lambda x: x > 0), ValueError, "domain"),
    (dict(trace_every=1, observables={"v": lambda x: x}), ValueError, "observables"),
]


@pytest.mark.parametrize("overrides, error, name", RACE_CASES, ids=lambda v: None)
def test_race_refuses_before_compiling(no_compile, overrides, error, name):
    with pytest.raises(error, match=name):
        race(**overrides)


def test_race_refuses_a_checkpoint_path_that_is_a_file(no_compile, tmp_path):
    """Regression: the whole race used to run, then fail at the final save with an unnamed FileExistsError."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    with pytest.raises(ValueError, match=f"checkpoint: {path} is a file"):
        race(checkpoint=path)


WRONG = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4), st.none(), st.booleans(),
                  st.lists(st.integers(), max_size=2), st.integers(max_value=0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["n_chains", "max_steps", "block_size", "batch_size"]), value=WRONG)
def test_race_refuses_any_wrong_count(no_compile, name, value):
    assume(not (name == "batch_size" and value is None))      # None is batch_size's default
    with pytest.raises((TypeError, ValueError), match=name):
        race(**{name: value})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), st.floats(), st.text(max_size=3)))
def test_race_refuses_any_wrong_seed(no_compile, value):
    with pytest.raises((TypeError, ValueError), match="seed"):
        race(seed=value)


@settings(max_examples=40, deadline=None)
@given(eps=st.one_of(st.floats(max_value=-1e-300), st.just(NAN), st.just(INF), st.text(max_size=3), st.none()))
def test_target_refuses_any_wrong_eps(eps):
    with pytest.raises((TypeError, ValueError), match="eps"):
        sim.Target("t", lambda x: x[0], eps=eps)


def sgd_data():
    return np.zeros((4, 2))


def loss(theta, batch):
    return jnp.sum(theta**2) + jnp.mean(batch @ theta)


CONSTRUCTOR_CASES = [
    # targets
    (lambda: sim.Target("", lambda x: x), TypeError, "name"),
    (lambda: sim.Target(5, lambda x: x), TypeError, "name"),
    (lambda: sim.Target("tie", lambda x: x), ValueError, "reserved"),
    (lambda: sim.Target("t", 3.0), TypeError, "residual"),
    (lambda: sim.Target("t", lambda x: x, distance="yes"), TypeError, "distance"),
    # kernels
    (lambda: sim.dynamics.random_walk(0.0), ValueError, "scale"),
    (lambda: sim.dynamics.random_walk(NAN), ValueError, "scale"),
    (lambda: sim.dynamics.random_walk("big"), TypeError, "scale"),
    (lambda: sim.dynamics.langevin("V", step_size=0.1), TypeError, "potential"),
    (lambda: sim.dynamics.langevin(lambda x: x, step_size=-1.0), ValueError, "step_size"),
    (lambda: sim.dynamics.langevin(lambda x: x, step_size=INF), ValueError, "step_size"),
    (lambda: sim.dynamics.mala(lambda x: x, step_size=0.1, temperature=0), ValueError, "temperature"),
    (lambda: sim.dynamics.sgld(loss, sgd_data(), 0.0), ValueError, "step_size"),
    (lambda: sim.dynamics.sgld(loss, sgd_data(), 0.1, localization=-1.0), ValueError, "localization"),
    (lambda: sim.dynamics.sgld(loss, sgd_data(), 0.1, localization=1.0), ValueError, "center"),
    (lambda: sim.dynamics.sgld(loss, sgd_data(), 0.1, batch_size=0), ValueError, "batch_size"),
    (lambda: sim.dynamics.sgld(loss, np.zeros((0, 2)), 0.1), ValueError, "data"),
    (lambda: sim.dynamics.sgld(loss, 3.0, 0.1), ValueError, "data"),
    (lambda: sim.dynamics.sgd(loss, sgd_data(), "adam", 2), TypeError, "optimizer"),
    (lambda: sim.dynamics.sgd(loss, sgd_data(), optax.sgd(0.1), 2.5), TypeError, "batch_size"),
    (lambda: sim.dynamics.sgd("loss", sgd_data(), optax.sgd(0.1), 2), TypeError, "loss"),
    (lambda: sim.dynamics.group_walk("GL2", 0.1), TypeError, "group"),
    (lambda: sim.dynamics.group_walk(GL2, -0.1), ValueError, "scale"),
    (lambda: sim.dynamics.entry_walk(0.1, "GL2"), TypeError, "group"),   # the old order, a bad group
    (lambda: sim.dynamics.entry_walk(GL2, 0.0), ValueError, "scale"),
    (lambda: sim.dynamics.confine(lambda k, s: s, BALL), TypeError, "kernel"),
    (lambda: sim.dynamics.confine(sim.dynamics.group_walk(GL2, 0.1), "ball"), ValueError, "ball"),
    (lambda: sim.dynamics.group_langevin(GL2, lambda g: 0.0, 0.0), ValueError, "step_size"),
    (lambda: sim.dynamics.group_mala(GL2, lambda g: 0.0, 0.1, temperature=-1), ValueError, "temperature"),
    # groups
    (lambda: sim.groups.GL(0), ValueError, "n"),
    (lambda: sim.groups.GL(1.5), ValueError, "n"),
    (lambda: sim.groups.frobenius_ball(GL2, 1.5), ValueError, "radius"),
    (lambda: sim.groups.frobenius_ball(GL2, NAN), ValueError, "radius"),
    (lambda: sim.groups.frobenius_ball("GL2", 0.5), TypeError, "group"),
    (lambda: sim.groups.frobenius_ball(GL2, 0.5, center=np.eye(3)), ValueError, "center"),
    (lambda: sim.groups.frobenius_ball(GL2, 0.5, center=np.zeros((2, 2))), ValueError, "center"),
    (lambda: BALL.sample(0), ValueError, "n"),
    (lambda: GL2.sample(sim.groups.frobenius_ball(sim.groups.SL(2), 0.5), 10), ValueError, "ball"),
    # shapes, stabilizers, volumes
    (lambda: sim.stabilizer(sim.shapes.segment(), eps=-1.0), ValueError, "eps"),
    (lambda: sim.stabilizer(sim.shapes.segment(), 0.1, group="GL2"), TypeError, "group"),
    (lambda: sim.stabilizer("segment", 0.1), TypeError, "figure"),
    (lambda: sim.stabilizer_dimension("GL2", sim.shapes.segment()), TypeError, "group"),
    (lambda: sim.stabilizer_dimension(GL2, "segment"), TypeError, "figure"),
    (lambda: sim.orbit_dimension(GL2, None), TypeError, "figure"),
    (lambda: sim.stabilizer_dimension(sim.groups.GL(3), sim.shapes.segment()), ValueError, "R\\^2"),
    (lambda: sim.haar_volume("ball", RING, 100), TypeError, "ball"),
    (lambda: sim.haar_volume_ratio(BALL, sim.stabilizer(sim.shapes.segment(), 0.1),
                                   sim.stabilizer(sim.shapes.circle(), 0.2), 100), ValueError, "eps"),
    # theory
    (lambda: sim.laplace_mass(lambda x: x @ x, 0.0, point=np.zeros(2)), ValueError, "temperature"),
    (lambda: sim.kramers_time(lambda x: x**2, 0.0, 1.0, NAN), ValueError, "temperature"),
    (lambda: sim.kramers_time(lambda x: -(x**2), 0.0, 1.0, 1.0), ValueError, "minimum"),
    (lambda: sim.nuts_occupation(lambda x: x @ x, [RING], np.zeros(2), temperature=-1.0), ValueError, "temperature"),
    # rare events and volumes (full cases: tests/engine/test_splitting.py, test_nested.py)
    (lambda: sim.splitting(sim.dynamics.random_walk(0.1), [RING], np.zeros(2), max_steps=10, n_runs=1), ValueError,
     "n_runs"),
    (lambda: sim.volume_curve([RING], sim.space.gaussian(2), [0.1, 0.2]), ValueError, "eps"),
    (lambda: sim.volume_curve([RING], sim.space.gaussian(2), [0.2, 0.1], checkpoint=3), TypeError, "checkpoint"),
    (lambda: sim.volume_curve([RING], sim.space.gaussian(2), [0.2, 0.1], resume=True), ValueError, "checkpoint"),
    (lambda: sim.volume_curve([RING], sim.space.gaussian(2), [0.2, 0.1], checkpoint_every=-1.0), ValueError,
     "checkpoint_every"),
    (lambda: sim.learning_coefficient(lambda w, b: jnp.mean(b @ w), np.ones((5, 2)), np.zeros(2), n_chains=1),
     ValueError, "n_chains"),
    (lambda: sim.posterior_probability((2, 3, 1), np.zeros((2, 3)), [0, 1], np.zeros((2, 2)), [0, 1]), ValueError,
     "x_train"),
    (lambda: sim.posterior_probability((2, 3, 1), np.zeros((2, 2)), [0, 1], np.zeros((2, 2)), [0, 2]), ValueError,
     "y_test"),
    (lambda: sim.posterior_probability((2, 3), np.zeros((2, 2)), [0, 1], np.zeros((2, 2)), [0, 1]), ValueError,
     "widths"),
    (lambda: sim.posterior_probability((2, 3, 1), np.zeros((2, 2)), [0, 1], np.zeros((2, 2)), [0, 1], method="both"),
     ValueError, "method"),
    # multi-host
    (lambda: sim.merge_results([]), ValueError, "parts"),
    (lambda: sim.process_share(10, 3, 2), ValueError, "process_index"),
    (lambda: sim.clear_program_cache(True), TypeError, "positional"),
    (lambda: sim.compare("a race", "a curve", "a", "b", eps=0.1), TypeError, "result"),
    (lambda: sim.sample(sim.dynamics.random_walk(0.1), jnp.zeros(2), n_chains=0, n_steps=10, trace_every=1),
     ValueError, "n_chains"),
    (lambda: sim.sample(sim.dynamics.random_walk(0.1), jnp.zeros(2), n_chains=2, n_steps=10, trace_every=0),
     ValueError, "trace_every"),
]


@pytest.mark.parametrize("make, error, name", CONSTRUCTOR_CASES)
def test_entry_points_refuse(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_result_methods_refuse_unknown_names():
    result = race()
    for call in (lambda: result.probability("nope"), lambda: result.ratio("ring", "nope"),
                 lambda: result.cumulative_incidence("nope"), lambda: result.hitting_time("nope")):
        with pytest.raises(ValueError, match="name"):
            call()


def test_the_suite_covers_every_public_callable():
    """A new public function must get a case here: the names the cases call cover sim.__all__'s callables."""
    import inspect
    source = inspect.getsource(inspect.getmodule(test_the_suite_covers_every_public_callable))
    callables = [n for n in sim.__all__ if callable(getattr(sim, n)) and not inspect.isclass(getattr(sim, n))
                 and n not in ("checkpointing", "load_result")]   # covered in test_outputs.py
    missing = [n for n in callables if f"sim.{n}(" not in source]
    assert not missing and not math.isnan(len(callables)), missing


def test_ambiguous_start_rule():
    """A leading axis of length n_chains is the chain axis unless start_batched=False."""
    targets = [sim.Target("t", lambda x: jnp.linalg.norm(x) - 0.1)]
    kernel = sim.dynamics.random_walk(0.1)
    matrix = np.eye(3) * 2.0
    as_batch = sim.race(kernel, targets, matrix, n_chains=3, max_steps=2, progress=False)
    assert as_batch.position.shape == (3, 3)
    shared = sim.race(kernel, targets, matrix, n_chains=3, max_steps=2, start_batched=False, progress=False)
    assert shared.position.shape == (3, 3, 3)
