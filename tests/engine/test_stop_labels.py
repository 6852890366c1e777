"""race(stop_label=fn): a discrete observable computed on the device at each chain's stop."""
import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim

# A perceptron with bias on two Boolean inputs, theta = (w1, w2, b), f(x) = [w . x + b > 0]. Training set
# S = {00 -> 0, 11 -> 1}; the test inputs 01 and 10 are left free, so a chain that fits S computes one of four
# functions there: the label f(01) + 2 f(10).
TRAIN_X, TRAIN_Y = jnp.array([[0.0, 0.0], [1.0, 1.0]]), jnp.array([0.0, 1.0])
TEST_X = jnp.array([[0.0, 1.0], [1.0, 0.0]])


def predict(theta, x):
    return (x @ theta[:2] + theta[2] > 0).astype(jnp.float32)


def misfit(theta):                       # the number of training inputs it gets wrong: 0 is a fit
    return jnp.sum(predict(theta, TRAIN_X) != TRAIN_Y).astype(jnp.float32)


def held_out_function(theta):
    bits = predict(theta, TEST_X).astype(jnp.int32)
    return bits[0] + 2 * bits[1]


def race(**kw):
    start = np.tile([0.0, 0.0, 0.5], (600, 1)) + np.random.default_rng(0).normal(0, 0.3, (600, 3))
    start[:, 2] = np.abs(start[:, 2]) + 0.1          # f(00) = 1: every chain starts misfit
    return sim.race(sim.dynamics.random_walk(0.2), [sim.Target("fit", misfit, 0.0)], start, n_chains=600,
                    max_steps=400, seed=3, stop_label=held_out_function, progress=False, **kw)


def test_every_label_is_the_test_function_at_the_stop_checked_by_hand():
    result = race(batch_size=64, compaction=True, block_size=8)     # refills and compaction move chains between lanes
    theta = result.position
    labels = result.stop_labels
    assert labels.shape == (600,) and labels.dtype == np.int32
    hit = result.outcome == 0
    assert hit.sum() > 100 and (~hit).sum() > 0                     # some chains fit, some are censored
    for t, label, fit in zip(theta, labels, hit):                   # the label is computed from the stopped theta
        bits = [int(x @ t[:2] + t[2] > 0) for x in np.asarray(TEST_X)]
        assert label == bits[0] + 2 * bits[1]
        if fit:                                                     # and a hit fits S exactly
            assert [int(x @ t[:2] + t[2] > 0) for x in np.asarray(TRAIN_X)] == [0, 1]
    counts = result.stop_label_counts("fit")
    assert sum(c for _, c, _ in counts) == hit.sum()
    assert [c for _, c, _ in counts] == sorted((c for _, c, _ in counts), reverse=True)
    for label, count, estimate in counts:
        assert estimate.low <= count / hit.sum() <= estimate.high and 0 <= int(label) <= 3


def test_labels_do_not_depend_on_the_batch_and_survive_save_and_load(tmp_path):
    a = race(batch_size=600, compaction=False)
    b = race(batch_size=64, compaction=True, block_size=8)
    assert np.array_equal(a.stop_labels, b.stop_labels) and np.array_equal(a.outcome, b.outcome)
    back = sim.load_result(a.save(tmp_path / "r"))
    assert np.array_equal(back.stop_labels, a.stop_labels)
    assert back.config["stop_label"] == "held_out_function"
    assert race().stop_label_counts("censored") == race().stop_label_counts("censored")


@pytest.mark.parametrize("label, error, words", [
    (lambda theta: theta[0], TypeError, "integers or bools"),
    ("bits", TypeError, "stop_label must be a function"),
    (lambda theta: (theta @ jnp.ones(5)).astype(jnp.int32), ValueError, "stop_label cannot be evaluated"),
])
def test_a_bad_stop_label_is_refused_before_running(label, error, words):
    with pytest.raises(error, match=words):
        sim.race(sim.dynamics.random_walk(0.2), [sim.Target("fit", misfit, 0.0)], jnp.zeros(3), n_chains=4,
                 max_steps=5, stop_label=label, progress=False)


def test_stop_label_counts_without_labels_is_a_clear_error():
    result = sim.race(sim.dynamics.random_walk(0.2), [sim.Target("fit", misfit, 0.0)], jnp.zeros(3), n_chains=4,
                      max_steps=5, progress=False)
    assert result.stop_labels is None
    with pytest.raises(ValueError, match="no stop_label"):
        result.stop_label_counts()
