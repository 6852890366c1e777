"""Traces (race(trace_every=K)), ArviZ export, netCDF round trip, and the trace memory bound."""
import json
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim

NEVER = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
ANNULUS = [sim.Target("inner", lambda x: jnp.linalg.norm(x) - 1.0),
           sim.Target("outer", lambda x: 3.0 - jnp.linalg.norm(x))]


def test_each_draw_is_the_chain_at_that_step():
    """A chain depends only on (seed, index), so a race stopped (censored) at step t gives the exact position
    at t: every recorded draw d must equal it at t = d K, for all chains, across refills (batch 16 < 40 chains)."""
    kernel = sim.dynamics.random_walk(0.3)
    traced = sim.race(kernel, NEVER, jnp.zeros(2), n_chains=40, max_steps=60, seed=3, trace_every=7,
                      batch_size=16, block_size=8, progress=False)
    np.testing.assert_array_equal(traced.trace_steps, np.arange(0, 61, 7))
    for d, t in enumerate(traced.trace_steps):
        if t == 0:
            expected = np.zeros((40, 2))
        else:
            expected = sim.race(kernel, NEVER, jnp.zeros(2), n_chains=40, max_steps=int(t), seed=3,
                                progress=False).position
        np.testing.assert_allclose(traced.trace["position"][:, d], expected, atol=1e-6)
        np.testing.assert_allclose(traced.trace["norm"][:, d], np.linalg.norm(expected, axis=1), atol=1e-5)


def test_draws_after_a_stop_are_nan_and_outcomes_do_not_change():
    kernel = sim.dynamics.langevin(lambda x: 0.1 * jnp.sum(x * x), 0.02)
    start = jnp.array([2.0, 0.0])
    plain = sim.race(kernel, ANNULUS, start, n_chains=500, max_steps=3000, seed=1, progress=False)
    traced = sim.race(kernel, ANNULUS, start, n_chains=500, max_steps=3000, seed=1, trace_every=25,
                      observables={"x0": lambda x: x[0]}, progress=False)
    np.testing.assert_array_equal(plain.outcome, traced.outcome)
    np.testing.assert_array_equal(plain.stop_step, traced.stop_step)
    recorded = traced.stop_step // 25 + 1                      # draws 0 .. stop // K
    draw = np.arange(traced.trace_steps.size)[None, :]
    finite = np.isfinite(traced.trace["residual_inner"])
    np.testing.assert_array_equal(finite, draw < recorded[:, None])
    assert set(traced.trace) == {"residual_inner", "residual_outer", "potential", "norm", "x0", "position"}
    np.testing.assert_allclose(traced.trace["x0"], traced.trace["position"][..., 0], equal_nan=True)
    np.testing.assert_allclose(traced.trace["potential"], 0.1 * np.sum(traced.trace["position"] ** 2, -1),
                               rtol=1e-5, equal_nan=True)


def stationary_run():
    """Langevin on V = |x|^2 / 2 (T = 1), 8 chains that never stop: a stationary trace."""
    kernel = sim.dynamics.langevin(lambda x: 0.5 * jnp.sum(x * x), 0.1)
    return sim.race(kernel, NEVER, jnp.zeros(2), n_chains=8, max_steps=4000, seed=0, trace_every=10,
                    progress=False)


def test_inference_data_round_trip_and_arviz_functions(tmp_path):
    import arviz as az
    import matplotlib
    matplotlib.use("Agg")
    result = stationary_run()
    idata = result.to_inference_data()
    assert {"posterior", "sample_stats", "constant_data"} <= set(idata.groups())
    assert idata.posterior["position"].dims == ("chain", "draw", "position_dim_0")
    np.testing.assert_array_equal(idata.posterior["draw"].values, result.trace_steps)
    assert list(idata.sample_stats["outcome"].values) == ["censored"] * 8
    assert idata.attrs["kernel"] == "langevin" and idata.attrs["step_size"] == 0.1
    assert json.loads(idata.attrs["config"])["seed"] == 0
    result.save(tmp_path)
    again = sim.load_result(tmp_path)
    assert again.counts == result.counts
    assert again.probability("censored") == result.probability("censored")
    np.testing.assert_array_equal(again.stop_step, result.stop_step)
    np.testing.assert_array_equal(again.trace_steps, result.trace_steps)
    for name in result.trace:
        np.testing.assert_array_equal(again.trace[name], result.trace[name])
    loaded = az.from_netcdf(tmp_path / "trace.nc")
    summary = az.summary(loaded, var_names=["norm", "potential"])
    assert list(summary.index) == ["norm", "potential"]
    # E|x|^2/2 = T = 1 under exp(-|x|^2/2) in 2-D; the mean over 3200 correlated draws: tolerance 0.25
    assert abs(float(summary.loc["potential", "mean"]) - 1.0) < 0.25
    assert float(az.rhat(loaded)["norm"]) < 1.05
    assert float(az.ess(loaded)["norm"]) > 100
    axes = az.plot_trace(loaded, var_names=["norm"])
    assert axes.shape == (1, 2)


def test_untraced_results_export_outcomes_only(tmp_path):
    result = sim.race(sim.dynamics.random_walk(0.5), ANNULUS, jnp.array([2.0, 0.0]), n_chains=50,
                      max_steps=2000, seed=0, progress=False)
    idata = result.to_inference_data()
    assert "posterior" not in idata.groups() and idata.sample_stats["outcome"].size == 50
    result.save(tmp_path)
    assert not (tmp_path / "trace.nc").exists() and sim.load_result(tmp_path).trace is None


@pytest.mark.parametrize("kwargs, error, word", [
    ({"trace_every": 0}, ValueError, "trace_every"),
    ({"trace_every": 2.5}, ValueError, "trace_every"),
    ({"observables": {"a": lambda x: x[0]}}, ValueError, "trace_every"),
    ({"trace_every": 5, "observables": {"a": 3}}, TypeError, "observables"),
    ({"trace_every": 5, "observables": {"a": lambda x: x}}, ValueError, "scalar"),
    ({"trace_every": 5, "observables": {"norm": lambda x: x[0]}}, ValueError, "clash"),
    ({"trace_every": 1, "trace_memory_limit": 10**6}, ValueError, "trace_every=1"),
])
def test_bad_trace_requests_are_refused_before_compiling(no_compile, kwargs, error, word):
    with pytest.raises(error, match=word):
        sim.race(sim.dynamics.random_walk(0.1), NEVER, jnp.zeros(2), n_chains=1000, max_steps=10_000,
                 progress=False, **kwargs)


def test_default_memory_limit_refuses_an_oversized_trace(no_compile):
    """10^6 chains x 10^6 draws would be terabytes: refused with the size in the message."""
    with pytest.raises(ValueError, match="GiB"):
        sim.race(sim.dynamics.random_walk(0.1), NEVER, jnp.zeros(2), n_chains=10**6, max_steps=10**6,
                 trace_every=1, progress=False)


PEAK_RSS_SCRIPT = r"""
import json, resource, jax.numpy as jnp, simulator as sim
from simulator.engine import traces
never = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
sim.race(sim.dynamics.random_walk(0.1), never, jnp.zeros(2), n_chains=64, max_steps=20, trace_every=5,
         progress=False)                                   # warm up: imports, first compile
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
n, steps, every = 100_000, 2000, 20
r = sim.race(sim.dynamics.random_walk(0.1), never, jnp.zeros(2), n_chains=n, max_steps=steps,
             trace_every=every, progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
width = sum(v[0, 0].size for v in r.trace.values())
bound = traces.trace_bytes(n, steps // every + 1,
                           width, 4)
print(json.dumps({"delta": after - before, "bound": bound, "censored": r.counts["censored"]}))
"""


def test_trace_memory_of_a_100k_chain_run_stays_under_the_bound():
    """Peak RSS growth of a 10^5-chain traced run (2000 steps, K = 20, width 6) against the stated bound.
    Allowance 200 MB for the untraced engine (lanes, per-chain outcomes, final states, XLA buffers). The
    check can fail: storing every step instead would take 10^5 x 2000 x 6 x 4 B = 4.8 GB."""
    out = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["censored"] == 100_000
    assert m["delta"] <= m["bound"] + 200 * 2**20, m


FLAT_SCRIPT = r"""
import json, resource, sys, jax.numpy as jnp, simulator as sim
steps = int(sys.argv[1])
never = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
sim.race(sim.dynamics.random_walk(0.1), never, jnp.zeros(2), n_chains=256, max_steps=steps,
         trace_every=steps // 100, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def test_peak_memory_is_flat_in_max_steps():
    """256 traced chains (100 draws each) for 10^3 and 10^5 steps, each in a fresh process: peak RSS may
    differ by at most 15 % (benchmarks/memory.py measured 1.4 % up to 10^6). Keeping every step would add
    256 x 10^5 x 2 x 4 B = 200 MB to a ~350 MB process (57 %), so the check can fail."""
    peaks = []
    for steps in (1_000, 100_000):
        out = subprocess.run([sys.executable, "-c", FLAT_SCRIPT, str(steps)], capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-1000:]
        peaks.append(float(out.stdout.strip().splitlines()[-1]))
    assert max(peaks) / min(peaks) < 1.15, peaks


def test_final_positions_by_outcome():
    """kind='final': one draw per chain with its outcome as a coordinate; outcome= keeps one target's
    chains, and az.summary of those gives numbers (every entry inside the inner disc)."""
    import arviz as az
    result = sim.race(sim.dynamics.random_walk(0.3), ANNULUS, jnp.array([2.0, 0.0]), n_chains=300, max_steps=5000,
                      seed=4, progress=False)
    every = result.to_inference_data(kind="final").posterior
    np.testing.assert_allclose(every["position"].values[0], result.position)
    assert list(every["outcome"].values) == [result.labels[int(c)] for c in result.outcome]
    inner = result.to_inference_data(kind="final", outcome="inner")
    mine = result.position[result.outcome == 0]
    np.testing.assert_allclose(inner.posterior["position"].values[0], mine)
    summary = az.summary(inner, var_names=["position", "stop_step"], kind="stats")
    assert np.isfinite(summary["mean"]).all() and len(summary) == 3
    assert np.linalg.norm(mine, axis=1).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="name"):
        result.to_inference_data(kind="final", outcome="nowhere")


def test_stationary_kind_refuses_races_and_drops_burn_in():
    run = stationary_run()
    idata = run.to_inference_data(kind="stationary", burn_in=0.5)
    assert idata.posterior.sizes["draw"] == run.trace_steps.size - int(0.5 * run.trace_steps.size)
    assert int(idata.posterior["draw"].values[0]) == int(run.trace_steps[int(0.5 * run.trace_steps.size)])
    racing = sim.race(sim.dynamics.random_walk(0.3), ANNULUS, jnp.array([2.0, 0.0]), n_chains=20, max_steps=5000,
                      trace_every=10, progress=False)
    with pytest.raises(ValueError, match="no chain stopped"):
        racing.to_inference_data(kind="stationary")
    with pytest.raises(ValueError, match="kind"):
        racing.to_inference_data(kind="samples")


def test_the_default_export_of_a_race_with_stopping_chains_works_in_arviz():
    """Issue 37: az.summary, az.ess and az.rhat were all NaN on the default export of a race whose chains
    stop (NaN draws after each stop). Now a stopped chain's later draws repeat its last one (the stopped
    process X_min(t, tau)); after_stop="nan" keeps the record as traced."""
    import arviz as az
    import matplotlib
    matplotlib.use("Agg")
    kernel = sim.dynamics.langevin(lambda x: 0.1 * jnp.sum(x * x), 0.02)
    result = sim.race(kernel, ANNULUS, jnp.array([2.0, 0.0]), n_chains=12, max_steps=3000, seed=1, trace_every=25,
                      observables={"x0": lambda x: x[0]}, progress=False)
    assert np.all(result.outcome != sim.outcomes.CENSORED) and np.unique(result.stop_step).size > 6   # ragged
    idata = result.to_inference_data()
    assert idata.attrs["after_stop"] == "hold"
    post = idata.posterior
    recorded = result.stop_step // 25 + 1            # draws 0 .. stop // K are the path itself
    for c in range(12):
        np.testing.assert_array_equal(post["x0"].values[c, :recorded[c]], result.trace["x0"][c, :recorded[c]])
        assert np.all(post["x0"].values[c, recorded[c]:] == result.trace["x0"][c, recorded[c] - 1])
    summary = az.summary(idata, var_names=["x0", "potential", "position"])
    assert np.all(np.isfinite(summary[["mean", "sd", "ess_bulk", "r_hat"]].values))
    assert np.isfinite(float(az.ess(idata)["x0"])) and np.isfinite(float(az.rhat(idata)["x0"]))
    assert az.plot_trace(idata, var_names=["x0"]).shape == (1, 2)
    raw = result.to_inference_data(after_stop="nan").posterior["x0"].values
    np.testing.assert_array_equal(np.isfinite(raw), np.arange(raw.shape[1])[None, :] < recorded[:, None])
    with pytest.raises(ValueError, match="after_stop"):
        result.to_inference_data(after_stop="zero")


def test_sampling_needs_no_dummy_target_and_does_not_warn():
    """Issue 37: kind="stationary" needed a target that is never entered, then warned of 100 % censoring.
    sim.sample runs the chains to n_steps, traces without a residual variable, and warns of nothing."""
    import warnings
    import arviz as az
    with warnings.catch_warnings():
        warnings.simplefilter("error", sim.RaceWarning)
        result = sim.sample(sim.dynamics.langevin(lambda x: 0.5 * jnp.sum(x * x), 0.1), jnp.zeros(2), n_chains=8,
                            n_steps=4000, trace_every=10, seed=0, progress=False)
    assert result.warnings == [] and set(result.trace) == {"potential", "norm", "position"}
    assert result.counts["censored"] == 8 and "warning" not in result.summary()
    summary = az.summary(result.to_inference_data(kind="stationary", burn_in=0.5), var_names=["potential"])
    # E|x|^2/2 = T = 1 under exp(-|x|^2/2) in 2-D; 1,600 correlated draws: tolerance 0.25 (as above)
    assert abs(float(summary.loc["potential", "mean"]) - 1.0) < 0.25 and float(summary.loc["potential", "r_hat"]) < 1.05
