"""Inputs that once gave a silent wrong answer (issue 38): each is now refused with a message naming the
argument, or answered correctly. One case per defect; each failed before its fix (the item number is in
the test's parameters)."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim

WALK = sim.dynamics.random_walk(0.5)
HIGH = sim.Target("high", lambda x: 5.0 - x[0])          # x[0] >= 5
LOW = sim.Target("low", lambda x: x[0] + 5.0)            # x[0] <= -5


def small_race(**options):
    return sim.race(WALK, [HIGH, LOW], jnp.array([0.0]), **{"n_chains": 20, "max_steps": 50, "progress": False,
                                                           **options})


@pytest.mark.parametrize("entry", ["race", "splitting-domain", "splitting-failure"])
def test_2_a_numeric_set_is_refused_not_read_as_nonzero_is_inside(entry):
    # domain=lambda x: x[0] - 4.5 was "inside" wherever nonzero: 20 hits, 0 escapes, where x[0] <= 4.5 gave
    # 0 hits and 58 escapes.
    numeric = lambda x: x[0] - 4.5          # noqa: E731
    with pytest.raises(TypeError, match="domain must return a bool" if entry != "splitting-failure"
                       else "failure must return a bool"):
        if entry == "race":
            small_race(domain=numeric)
        else:
            key = "domain" if entry == "splitting-domain" else "failure"
            sim.splitting(WALK, [HIGH, LOW], jnp.array([0.0]), n_replicas=10, n_runs=2, max_steps=50,
                          progress=False, **{key: numeric})


def test_2_a_boolean_domain_still_counts_escapes():
    result = small_race(domain=lambda x: x[0] <= 2.0, max_steps=400)
    assert result.counts["escaped"] > 0 and result.counts["high"] == 0


def test_4_merge_refuses_shares_from_different_starts_and_other_kinds():
    a = sim.race(WALK, [HIGH, LOW], jnp.array([1.0]), n_chains=10, max_steps=20, progress=False)
    b = sim.race(WALK, [HIGH, LOW], jnp.array([3.0]), n_chains=10, max_steps=20, first_chain=10, progress=False)
    with pytest.raises(ValueError, match="start"):
        sim.merge_results([a, b])
    with pytest.raises(TypeError, match="parts"):
        sim.merge_results(a)
    with pytest.raises(TypeError, match="parts"):
        sim.merge_results([a, "b"])
    same = sim.race(WALK, [HIGH, LOW], jnp.array([1.0]), n_chains=10, max_steps=20, first_chain=10, progress=False)
    assert sim.merge_results([a, same]).n_chains == 20          # true shares still merge


@pytest.mark.parametrize("labels", [np.zeros((16, 1)), np.zeros(1), np.zeros(15)])
def test_8_misfit_labels_of_another_shape_are_refused(labels):
    # (16, 1) labels against (16,) logits counted 128 misfits where there were 0; a (1,) vector counted 8.
    logits = -jnp.ones(16)
    for fn in (sim.boolean.misfit_count, sim.boolean.misfit_score):
        with pytest.raises(ValueError, match="bits must have the logits' shape"):
            fn(logits, labels)
    assert float(sim.boolean.misfit_count(logits, np.zeros(16))) == 0.0


@pytest.mark.parametrize("start, words", [
    ({"a": np.zeros((20, 2)), "b": np.zeros(2)}, r"leaf \['b'\]"),     # a partly batched pytree
    (np.zeros((7, 2)), r"shape \(7, 2\)"),                              # rows that are not n_chains
])
def test_9_an_ambiguous_start_is_refused_naming_the_leaf(start, words):
    kernel = sim.dynamics.random_walk(0.1)
    far = sim.Target("far", lambda x: 100.0 - sum(jnp.sum(leaf) for leaf in __import__("jax").tree.leaves(x)))
    with pytest.raises(ValueError, match=words):
        sim.race(kernel, [far], start, n_chains=20, max_steps=2, progress=False)
    shared = sim.race(kernel, [far], start, n_chains=20, max_steps=2, start_batched=False, progress=False)
    assert shared.n_chains == 20 and shared.config["start"] != "batched"    # start_batched settles it


def test_11_probability_intervals_stay_in_0_1():
    # 40 runs of a probability near 1 read 0.975 [0.657, 1.293] before the ends were clipped.
    from simulator.stats import mean_interval_from_logs
    logs = np.log(np.r_[np.ones(39), [1e-9]])
    est, top = mean_interval_from_logs(logs)
    assert 0 <= est.low <= est.value <= est.high == math.exp(-top) == 1.0


@pytest.fixture(scope="module")
def splitting_saves(tmp_path_factory):
    """Two saves of one shape from seeds 0 and 1, and one with another target list."""
    root = tmp_path_factory.mktemp("saves")
    common = dict(n_replicas=20, n_runs=3, max_steps=200, progress=False)
    up = sim.Target("up", lambda x: 6.0 - x[0], eps=0.5)
    down = sim.Target("down", lambda x: x[0] + 2.0, eps=0.5)
    paths = {}
    for name, targets, seed in [("seed0", [up, down], 0), ("seed1", [up, down], 1), ("one", [up], 0)]:
        result = sim.splitting(sim.dynamics.random_walk(0.5), targets, jnp.array([0.0]), seed=seed, **common)
        paths[name] = result.save(root / name)
    return paths


@pytest.mark.parametrize("other, words", [("seed1", "P\\(up\\)"), ("one", "outcome columns")])
def test_3_a_splitting_save_with_another_saves_runs_is_refused(splitting_saves, tmp_path, other, words):
    # runs.npz of another save loaded silently: P(tie) = 0.106 where result.json said 0 (other targets), and
    # P(top) = 0.0068 against the JSON's 0.0104 (same shape, seed 1).
    import shutil
    mixed = tmp_path / "mixed"
    shutil.copytree(splitting_saves["seed0"], mixed)
    shutil.copy(splitting_saves[other] / "runs.npz", mixed / "runs.npz")
    with pytest.raises(ValueError, match=words):
        sim.load_result(mixed)
    assert sim.load_result(splitting_saves["seed0"]).n_runs == 3          # a whole save still loads


def test_3_a_splitting_summary_missing_a_key_names_the_file(splitting_saves, tmp_path):
    import json
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(splitting_saves["seed0"], broken)
    summary = json.loads((broken / "result.json").read_text())
    del summary["config"]
    (broken / "result.json").write_text(json.dumps(summary))
    with pytest.raises(ValueError, match="result.json lacks 'config'"):
        sim.load_result(broken)


def _tiny_curve():
    return sim.volume_curve([sim.Target("a", lambda x: jnp.abs(x[0])), sim.Target("b", lambda x: jnp.abs(x[0]) * 2)],
                            sim.space.box(-1.0, 1.0), [0.5, 0.1], n_live=20, n_runs=2, n_moves=5, progress=False)


@pytest.mark.parametrize("call, error, words", [
    (lambda: _tiny_curve().ratio("a", "nope"), ValueError, "unknown target 'nope'"),        # bare KeyError before
    (lambda: _tiny_curve().exponent("nope"), ValueError, "unknown target 'nope'"),
    (lambda: sim.boolean.encode([0, 2, 1]), ValueError, "only 0 and 1"),                   # 2 was read as 1
    (lambda: sim.boolean.lz_complexity([0.5, 1, 0, 1]), ValueError, "only 0 and 1"),
    (lambda: sim.boolean.decode(np.array([[-1]]), 8), ValueError, "codes"),
    (lambda: sim.boolean.mlp_functions(__import__("jax").random.key(0), 0), ValueError, "n_samples"),
    (lambda: sim.learning_coefficient(lambda w, d: jnp.sum(w ** 2), (np.zeros((4, 1)),), jnp.zeros(2),
                                      burn_in="0.5"), TypeError, "burn_in"),               # raw comparison error
])
def test_11_poor_cases_get_one_line_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_11_a_numpy_integer_k_is_accepted_as_splitting_accepts_it():
    curve = sim.volume_curve([sim.Target("a", lambda x: jnp.abs(x[0]))], sim.space.box(-1.0, 1.0), [0.5, 0.1],
                             n_live=20, n_runs=2, k=np.int64(3), n_moves=5, progress=False)
    assert curve.config["k"] == 3


def quartic(w, batch):
    return jnp.mean(batch[0][:, 0] * 0.0) + jnp.sum(w ** 4)


@pytest.mark.parametrize("call, error, words", [
    (lambda: sim.learning_coefficient(quartic, (np.zeros((8, 1)),), jnp.array([np.nan, 0.0])), ValueError,
     "^w_star"),                                                   # named "start" before
    (lambda: sim.posterior_probability((2, 3, 1), sim.boolean.inputs(2)[:2], [0, 1], sim.boolean.inputs(2)[2:],
                                       [1, 1], sigma_w=float("inf")), ValueError, "sigma_w"),   # after 25-58 s
    (lambda: sim.posterior_probability((2, 3, 1), sim.boolean.inputs(2)[:2], [0, 1], sim.boolean.inputs(2)[2:],
                                       [1, 1], sigma_b=-1.0), ValueError, "sigma_b"),
])
def test_11_learning_coefficient_and_posterior_name_their_own_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_11_a_diverged_learning_coefficient_warns():
    # step 10 on w^4 from w* = (3, 3) overflows: lambda_hat is NaN, and now it says why.
    with pytest.warns(RuntimeWarning, match="diverged"):
        lam = sim.learning_coefficient(quartic, (np.zeros((8, 1)),), jnp.array([3.0, 3.0]), n_chains=2,
                                       n_steps=20, step_size=10.0)
    assert math.isnan(lam.estimate.value)
