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
