"""Generalized AMS (``sim.splitting``) against exact absorption probabilities.

Tolerances: each check is |estimate - exact| <= 4 SE, with SE the standard error of the mean over the
independent runs (sd / sqrt(runs)); a correct estimator fails one such check with probability about
6e-5 (normal) or 1e-3 (Student t, 19 degrees of freedom).
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as st

import simulator as sim
from simulator.engine import checkpoint as ckpt
from simulator.rare import splitting as engine_splitting
from simulator.stats import standard_error
from simulator.theory import exact
from splitting_cases import ruin, ruin_probability, star_case, star_exact

QUICK = dict(n_replicas=200, n_runs=20, max_steps=10**6, progress=False)


def within(result, name, truth, allowance=0.0, sds=4.0):
    p = result.probability(name)
    se = standard_error(p)
    assert abs(p.value - truth) <= sds * se + allowance, f"P({name}) = {p} (SE {se:.3g}), exact {truth:.6g}"


def sums_to_one(result):
    """Every run's estimates of all outcomes (targets and the rest) add up to 1: nothing is dropped."""
    totals = np.exp(result.runs["log_estimate"]).sum(axis=1)
    np.testing.assert_allclose(totals, 1.0, rtol=1e-9)


@pytest.mark.parametrize("n, p", [(15, 4.0e-6), pytest.param(20, 5.8e-8, marks=pytest.mark.slow)])
def test_gamblers_ruin_matches_the_closed_form(n, p):
    # The score x is an integer: ties at every level, which is what the kill-all-ties rule is for.
    kernel, targets, start, options = ruin(n)
    truth = ruin_probability(0.3, n)
    assert truth == pytest.approx(p, rel=0.02)
    result = sim.splitting(kernel, targets, start, seed=n, **options, **QUICK)
    within(result, "top", truth)
    within(result, "failure", 1 - truth)
    sums_to_one(result)
    assert result.work["replay_steps"] > 0 and result.work["chain_steps"] > 0


def test_several_targets_failure_and_escape_match_a_linear_solve():
    truth = star_exact()
    assert 1e-9 < truth["B"] < truth["A"] < 1e-5
    kernel, targets, start, options = star_case()
    result = sim.splitting(kernel, targets, start, seed=1, **options, **QUICK)
    for name in ("A", "B", "failure", "escaped"):
        within(result, name, truth[name])
    sums_to_one(result)
    odds = result.ratio("A", "B")
    exact = truth["A"] / truth["B"]
    assert odds.low <= exact <= odds.high or odds.value == pytest.approx(exact, rel=0.5)


def test_splitting_for_one_rare_target_still_estimates_the_others():
    # top=["B"]: only the rarer branch is the top level; A ends a path like a failure, and its
    # probability comes from the mass killed there. All four outcomes match the linear solve.
    truth = star_exact()
    kernel, targets, start, options = star_case()
    result = sim.splitting(kernel, targets, start, seed=2, top=["B"], **options, **QUICK)
    for name in ("A", "B", "failure", "escaped"):
        within(result, name, truth[name])
    sums_to_one(result)
    assert result.config["top"] == ["B"]


def test_a_batch_of_starts_gives_each_replica_its_own():
    # Replicas start at 1 or 2 alternately (a start distribution with mass 1/2 on each), so the
    # probability is the average of the two closed forms.
    kernel, targets, _, options = ruin(15)
    n, runs = QUICK["n_replicas"], QUICK["n_runs"]
    starts = jnp.asarray(1.0 + (np.arange(n * runs) % 2))[:, None]
    result = sim.splitting(kernel, targets, starts, seed=4, **options, **QUICK)
    within(result, "top", (ruin_probability(0.3, 15, 1) + ruin_probability(0.3, 15, 2)) / 2)
    assert result.config["start"] == "batched"


def committor_score(potential, a, b, T):
    """ln of the exact committor, interpolated: the ideal score."""
    grid, log_q = exact.log_committor_1d(potential, a, b, T)
    return lambda x: jnp.interp(x[0], jnp.asarray(grid), jnp.asarray(log_q))


def test_langevin_double_well_committor_at_low_temperature():
    # V = (x^2 - 1)^2 at T = 0.08, from x0 = -0.9: P(x >= 1 before x <= -1) = 1.2e-6 (scale function).
    V = lambda x: (x ** 2 - 1) ** 2   # noqa: E731
    T, h, n, runs = 0.08, 1e-3, 100, 20
    a, b, x0 = -1.0, 1.0, -0.9
    truth = exact.committor_1d(V, a, b, x0, T)
    assert 5e-7 < truth < 5e-6
    # Discretisation allowance: Euler steps seen only at their ends overshoot each boundary by
    # 0.5826 sqrt(2 T h) on average (Siegmund); the first-order shifted committor bounds that bias.
    shift = exact.SIEGMUND_BETA * math.sqrt(2 * h * T)
    allowance = abs(exact.committor_1d(V, a - shift, b + shift, x0, T) - truth)
    kernel = sim.dynamics.langevin(lambda x: jnp.sum((x ** 2 - 1) ** 2), h, T)
    result = sim.splitting(kernel, [sim.Target("right", lambda x: b - x[0])], jnp.array([x0]),
                           score=committor_score(V, a, b, T), failure=lambda x: x[0] <= a, n_replicas=n,
                           n_runs=runs, max_steps=10**7, seed=0, progress=False, precision="float64")
    within(result, "right", truth, allowance)
    # With the committor as the score the relative variance of one run is close to the ideal
    # p^(-1/n) - 1 ~ |ln p| / n. Across 20 runs the sample variance / true variance is
    # chi2(19)/19, inside [0.27, 2.5] with probability 0.999 (more if the estimates were normal).
    x = result.per_run("right")
    ratio = np.var(x, ddof=1) / x.mean() ** 2 / (truth ** (-1 / n) - 1)
    low, high = st.chi2.ppf([0.0005, 0.9995], runs - 1) / (runs - 1)
    assert low <= ratio <= high, ratio
    # every step of the run used one chunk width, so each replay reached its survivor's level exactly
    assert result.work["replay_mismatches"] == 0


def test_a_pass_steps_one_chunk_width_on_a_cpu_and_its_whole_width_elsewhere():
    from simulator.rare.ams_program import chunk_width
    assert [chunk_width(w) for w in (8, 16, 32, 256, 1024, 30)] == [8, 8, 8, 64, 256, 30]
    assert chunk_width(256, "gpu") == 256 and chunk_width(32, "tpu") == 32


def test_a_score_that_never_rises_goes_extinct_at_once():
    kernel, targets, start, options = ruin(40)      # P(top) = 1e-15: no replica reaches it by chance
    with pytest.warns(sim.SplittingWarning, match="extinct"):
        result = sim.splitting(kernel, targets, start, score=lambda x: 0.0 * x[0], failure=options["failure"],
                               **QUICK)
    assert result.runs["extinct"].all() and (result.runs["iterations"] == 1).all()
    assert result.probability("top") == (0.0, 0.0, 0.0)
    assert result.probability("failure").value == 1.0
    assert any("extinct" in w for w in result.warnings)
    sums_to_one(result)


def test_diverged_replicas_are_counted():
    # A walk that blows up (NaN) with probability 0.2 per step once x >= 3: some replicas diverge
    # and their mass is reported, not dropped or folded into a target.
    inner = sim.dynamics.lattice_walk(0.4)

    def step(key, state):
        new = inner.step(key, state)
        blow = (new.position[0] >= 3) & (jnp.sin(1e4 * jnp.sum(state.position) + key_float(key)) > 0.6)
        return new._replace(position=jnp.where(blow, jnp.nan, new.position))

    def key_float(key):
        import jax
        return jax.random.uniform(jax.random.fold_in(key, 7)) * 1e3

    kernel = inner._replace(step=step, name="blowing_walk")
    result = sim.splitting(kernel, [sim.Target("top", lambda x: 8 - x[0])], jnp.array([1.0]),
                           score=lambda x: x[0], failure=lambda x: x[0] <= 0, **QUICK)
    assert result.probability("diverged").value > 0
    assert result.probability("top").value > 0
    sums_to_one(result)


def test_a_run_depends_only_on_seed_and_run_index():
    kernel, targets, start, options = ruin(12)
    small = {**QUICK, "n_replicas": 100}
    few = sim.splitting(kernel, targets, start, seed=3, **options, **{**small, "n_runs": 2})
    more = sim.splitting(kernel, targets, start, seed=3, block_size=7, **options, **{**small, "n_runs": 3})
    np.testing.assert_array_equal(few.runs["log_estimate"], more.runs["log_estimate"][:2])
    np.testing.assert_array_equal(few.runs["levels"], more.runs["levels"][:2, :few.runs["levels"].shape[1]])


def test_an_interrupted_run_resumes_bitwise(tmp_path, monkeypatch):
    kernel, targets, start, options = ruin(12)
    settings = dict(seed=5, **options, **{**QUICK, "n_runs": 4})
    whole = sim.splitting(kernel, targets, start, **settings)
    original = engine_splitting.SplittingDriver._dispatch
    calls = []

    def failing(self):        # dispatch 1 simulates the first paths; with checkpoint_every=0, one iteration each
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("simulated crash")
        original(self)

    monkeypatch.setattr(engine_splitting.SplittingDriver, "_dispatch", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        sim.splitting(kernel, targets, start, checkpoint=tmp_path, checkpoint_every=0.0, **settings)
    monkeypatch.setattr(engine_splitting.SplittingDriver, "_dispatch", original)
    saved = ckpt.load(tmp_path)
    assert int(saved["iteration"]) == 3 and not bool(saved["meta.done"])   # resumes mid-run, not afresh
    with pytest.raises(ValueError, match="resume=True"):
        sim.splitting(kernel, targets, start, checkpoint=tmp_path, **settings)
    resumed = sim.splitting(kernel, targets, start, checkpoint=tmp_path, resume=True, **settings)
    for key in whole.runs:
        np.testing.assert_array_equal(whole.runs[key], resumed.runs[key])
    assert resumed.work["chain_steps"] == whole.work["chain_steps"]


def test_save_and_load_round_trip(tmp_path):
    kernel, targets, start, options = ruin(8)
    result = sim.splitting(kernel, targets, start, **options, **{**QUICK, "n_runs": 3})
    back = sim.load_result(result.save(tmp_path / "res"))
    assert isinstance(back, sim.SplittingResult)
    for key in result.runs:
        np.testing.assert_array_equal(result.runs[key], back.runs[key])
    assert back.probability("top") == result.probability("top")
    assert back.config == result.config


def test_estimates_below_float64_stay_exact_in_log_space():
    log = np.array([[-800.0], [-801.0], [-799.0]]) * np.ones((1, 6))
    result = sim.SplittingResult(("f",), {"log_estimate": log, "iterations": np.ones(3), "extinct": np.zeros(3, bool),
                                          "stopped_early": np.zeros(3, bool), "log_weight": log[:, 0],
                                          "levels": np.zeros((3, 1)), "killed": np.zeros((3, 1))})
    mean = np.mean(np.exp(log[:, 0] + 800))
    assert result.log10_probability("f").value == pytest.approx((math.log(mean) - 800) / math.log(10), rel=1e-12)
    assert result.ratio("f", "tie").value == pytest.approx(1.0)


@pytest.mark.parametrize("change, error, words", [
    (dict(k=0), ValueError, "k must"),
    (dict(k=200), ValueError, "k must"),
    (dict(k=2.0), TypeError, "k must be an int"),
    (dict(n_runs=1), ValueError, "n_runs"),
    (dict(n_replicas=1), ValueError, "n_replicas"),
    (dict(score=lambda x: x), ValueError, "score must return a scalar"),
    (dict(score=lambda x: x[0] > 0), TypeError, "floating"),
    (dict(score=3.0), TypeError, "score must be a function"),
    (dict(failure=3.0), TypeError, "failure"),
    (dict(start=jnp.array([0.0])), ValueError, "failure set"),
    (dict(start=jnp.array([12.0])), ValueError, "already inside target 'top'"),
    (dict(score=None), ValueError, "eps > 0"),
    (dict(top=["nope"]), ValueError, "top must name"),
    (dict(start=jnp.asarray([[1.0]] * 3999 + [[0.0]])), ValueError, r"start\[3999\] is already inside the failure"),
])
def test_bad_input_is_refused_before_running(change, error, words):
    kernel, targets, start, options = ruin(12)
    args = {**options, **QUICK, "start": start, **change}
    start = args.pop("start")
    with pytest.raises(error, match=words):
        sim.splitting(kernel, targets, start, **args)
