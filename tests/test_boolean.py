"""simulator.boolean: truth-table codes, Lempel-Ziv complexity, the perceptron law, network prior samples."""
import itertools
import math

import jax
import numpy as np
import pytest
from scipy import stats as st

from simulator import boolean as B


def test_codes_round_trip_and_put_entry_j_at_bit_j():
    rng = np.random.default_rng(0)
    for n_bits in (7, 64, 128, 200):
        x = rng.integers(0, 2, (50, n_bits))
        codes = B.encode(x)
        assert codes.shape == (50, -(-n_bits // 64)) and codes.dtype == np.uint64
        assert np.array_equal(B.decode(codes, n_bits), x)
    one = np.zeros(128, int)
    for j, expected in [(0, (1, 0)), (63, (2**63, 0)), (64, (0, 1)), (127, (0, 2**63))]:
        one[:] = 0
        one[j] = 1
        assert tuple(int(v) for v in B.encode(one)) == expected
    with pytest.raises(ValueError, match="2 words"):
        B.decode(np.zeros((3, 1), np.uint64), 128)


def _lz76_by_definition(s):
    """Words of the exhaustive parsing, from the definition: each word is the shortest extension of the
    longest prefix of the rest that occurs earlier (starting before the word, overlap allowed)."""
    s = "".join(map(str, s))
    p, words = 0, 0
    while p < len(s):
        length = 1
        while p + length <= len(s) and s[p:p + length] in s[:p + length - 1]:
            length += 1
        words += 1
        p += length
    return words


def test_lz76_matches_its_definition_and_the_kaspar_schuster_example():
    assert B.lz76_words([int(c) for c in "0001101001000101"]) == 6       # 0.001.10.100.1000.101
    rng = np.random.default_rng(1)
    for n in range(2, 14):
        for s in itertools.product((0, 1), repeat=n) if n <= 10 else rng.integers(0, 2, (300, n)):
            assert B.lz76_words(s) == _lz76_by_definition(s), s


def test_lz_complexity_of_simple_and_random_strings():
    assert B.lz_complexity(np.zeros(128)) == B.lz_complexity(np.ones(128)) == 7.0
    alternating = np.arange(128) % 2
    random = np.random.default_rng(2).integers(0, 2, 128)
    assert B.lz_complexity(alternating) < 30 < B.lz_complexity(random)
    with pytest.raises(ValueError, match="at least 2"):
        B.lz_complexity([1])


def _uniformity_p_value(t, n_bins):
    counts = np.bincount(t, minlength=n_bins)
    if counts.size > n_bins:           # a count out of range: certainly not uniform on [0, n_bins)
        return 0.0
    return st.chisquare(counts).pvalue


def test_the_perceptron_law_p_of_t_is_uniform():
    # Mingard et al. (2019): a perceptron without bias, Gaussian weights, on {0,1}^n: P(t) = 2^-n for t in
    # [0, 2^n). Chi-square over the 128 values of t from 2^18 samples (2,048 expected per bin): p > 1e-3.
    # The same test fails for a planted miscount, w . x >= 0 (the input x = 0 always counts: t + 1).
    t = B.perceptron_counts(jax.random.key(0), 7, 2**18)
    assert t.min() >= 0 and t.max() <= 127
    assert _uniformity_p_value(t, 128) > 1e-3
    assert _uniformity_p_value(t + 1, 128) < 1e-6
    # a miscount that keeps the range: dropping the all-ones input when it counts
    X = B.inputs(7)
    w = np.asarray(jax.random.normal(jax.random.key(1), (2**17, 7)))
    planted = np.sum(w @ X[:-1].T > 0, axis=1)
    assert _uniformity_p_value(planted, 128) < 1e-6


def test_network_functions_are_the_sign_patterns_of_its_logits():
    widths = (3, 5, 4, 1)
    codes = B.mlp_functions(jax.random.key(3), 8, widths, batch=4)
    assert codes.shape == (8, 1)
    X = B.inputs(3)
    got = B.decode(codes, 8)
    for b, k in enumerate(jax.random.split(jax.random.key(3), 2)):
        for j, kk in enumerate(jax.random.split(k, 4)):
            layers = [(np.asarray(W, float), np.asarray(c, float)) for W, c in B.mlp_init(kk, widths)]
            h = X
            for W, c in layers[:-1]:
                h = np.maximum(h @ W + c, 0)
            logits = (h @ layers[-1][0] + layers[-1][1])[:, 0]
            assert np.array_equal(got[4 * b + j], (logits > 0).astype(np.uint8))
    assert np.array_equal(B.mlp_functions(jax.random.key(3), 8, widths, batch=4), codes)     # reproducible


def test_prior_weights_have_the_stated_variances():
    # W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2): sample variances within 5 SE (SE of a variance of
    # m normals: var sqrt(2 / m)).
    draws = [B.mlp_init(k, (7, 40, 1), 2.0, 0.5) for k in jax.random.split(jax.random.key(4), 200)]
    W1 = np.concatenate([np.asarray(d[0][0]).ravel() for d in draws])
    b1 = np.concatenate([np.asarray(d[0][1]) for d in draws])
    for x, var in [(W1, 4.0 / 7), (b1, 0.25)]:
        assert abs(x.var() - var) <= 5 * var * math.sqrt(2 / x.size)


def test_count_orders_by_frequency_and_keeps_the_total():
    codes = np.array([[5, 0], [1, 2], [5, 0], [7, 7], [5, 0], [1, 2]], np.uint64)
    unique, counts = B.count(codes)
    assert counts.tolist() == [3, 2, 1] and unique[0].tolist() == [5, 0] and counts.sum() == len(codes)


@pytest.mark.parametrize("call, words", [
    (lambda: B.inputs(0), "n must"),
    (lambda: B.mlp_functions(jax.random.key(0), 4, (7, 40, 2)), "widths must"),
    (lambda: B.mlp_init(jax.random.key(0), (7,)), "widths must"),
])
def test_bad_arguments(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_misfit_score_has_the_count_as_its_level_sets_and_ranks_inside_them():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (2000, 16)).astype(np.float32)
    bits = rng.integers(0, 2, 16)
    count = np.array([float(B.misfit_count(row, bits)) for row in logits])
    score = np.array([float(B.misfit_score(row, bits)) for row in logits])
    assert np.all((score >= count) & (score < count + 0.5))            # {score <= k + 1/2} = {count <= k}
    violation = np.sum(np.maximum(-(2 * bits - 1) * logits, 0), axis=1)
    same = count == np.median(count)                                   # inside one plateau: ordered by violation
    assert np.all(np.diff(score[same][np.argsort(violation[same])]) >= 0)


def test_whitened_coordinates_have_the_prior_scales():
    widths = (3, 5, 1)
    scale, unravel = B.mlp_whitened(widths, sigma_w=2.0, sigma_b=0.5)
    assert scale.size == 3 * 5 + 5 + 5 + 1
    (w1, b1), (w2, b2) = unravel(scale)
    assert np.allclose(w1, 2 / math.sqrt(3)) and np.allclose(w2, 2 / math.sqrt(5))
    assert np.allclose(b1, 0.5) and np.allclose(b2, 0.5)


@pytest.mark.parametrize("method", ["conditional", pytest.param("joint", marks=pytest.mark.slow)])
def test_posterior_probability_agrees_with_rejection(method):
    # Both methods (one curve, S first; or the whole table and S as two targets; the joint one gets 400 moves:
    # with 80 pCN moves, before the elliptical slice moves, its mu(whole table) came out 1.6x low, 4.4e-4
    # [3.7e-4, 5.0e-4] against 7.1e-4, spread 0.6, no warning). A 4-10-10-1 network on the 16 inputs of 4
    # bits, S = 8 of them labelled by x1. Rejection over 2^20 prior
    # draws gives P(fit S) (measured 1.3e-3, about 1,400 fits) and P_B(f | S) for the most frequent test function
    # (0.53) and one a test error away (0.046). sim.posterior_probability (12 runs x 40 live points x 80 moves)
    # must agree within 4 SE of the difference of the two independent estimates (Wilson; Student-t across runs).
    import simulator as sim
    widths = (4, 10, 10, 1)
    X = B.inputs(4)
    train = np.array([0, 3, 5, 6, 9, 10, 12, 15])
    test = np.setdiff1d(np.arange(16), train)
    truth = X[:, 0].astype(np.uint8)
    bits = B.decode(B.mlp_functions(jax.random.key(3), 2 ** 20, widths), 16)
    fits = np.all(bits[:, train] == truth[train], axis=1)
    functions, counts = B.count(B.encode(bits[fits][:, test]))
    test_bits = B.decode(functions, test.size)
    for rank in (0, 3):
        rejection = sim.stats.proportion(int(counts[rank]), int(fits.sum()))
        nested = sim.posterior_probability(widths, X[train], truth[train], X[test], test_bits[rank], n_live=40,
                                           n_runs=12, n_moves=80 if method == "conditional" else 400, seed=rank,
                                           method=method).p
        se = math.hypot(sim.stats.standard_error(rejection), sim.stats.standard_error(nested))
        assert abs(nested.value - rejection.value) <= 4 * se, (rank, nested, rejection)
    with pytest.raises(ValueError, match="y_test"):
        sim.posterior_probability(widths, X[train], truth[train], X[test], test_bits[0][:3])


@pytest.mark.slow
@pytest.mark.parametrize("residual", ["misfit count", "hinge"])
def test_the_volume_curve_agrees_with_rejection_on_the_prior_mass_of_a_fit(residual):
    # Prior mass of the 7-40-40-1 networks that compute x1 on 16 seeded training inputs: rejection over 2^20
    # prior draws (measured 1.24e-4, 130 fits) against sim.volume_curve in whitened Gaussian coordinates, with the
    # misfit count as residual (ties at each count are killed together) or the hinge sum(relu(-y logit)) (a
    # continuous residual whose last levels are a plateau at exactly 0: V(1e-3) is 3/4 of V(1e-2)).
    # Tolerance: 4 SE of the difference of the two independent estimates (Wilson and Student-t across the runs).
    # Measured: misfit count 1.04e-4 [7.8e-5, 1.30e-4] (32 runs, pCN moves); hinge 1.15e-4 [8.5e-5, 1.46e-4] (8 runs
    # of the elliptical slice moves; the test runs 16). With pCN
    # moves in place of the elliptical slice move the hinge read 5.4e-5, 7.5e-5 and 1.05e-4 at 100, 400 and
    # 1600 moves (8 runs): the moves did not decorrelate, and neither the acceptance nor the spread said so.
    import jax.numpy as jnp

    import simulator as sim
    widths = (7, 40, 40, 1)
    scale, unravel = B.mlp_whitened(widths)
    X = B.inputs(7)
    train = np.sort(np.random.default_rng(0).choice(128, 16, replace=False))
    x_train, y_train = jnp.asarray(X[train]), jnp.asarray(X[train, 0])

    def misfit(z):
        return B.misfit_count(B.mlp_logits(unravel(scale * z), x_train), y_train)

    def hinge(z):
        logits = B.mlp_logits(unravel(scale * z), x_train).reshape(y_train.shape)
        return jnp.sum(jax.nn.relu(-(2 * y_train - 1) * logits))
    score, eps, runs = {"misfit count": (misfit, [8.5, 4.5, 2.5, 1.5, 0.5], 32),
                        "hinge": (hinge, [3.0, 1.0, 0.3, 0.1, 1e-2, 1e-3], 16)}[residual]
    draws = jax.jit(lambda k: jnp.sum(jax.vmap(score)(jax.random.normal(k, (2 ** 14, scale.size))) <= eps[-1]))
    fits = sum(int(draws(k)) for k in jax.random.split(jax.random.key(5), 64))
    rejection = sim.stats.proportion(fits, 2 ** 20)
    curve = sim.volume_curve([sim.Target("fit", score)], sim.space.gaussian(scale.size), eps,
                             n_live=50, n_runs=runs, n_moves=100, precision="float32", seed=1)
    nested = curve.volume("fit", eps[-1])
    se = math.hypot(sim.stats.standard_error(rejection), sim.stats.standard_error(nested))
    assert fits > 50 and abs(nested.value - rejection.value) <= 4 * se, (nested, rejection)
