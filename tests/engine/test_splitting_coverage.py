"""Splitting's intervals cover for every competing target (issue 36).

The star graph (tests/splitting_cases.py) has two targets 2.2 decades apart (P(A) = 1.18e-6,
P(B) = 7.28e-9 by a linear solve). One call with G * R runs is G independent experiments of R runs each
(a run depends only on (seed, run), so batching changes nothing); each experiment's 95 % t interval
either covers the exact value or not. Measured (this file's settings, seeds 7 and 1, and the star with
branches 20 and 25): with one score |x| for both targets the rarer one covered 33/40, 95/100 and 91/100
(17-30 % of its runs were 0: the runs went to the likelier branch); split once per target, each with its
own signed score, 38/40, 92/100 and 94/100, the likelier one 38/40, 98/100 and 94/100.
"""
import math

import numpy as np
import pytest

import simulator as sim
from simulator import stats
from splitting_cases import star_case, star_exact

TRUTH = star_exact()
SIGNED = {"A": lambda p: p[0], "B": lambda p: -p[0]}       # toward one branch, away from the other


def per_target(n_groups, n_runs, n_replicas, seed=0):
    kernel, targets, start, options = star_case()
    options.pop("score")
    return sim.splitting(kernel, targets, start, score=SIGNED, n_replicas=n_replicas, k=10,
                         n_runs=n_groups * n_runs, max_steps=100_000, seed=seed, progress=False, **options)


def coverage(result, name, n_groups) -> int:
    """Experiments (groups of runs) whose 95 % t interval holds the exact P(name)."""
    groups = result.log_per_run(name).reshape(n_groups, -1)
    covered = 0
    for log_x in groups:
        est, top = stats.mean_interval_from_logs(log_x)
        covered += est.low * math.exp(top) <= TRUTH[name] <= est.high * math.exp(top)
    return covered


def test_one_split_per_target_covers_both_targets_short():
    # 10 experiments of 20 runs x 100 replicas. At nominal coverage 0.95, P(7 or fewer of 10 cover) = 0.012.
    result = per_target(10, 20, 100)
    for name in ("A", "B"):
        assert coverage(result, name, 10) >= 8, name
        # and the 200 runs pooled: within 4 standard errors of the exact value
        x = result.per_run(name)
        assert abs(x.mean() - TRUTH[name]) < 4 * x.std(ddof=1) / math.sqrt(x.size), name
    assert result.sparse_targets() == {} and result.config["per_target"]
    assert result.config["top"] == ["A", "B"]


def test_one_score_for_targets_decades_apart_warns_that_the_rare_one_rests_on_few_runs():
    kernel, targets, start, options = star_case()
    with pytest.warns(sim.SplittingWarning, match=r"P\(B\) rests on few runs"):
        result = sim.splitting(kernel, targets, start, n_replicas=100, k=10, n_runs=40, max_steps=100_000,
                               seed=0, progress=False, **options)
    assert "B" in result.sparse_targets() and "A" not in result.sparse_targets()


def test_a_target_no_run_reached_is_printed_with_the_resolution_not_as_zero():
    kernel, targets, start, options = star_case()
    with pytest.warns(sim.SplittingWarning):       # runs end extinct: nothing reaches either branch end
        result = sim.splitting(kernel, targets, start, n_replicas=4, k=3, n_runs=2, max_steps=100_000, seed=0,
                               progress=False, **options)
    summary = result.summary()
    assert result.probability("B").value == 0 and "P(B) = 0" not in summary
    # both runs went extinct at their first level (all 4 replicas failed or escaped, W = 1 until then): one
    # replica in a target would have read W / n / runs = 1/8; W after the last kill is 0 and said nothing
    assert result.runs["extinct"].all() and (result.runs["killed"][:, 0] == 4).all()
    assert result.resolution() == 1 / 4 / 2
    assert f"P(B): no run reached it; one replica there would have read {result.resolution():.2g}" in summary


def test_per_target_scores_are_checked_before_running(no_compile):
    kernel, targets, start, options = star_case()
    options.pop("score")
    common = dict(n_replicas=10, n_runs=2, max_steps=10, progress=False, **options)
    with pytest.raises(ValueError, match="score"):
        sim.splitting(kernel, targets, start, score={"C": SIGNED["A"]}, **common)
    with pytest.raises(TypeError, match=r"score\['A'\]"):
        sim.splitting(kernel, targets, start, score={"A": 1.0}, **common)
    with pytest.raises(ValueError, match="top"):
        sim.splitting(kernel, targets, start, score=SIGNED, top=["A"], **common)


@pytest.mark.slow
def test_one_split_per_target_covers_both_targets_at_the_nominal_rate():
    # 100 experiments of 20 runs x 200 replicas (the setting). Empirical coverage >= 0.90 for each
    # target: at nominal 0.95 the binomial SE of 100 experiments is 0.022, so 0.90 is 2.3 SE below it.
    result = per_target(100, 20, 200, seed=1)
    for name in ("A", "B"):
        assert coverage(result, name, 100) >= 90, (name, coverage(result, name, 100))


def test_the_combined_result_is_its_splits_columns_and_the_mean_of_the_rest(tmp_path):
    kernel, targets, start, options = star_case()
    options.pop("score")
    common = dict(n_replicas=20, k=5, n_runs=4, max_steps=100_000, seed=3, progress=False, **options)
    combined = sim.splitting(kernel, targets, start, score=SIGNED, **common)
    alone = {name: sim.splitting(kernel, targets, start, score=SIGNED[name], top=[name], **common)
             for name in ("A", "B")}
    names = combined.names
    for name in ("A", "B"):
        np.testing.assert_array_equal(combined.log_per_run(name), alone[name].log_per_run(name))
    for name in ("failure", "escaped"):
        mean = (alone["A"].per_run(name) + alone["B"].per_run(name)) / 2
        np.testing.assert_allclose(combined.per_run(name), mean, rtol=1e-12)
    assert combined.work["chain_steps"] == sum(a.work["chain_steps"] for a in alone.values())
    assert set(combined.work["per_target"]) == {"A", "B"} and names == alone["A"].names
    combined.save(tmp_path / "r")
    loaded = sim.load_result(tmp_path / "r")
    for name in names:
        assert list(loaded.probability(name)) == list(combined.probability(name))
