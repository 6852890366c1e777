"""Output locations that cannot be written, full disks, and truncated or hand-corrupted files.

Each case ends in the documented behaviour or in a ValueError/TypeError/OSError that names the
argument or the file; nothing already finished is lost and no folder is left holding a mix.
"""
import errno
import json
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim
from helpers import HEAVY_TAILED, HEAVY_TAILED_TARGETS, assert_same, stabsim
from simulator.engine import checkpoint as ckpt
from simulator.result import RaceResult

WALK = sim.dynamics.random_walk(0.3)
ANNULUS = [sim.Target("inner", lambda x: jnp.linalg.norm(x) - 1.0),
           sim.Target("outer", lambda x: 3.0 - jnp.linalg.norm(x))]


@pytest.fixture(scope="module")
def traced():
    return sim.race(WALK, ANNULUS, jnp.array([2.0, 0.0]), n_chains=64, max_steps=400, seed=1, trace_every=20,
                    progress=False)


@pytest.fixture(scope="module")
def untraced():
    return sim.race(WALK, ANNULUS, jnp.array([2.0, 0.0]), n_chains=50, max_steps=400, seed=2, progress=False)


def hidden_siblings(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


# ---- saving a result ------------------------------------------------------------------------------
def test_saving_over_a_traced_result_leaves_no_stale_trace(tmp_path, traced, untraced):
    """Regression: the old trace.nc stayed, and load_result joined it to the new outcomes."""
    folder = tmp_path / "r"
    traced.save(folder)
    untraced.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["chains.npz", "result.json"]
    loaded = sim.load_result(folder)
    assert loaded.trace is None and loaded.n_chains == 50
    np.testing.assert_array_equal(loaded.outcome, untraced.outcome)
    assert hidden_siblings(folder) == []


def test_save_refuses_a_folder_with_other_files_and_leaves_them(tmp_path, untraced):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=f"directory: {tmp_path} holds files.*notes.txt"):
        untraced.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_save_refuses_a_file_and_an_unwritable_place(tmp_path, untraced, monkeypatch):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="directory: .*/f is a file"):
        untraced.save(tmp_path / "f")
    with pytest.raises(ValueError, match="directory: .*/f is a file"):
        untraced.save(tmp_path / "f" / "r")       # a folder below a regular file cannot exist

    def denied(*args, **kwargs):                   # as root, chmod cannot make a folder unwritable
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(PermissionError, match="directory: cannot write in .*Permission denied"):
        untraced.save(tmp_path / "r")
    monkeypatch.undo()
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("failing", ["savez_compressed", "to_netcdf"])
def test_a_full_disk_during_save_keeps_the_previous_result(tmp_path, traced, untraced, monkeypatch, failing):
    """ENOSPC in the middle of a save (simulated): the error comes through, the folder still holds the
    previous complete result, and no temporary folder is left behind."""
    folder = tmp_path / "r"
    untraced.save(folder)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    if failing == "savez_compressed":
        monkeypatch.setattr(np, "savez_compressed", full)
    else:
        import arviz as az
        monkeypatch.setattr(az.InferenceData, "to_netcdf", full)
    with pytest.raises(OSError, match="No space left"):
        traced.save(folder)
    monkeypatch.undo()
    loaded = sim.load_result(folder)
    assert loaded.n_chains == 50 and loaded.trace is None
    assert hidden_siblings(folder) == []


def test_an_interrupted_swap_is_completed_by_load(tmp_path, traced, untraced):
    """A kill between the two renames of a swap leaves the old folder aside and the new one complete
    beside it: load_result finishes the swap and returns the new result."""
    folder = tmp_path / "r"
    untraced.save(folder)
    traced.save(tmp_path / "staging")
    folder.rename(tmp_path / ".r.old-abc")
    (tmp_path / "staging").rename(tmp_path / ".r.new-abc")
    loaded = sim.load_result(folder)
    assert loaded.n_chains == 64 and loaded.trace is not None
    assert hidden_siblings(folder) == []


# ---- reading a result -----------------------------------------------------------------------------
def corrupt(folder, name, how):
    path = folder / name
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"\x00\xff" * 64)


@pytest.mark.parametrize("name", ["result.json", "chains.npz", "trace.nc"])
@pytest.mark.parametrize("how", ["truncate", "empty", "garbage"])
def test_damaged_files_are_refused_naming_the_file(tmp_path, traced, name, how):
    """Regression (result.json): a truncated file raised a bare JSONDecodeError naming nothing."""
    traced.save(tmp_path / "r")
    corrupt(tmp_path / "r", name, how)
    with pytest.raises(ValueError, match=f"directory: .*{name}"):
        sim.load_result(tmp_path / "r")


def edit_summary(folder, change):
    summary = json.loads((folder / "result.json").read_text())
    change(summary)
    (folder / "result.json").write_text(json.dumps(summary))


@pytest.mark.parametrize("change, word", [
    (lambda s: s.update(format="stabsim.race/0"), "format"),
    (lambda s: s["counts"].update(inner=s["counts"]["inner"] + 1), "counts"),
    (lambda s: s.pop("config"), "config"),
    (lambda s: s.update(files=["chains.npz", "result.json"]), "lists"),
])
def test_hand_edited_summaries_are_refused(tmp_path, traced, change, word):
    traced.save(tmp_path / "r")
    edit_summary(tmp_path / "r", change)
    with pytest.raises(ValueError, match=word):
        sim.load_result(tmp_path / "r")


def test_files_from_two_saves_are_refused(tmp_path, traced, untraced):
    """chains.npz of one save next to result.json and trace.nc of another: a mix, refused."""
    traced.save(tmp_path / "a")
    untraced.save(tmp_path / "b")
    (tmp_path / "a" / "chains.npz").write_bytes((tmp_path / "b" / "chains.npz").read_bytes())
    with pytest.raises(ValueError, match="inconsistent|different saves"):
        sim.load_result(tmp_path / "a")


def test_unknown_outcome_codes_are_refused(tmp_path, untraced):
    with pytest.raises(ValueError, match="outcome: codes \\[7\\]"):
        RaceResult(untraced.target_names, np.full(untraced.n_chains, 7), untraced.stop_step, untraced.state)
    with pytest.raises(ValueError, match="outcome"):
        RaceResult(untraced.target_names, untraced.outcome[:-1], untraced.stop_step, untraced.state)
    good = untraced
    good.save(tmp_path / "r")
    data = dict(np.load(tmp_path / "r" / "chains.npz"))
    data["outcome"] = np.full(good.n_chains, 7)
    np.savez_compressed(tmp_path / "r" / "chains.npz", **data)
    with pytest.raises(ValueError, match="chains.npz"):
        sim.load_result(tmp_path / "r")


def test_missing_result_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory: no result.json"):
        sim.load_result(tmp_path / "nothing-here")


# ---- checkpoints -------------------------------------------------------------------------------
SMALL = dict(n_chains=2000, max_steps=20_000, seed=0, progress=False, batch_size=512)


def test_checkpointing_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="checkpoint: .*/f is a file"):
        with sim.checkpointing(tmp_path / "f"):
            pass
    with pytest.raises(NotADirectoryError, match="checkpoint: cannot write in .*/f/sub"):
        with sim.checkpointing(tmp_path / "f" / "sub"):
            pass


def test_damaged_checkpoint_is_refused_before_compiling(tmp_path, no_compile):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / ckpt.FILE).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=f"checkpoint: {folder / ckpt.FILE} is not readable"):
        sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=folder, resume=True, **SMALL)


def test_resume_with_nothing_to_resume_says_so(tmp_path):
    """Regression: resume=True on an empty folder silently started afresh."""
    with pytest.warns(UserWarning, match="nothing to resume in .*ck; starting afresh"):
        sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=tmp_path / "ck", resume=True,
                 **{**SMALL, "n_chains": 10})
    with pytest.warns(UserWarning, match="nothing to resume in .*root; everything starts afresh"):
        with sim.checkpointing(tmp_path / "root", resume=True):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a real resume does not warn
        sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=tmp_path / "ck", resume=True,
                 **{**SMALL, "n_chains": 10})


def test_a_full_disk_at_a_checkpoint_loses_no_finished_work(tmp_path, monkeypatch):
    """ENOSPC on the third checkpoint (simulated): the race stops with the OSError, the second
    checkpoint is intact, and resuming from it equals an uninterrupted run bitwise."""
    uninterrupted = sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), **SMALL)
    calls = {"n": 0}
    real_save = ckpt.save

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(*args, **kwargs)
    monkeypatch.setattr(ckpt, "save", failing)
    with pytest.raises(OSError, match="No space left"):
        sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=tmp_path / "ck",
                 checkpoint_every=0.0, **SMALL)
    monkeypatch.undo()
    assert not bool(ckpt.load(tmp_path / "ck")["meta.done"])
    resumed = sim.race(HEAVY_TAILED, HEAVY_TAILED_TARGETS, jnp.array([1.0]), checkpoint=tmp_path / "ck",
                       resume=True, **SMALL)
    assert_same(resumed, uninterrupted)


# ---- the command line ---------------------------------------------------------------------------
def test_cli_refuses_an_unwritable_out_before_the_first_race(tmp_path):
    """Regression: --out DIR not writable ran the first race, then died with a 34-line traceback."""
    (tmp_path / "f").write_text("x")
    out = stabsim("run", "annulus", "--chains", "100", "--out", str(tmp_path / "f" / "run"), "--no-progress")
    assert out.returncode == 1, out.stderr
    assert out.stderr.count("\n") == 1 and "--out: cannot write in" in out.stderr
    assert "Traceback" not in out.stderr and not list(tmp_path.glob("**/result.json"))
    debug = stabsim("--debug", "run", "annulus", "--chains", "100", "--out", str(tmp_path / "f" / "run"))
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_cli_refuses_a_checkpoint_root_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    out = stabsim("run", "annulus", "--chains", "100", "--checkpoint", str(tmp_path / "f"),
                  "--out", str(tmp_path / "run"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "is a file" in out.stderr, out.stderr
