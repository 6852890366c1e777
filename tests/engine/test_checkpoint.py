"""Checkpoint and resume: atomic saves, refusals, and kill -9 then resume = an uninterrupted run, bitwise."""
import os
import signal
import subprocess
import sys
import time

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import simulator as sim
from simulator import outcomes
from helpers import HEAVY_TAILED as KERNEL, HEAVY_TAILED_SETTINGS as SETTINGS, HEAVY_TAILED_TARGETS as TARGETS
from helpers import assert_same

@pytest.fixture(scope="module")
def uninterrupted():
    return sim.race(KERNEL, TARGETS, jnp.array([1.0]), **SETTINGS)


CHILD = """
import sys, jax.numpy as jnp, simulator as sim
sys.path.insert(0, {tests!r})
from helpers import HEAVY_TAILED as KERNEL, HEAVY_TAILED_TARGETS as TARGETS, HEAVY_TAILED_SETTINGS as SETTINGS
sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint={folder!r}, checkpoint_every=0.0, **SETTINGS)
"""


def test_kill_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    """SIGKILL the run in a subprocess once it has saved a checkpoint and is still going; resume here."""
    folder = tmp_path / "ck"
    code = CHILD.format(tests=os.path.dirname(os.path.dirname(__file__)), folder=str(folder))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    path = folder / "checkpoint.npz"
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None:
        if path.is_file():
            with np.load(path) as data:
                if int(data["blocks"]) >= 3 and not bool(data["meta.done"]):
                    break
        time.sleep(0.05)
    assert child.poll() is None, "the run ended before it could be killed: " + child.stderr.read().decode()[-500:]
    child.send_signal(signal.SIGKILL)
    child.wait()
    with np.load(path) as data:
        assert not bool(data["meta.done"])
        killed_at = int(data["next_chain"]), int(np.sum(data["outcome"] != sim.outcomes.RUNNING))
    assert killed_at[1] < SETTINGS["n_chains"], killed_at     # some chains were still unfinished
    resumed = sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint=folder, resume=True, **SETTINGS)
    assert_same(resumed, uninterrupted)


def test_finished_checkpoint_resumes_instantly_and_is_never_overwritten(tmp_path, uninterrupted):
    folder = tmp_path / "ck"
    first = sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint=folder, **SETTINGS)
    assert_same(first, uninterrupted)
    with pytest.raises(ValueError, match="resume=True"):
        sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint=folder, **SETTINGS)
    again = sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint=folder, resume=True, **SETTINGS)
    assert_same(again, uninterrupted)
    assert again.work["blocks"] == first.work["blocks"]          # nothing was run again
    other = {**SETTINGS, "seed": 1}
    with pytest.raises(ValueError, match="different configuration"):
        sim.race(KERNEL, TARGETS, jnp.array([1.0]), checkpoint=folder, resume=True, **other)


def test_checkpointing_block_gives_each_race_its_own_folder(tmp_path):
    small = {**SETTINGS, "n_chains": 200, "max_steps": 2000}
    with sim.checkpointing(tmp_path):
        a = sim.race(KERNEL, TARGETS, jnp.array([1.0]), **small)
        b = sim.race(KERNEL, TARGETS, jnp.array([2.0]), **small)
    assert len(list(tmp_path.iterdir())) == 2
    with sim.checkpointing(tmp_path, resume=True):
        again = sim.race(KERNEL, TARGETS, jnp.array([2.0]), **small)
    assert_same(again, b)
    assert not np.array_equal(a.stop_step, b.stop_step)


def test_resume_without_a_folder_is_refused():
    with pytest.raises(ValueError, match="checkpoint"):
        sim.race(KERNEL, TARGETS, jnp.array([1.0]), n_chains=10, max_steps=10, resume=True, progress=False)


def test_cli_checkpoint_then_resume(tmp_path):
    from helpers import stabsim
    args = ["run", "annulus", "--chains", "200", "--steps", "20000", "--set", "dims=2", "--no-progress"]
    first = stabsim(*args, "--out", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "ck"))
    assert first.returncode == 0, first.stderr
    assert len([p for p in (tmp_path / "ck").iterdir() if p.is_dir()]) == 2   # plain and bridge races
    assert (tmp_path / "ck" / "run.json").is_file()                           # what --resume must match
    refused = stabsim(*args, "--out", str(tmp_path / "b"), "--checkpoint", str(tmp_path / "ck"))
    assert refused.returncode == 2 and "resume" in refused.stderr
    resumed = stabsim(*args, "--out", str(tmp_path / "c"), "--resume", str(tmp_path / "ck"))
    assert resumed.returncode == 0, resumed.stderr
    import json
    rows = [json.loads((tmp_path / d / "result.json").read_text())["rows"] for d in ("a", "c")]
    assert [r["counts"] for r in rows[0]] == [r["counts"] for r in rows[1]]
    # A damaged checkpoint is a file that cannot be read: exit status 1 (it was 2, the usage status; 38.11).
    damaged = next(p for p in (tmp_path / "ck").iterdir() if p.is_dir()) / "checkpoint.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    broken = stabsim(*args, "--out", str(tmp_path / "d"), "--resume", str(tmp_path / "ck"))
    assert broken.returncode == 1 and str(damaged) in broken.stderr, broken.stderr
    assert broken.stderr.count("\n") == 1 and "delete it" in broken.stderr


def line_fit_race(labels, centre):
    """SGD on y = theta x, stopped within 0.05 of centre; the functions close over labels and centre."""
    x = jnp.linspace(-1.0, 1.0, 8)

    def loss(theta, batch):
        xb, yb = batch
        return jnp.mean((theta[0] * xb - yb) ** 2)

    def near(theta):
        return jnp.abs(theta[0] - centre)
    kernel = sim.dynamics.sgd(loss, (x, jnp.asarray(labels)), optax.sgd(0.1), None)
    return sim.race(kernel, [sim.Target("near", near, 0.05)], jnp.array([0.0]), n_chains=4, max_steps=200,
                    progress=False)


def test_learning_races_on_other_data_get_their_own_checkpoints(tmp_path):
    # The functions have the same names in both races; the kernel names its data by a digest, so the second
    # race on other labels neither collides with nor resumes the first.
    x = np.linspace(-1.0, 1.0, 8)
    with sim.checkpointing(tmp_path):
        up = line_fit_race(x, 1.0)
        with pytest.warns(sim.RaceWarning, match="censored"):
            down = line_fit_race(-x, 1.0)
    assert len(list(tmp_path.iterdir())) == 2
    assert up.config["kernel"]["data"] != down.config["kernel"]["data"]
    assert np.all(up.outcome == 0) and np.all(down.outcome == outcomes.CENSORED)   # down goes to -1, never near +1


def test_two_races_with_one_identity_in_a_block_are_refused_before_compiling(tmp_path, monkeypatch):
    # Same data and function names, another value closed over: the identity cannot tell them apart, and the
    # second would resume the first's checkpoint; it is refused, naming the cause.
    x = np.linspace(-1.0, 1.0, 8)
    with sim.checkpointing(tmp_path):
        line_fit_race(x, 1.0)
        import simulator.engine.race as engine
        monkeypatch.setattr(engine, "build_lane_functions", lambda *a, **k: pytest.fail("reached compilation"))
        with pytest.raises(ValueError, match="identity of an earlier one"):
            line_fit_race(x, -1.0)
    assert len(list(tmp_path.iterdir())) == 1


def two_tube_curve(**options):
    """Two targets (a tube of codimension 2 and one of 3 in R^4), small enough to run in a second."""
    targets = [sim.Target("two", lambda x: jnp.linalg.norm(x[2:])),
               sim.Target("three", lambda x: jnp.linalg.norm(x[1:]))]
    return sim.volume_curve(targets, sim.space.gaussian(4), np.geomspace(1.0, 0.05, 5), n_live=20, n_runs=3,
                            n_moves=10, seed=3, **options)


@pytest.mark.parametrize("stop_after", [3, 80])     # in the first target (63 iterations); in the second
def test_a_volume_curve_stopped_then_resumed_equals_an_uninterrupted_one(tmp_path, monkeypatch, stop_after):
    # Ctrl-C after the stop_after-th iteration's save (a save every iteration): resuming continues from it and
    # reproduces every run's ln V bitwise, and the work counters.
    whole = two_tube_curve()
    saves = []

    def interrupt(self, loop, elapsed):
        self.save(loop, elapsed)
        saves.append(1)
        if len(saves) == stop_after:
            raise KeyboardInterrupt
    monkeypatch.setattr(sim.engine.checkpoint.Saver, "maybe_save", interrupt)
    with pytest.raises(KeyboardInterrupt):
        two_tube_curve(checkpoint=tmp_path, checkpoint_every=0.0)
    monkeypatch.undo()
    first_done = stop_after > max(whole.work["per_target"]["two"]["iterations"])    # its runs move in one batch
    assert first_done == (stop_after == 80) == ("t0.log_volume" in np.load(tmp_path / "checkpoint.npz"))
    starts = []     # targets whose first live points are drawn again: only those not begun before the stop
    original_start = sim.rare.nested.NestedDriver.start
    monkeypatch.setattr(sim.rare.nested.NestedDriver, "start", lambda self: starts.append(self.index)
                        or original_start(self))
    again = two_tube_curve(checkpoint=tmp_path, resume=True)
    monkeypatch.undo()
    assert starts == ([] if first_done else [1])
    for name in ("two", "three"):
        np.testing.assert_array_equal(again.log_volume_runs[name], whole.log_volume_runs[name])
        assert again.work["per_target"][name] == whole.work["per_target"][name]
    assert again.acceptance == whole.acceptance and again.config["checkpoint"] == str(tmp_path)
    with pytest.raises(ValueError, match="resume=True"):        # a finished checkpoint is never overwritten
        two_tube_curve(checkpoint=tmp_path)


def test_ctrl_c_during_a_volume_curve_saves_and_resume_continues_it(tmp_path, monkeypatch, ctrl_c):
    # A real SIGINT in the first dispatch of the second target (one iteration; no periodic save due): the
    # driver saves the live points at the dispatch boundary and raises KeyboardInterrupt; --resume continued
    # afresh before (issue 38.6). The resumed curve equals an uninterrupted one bitwise.
    import signal
    whole = two_tube_curve()
    calls = []
    original = sim.rare.nested.NestedDriver._dispatch

    def dispatch(self):
        original(self)
        calls.append(self.index)
        if calls.count(1) == 1:
            signal.raise_signal(signal.SIGINT)
    monkeypatch.setattr(sim.rare.nested.NestedDriver, "_dispatch", dispatch)
    with pytest.raises(KeyboardInterrupt):
        two_tube_curve(checkpoint=tmp_path, checkpoint_every=3600.0)
    monkeypatch.undo()
    saved = np.load(tmp_path / "checkpoint.npz")
    assert "t0.log_volume" in saved and int(saved["live.index"]) == 1 and not bool(saved["meta.done"])
    again = two_tube_curve(checkpoint=tmp_path, resume=True)
    for name in ("two", "three"):
        np.testing.assert_array_equal(again.log_volume_runs[name], whole.log_volume_runs[name])


def test_posterior_probabilities_of_other_functions_get_their_own_checkpoints(tmp_path):
    # The residuals have one name for every function; posterior_probability passes its data as depends_on,
    # so two functions in one checkpointing block get two folders (not a refusal, not a shared checkpoint).
    x = sim.boolean.inputs(2)
    options = dict(n_live=10, n_runs=2, n_moves=5, seed=1, progress=False)
    with sim.checkpointing(tmp_path):
        sim.posterior_probability((2, 3, 1), x[:2], [0, 1], x[2:], [1, 1], **options)
        sim.posterior_probability((2, 3, 1), x[:2], [0, 1], x[2:], [1, 0], **options)
        with pytest.raises(ValueError, match="identity of an earlier one"):
            sim.posterior_probability((2, 3, 1), x[:2], [0, 1], x[2:], [1, 0], **options)
    assert len(list(tmp_path.iterdir())) == 2
