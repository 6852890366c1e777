"""SIGKILL at random points of a save and of a checkpoint: the folder holds the old complete state or
the new one, never a mix, and a killed race resumes to the uninterrupted result bitwise.

The kill times are random but seeded (reproducible). The default run kills a few times; ``-m slow``
runs the same checks with many more kills.
"""
import os
import random
import signal
import subprocess
import sys
import time

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim
from helpers import HEAVY_TAILED, HEAVY_TAILED_SETTINGS, HEAVY_TAILED_TARGETS, assert_same
from simulator.engine import checkpoint as ckpt

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAVER = """
import sys
sys.path.insert(0, {tests!r})
from kill_data import A, B
i = 0
while True:
    (A if i % 2 == 0 else B).save({folder!r})
    print(i, flush=True)
    i += 1
"""


def spawn(code):
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=TESTS)


def kill_saves(tmp_path, kills, seed):
    from kill_data import A, B
    rng = random.Random(seed)
    for k in range(kills):
        folder = tmp_path / f"r{k}"
        child = spawn(SAVER.format(tests=os.path.join(TESTS, "faults"), folder=str(folder)))
        assert child.stdout.readline(), child.stderr.read().decode()[-800:]    # one save done
        time.sleep(rng.uniform(0.0, 0.4))                                     # somewhere in a later save
        child.send_signal(signal.SIGKILL)
        child.wait()
        loaded = sim.load_result(folder)
        expected = A if loaded.n_chains == A.n_chains else B
        assert_same(loaded, expected)
        assert loaded.config == expected.config


def test_a_killed_save_leaves_one_complete_result(tmp_path):
    kill_saves(tmp_path, kills=3, seed=0)


@pytest.mark.slow
def test_a_killed_save_leaves_one_complete_result_many_times(tmp_path):
    kill_saves(tmp_path, kills=25, seed=1)


RACER = """
import sys, jax.numpy as jnp, simulator as sim
sys.path.insert(0, {tests!r})
from helpers import HEAVY_TAILED, HEAVY_TAILED_TARGETS, HEAVY_TAILED_SETTINGS
sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint={folder!r}, checkpoint_every=0.0,
         **HEAVY_TAILED_SETTINGS)
"""


@pytest.fixture(scope="module")
def uninterrupted():
    return sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), **HEAVY_TAILED_SETTINGS)


def kill_after_first_checkpoint(child, folder, delay: float) -> None:
    """SIGKILL ``child`` ``delay`` seconds after its first checkpoint appears in ``folder`` (or it ends)."""
    deadline = time.time() + 120
    while not (folder / ckpt.FILE).is_file() and child.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()


def kill_checkpoints(tmp_path, uninterrupted, kills, seed):
    rng = random.Random(seed)
    for k in range(kills):
        folder = tmp_path / f"ck{k}"
        kill_after_first_checkpoint(spawn(RACER.format(tests=TESTS, folder=str(folder))), folder,
                                    rng.uniform(0.0, 1.5))
        data = ckpt.load(folder)                     # loadable, whatever moment the kill hit
        assert str(data["meta.hash"]) and data["outcome"].shape == (HEAVY_TAILED_SETTINGS["n_chains"],)
        resumed = sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=folder, resume=True,
                           **HEAVY_TAILED_SETTINGS)
        assert_same(resumed, uninterrupted)
        assert not [p for p in folder.iterdir() if p.name != ckpt.FILE]      # no temporary file left


def test_a_killed_checkpoint_resumes_bitwise(tmp_path, uninterrupted):
    kill_checkpoints(tmp_path, uninterrupted, kills=2, seed=0)


@pytest.mark.slow
def test_a_killed_checkpoint_resumes_bitwise_many_times(tmp_path, uninterrupted):
    kill_checkpoints(tmp_path, uninterrupted, kills=10, seed=1)


SPLITTER = """
import sys
sys.path.insert(0, {tests!r})
import simulator as sim
from splitting_cases import ruin
kernel, targets, start, options = ruin(16)
sim.splitting(kernel, targets, start, checkpoint={folder!r}, checkpoint_every=0.0, **options, **{settings!r})
"""
SPLITTING_SETTINGS = dict(n_replicas=200, n_runs=6, max_steps=10**6, seed=2, progress=False)


def kill_splitting(tmp_path, kills, seed):
    from splitting_cases import ruin
    kernel, targets, start, options = ruin(16)
    whole = sim.splitting(kernel, targets, start, **options, **SPLITTING_SETTINGS)
    rng = random.Random(seed)
    for k in range(kills):
        folder = tmp_path / f"split{k}"
        kill_after_first_checkpoint(spawn(SPLITTER.format(tests=TESTS, folder=str(folder),
                                                          settings=SPLITTING_SETTINGS)), folder, rng.uniform(0.0, 1.0))
        resumed = sim.splitting(kernel, targets, start, checkpoint=folder, resume=True, **options,
                                **SPLITTING_SETTINGS)
        for key in whole.runs:
            np.testing.assert_array_equal(whole.runs[key], resumed.runs[key])
        assert not [p for p in folder.iterdir() if p.name != ckpt.FILE]


@pytest.mark.slow     # the default suite resumes an in-process crash bitwise (tests/engine/test_splitting.py)
def test_a_killed_splitting_run_resumes_bitwise(tmp_path):
    kill_splitting(tmp_path, kills=6, seed=1)
