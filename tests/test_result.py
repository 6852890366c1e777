"""Saving and loading a result is lossless."""
import json

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim


@pytest.fixture(scope="module")
def result():
    targets = [sim.Target("inner", lambda x: jnp.linalg.norm(x) - 0.5),
               sim.Target("outer", lambda x: 2.0 - jnp.linalg.norm(x))]
    return sim.race(sim.dynamics.mala(lambda x: 0.5 * jnp.sum(x**2), 0.05), targets,
                    jnp.array([1.0, 0.0]), n_chains=300, max_steps=300, seed=4, progress=False)


def test_round_trip(tmp_path, result):
    result.save(tmp_path / "run")
    loaded = sim.load_result(tmp_path / "run")
    assert loaded.counts == result.counts
    for name in ["inner", "outer", "censored"]:
        assert loaded.probability(name) == result.probability(name)
        np.testing.assert_array_equal(loaded.cumulative_incidence(name).value,
                                      result.cumulative_incidence(name).value)
    assert loaded.ratio("inner", "outer") == result.ratio("inner", "outer")
    np.testing.assert_array_equal(loaded.outcome, result.outcome)
    np.testing.assert_array_equal(loaded.hit_step, result.hit_step)
    for key in result.state:
        np.testing.assert_array_equal(loaded.state[key], result.state[key])
    assert loaded.config == json.loads(json.dumps(result.config))
    assert loaded.acceptance() == result.acceptance()


def test_summary_json_is_readable(tmp_path, result):
    result.save(tmp_path)
    summary = json.loads((tmp_path / "result.json").read_text())
    assert summary["counts"] == result.counts
    assert summary["config"]["kernel"]["name"] == "mala"
    assert summary["config"]["seed"] == 4


def test_load_refuses_a_folder_without_a_result(tmp_path):
    with pytest.raises(FileNotFoundError, match="result.json"):
        sim.load_result(tmp_path)


# ---- the result family (issue 37): a few lines each, target_names, warnings, save and load_result ----------
@pytest.fixture(scope="module")
def curve():
    space = sim.space.gaussian(3)
    targets = [sim.Target("tube", lambda x: jnp.linalg.norm(x[:2])), sim.Target("slab", lambda x: jnp.abs(x[0]))]
    return sim.volume_curve(targets, space, eps=[1.0, 0.3, 0.1], n_live=40, n_runs=4, seed=2, progress=False)


def test_a_volume_curve_saves_and_loads_losslessly(tmp_path, curve):
    curve.save(tmp_path / "curve")
    loaded = sim.load_result(tmp_path / "curve")
    assert isinstance(loaded, sim.VolumeCurve) and loaded.target_names == ("tube", "slab")
    np.testing.assert_array_equal(loaded.eps, curve.eps)
    for name in curve.names:
        np.testing.assert_array_equal(loaded.log_volume_runs[name], curve.log_volume_runs[name])
        assert loaded.acceptance[name] == curve.acceptance[name]
        assert loaded.volume(name, 0.1) == curve.volume(name, 0.1)
    assert loaded.ratio("tube", "slab", eps=0.3) == curve.ratio("tube", "slab")[1]     # eps by value
    assert loaded.warnings == curve.warnings and loaded.summary() == curve.summary()


def test_a_volume_curve_save_with_another_saves_arrays_is_refused(tmp_path, curve):
    curve.save(tmp_path / "a")
    other = sim.volume_curve([sim.Target("tube", lambda x: jnp.linalg.norm(x[:2])),
                              sim.Target("slab", lambda x: jnp.abs(x[0]))], sim.space.gaussian(3),
                             eps=[1.0, 0.3, 0.1], n_live=40, n_runs=4, seed=3, progress=False)
    other.save(tmp_path / "b")
    (tmp_path / "a" / "curves.npz").write_bytes((tmp_path / "b" / "curves.npz").read_bytes())
    with pytest.raises(ValueError, match="different saves"):
        sim.load_result(tmp_path / "a")
    (tmp_path / "b" / "curves.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="curves.npz is not readable"):
        sim.load_result(tmp_path / "b")


def test_every_result_prints_a_few_lines_and_shares_the_family(tmp_path, result, curve):
    import warnings
    walk = sim.dynamics.lattice_walk(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = sim.splitting(walk, [sim.Target("top", lambda x: 6 - x[0])], jnp.array([1.0]), score=lambda x: x[0],
                              failure=lambda x: x[0] <= 0, n_replicas=20, n_runs=3, max_steps=1000, progress=False)
        sweep = sim.race(lambda scale: sim.dynamics.random_walk(scale), [sim.Target("a", lambda x: 2 - x[0])],
                         jnp.zeros(1), n_chains=10, max_steps=20, progress=False, sweep={"scale": [0.3, 0.6]})
    for item in (result, split, curve, sweep):
        text = repr(item)
        # a volume curve printed 75 KB
        assert text == str(item) and len(text.splitlines()) <= 12 and len(text) < 2500, text
        assert isinstance(item.warnings, list) and item.target_names and item.summary() in text
        assert set(item.target_names) <= set(item.outcomes)
    for item, kind in ((result, sim.RaceResult), (split, sim.SplittingResult), (curve, sim.VolumeCurve)):
        item.save(tmp_path / kind.__name__)
        assert isinstance(sim.load_result(tmp_path / kind.__name__), kind)
