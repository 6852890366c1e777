"""Checkpoints of a running race: one file, written atomically at block boundaries.

``race(..., checkpoint=DIR, checkpoint_every=SECONDS)`` writes DIR/checkpoint.npz
(temporary file, fsync, rename) at most every SECONDS, and once more at the end.
It holds the race program's device carry, read at a dispatch boundary: the lanes
(positions, kernel states, keys, residuals, steps), the per-chain buffers (outcomes,
stop steps, final states, stop labels, trace) and the loop's counters (next chain to
start, blocks), with the driver's counters and a hash of the race's identity. A chain depends only
on (seed, chain index), so ``race(..., checkpoint=DIR, resume=True)`` continues
from the file and returns results bitwise equal to an uninterrupted run.

The identity hashed is ``RaceConfig.identity_hash`` (``engine.config``): kernel
name and parameters, targets (name, eps, distance), start positions, chain range,
max_steps, seed, bridge, precision, domain, trace settings. Batch, block size and
compaction are left out (they change speed, not results). User functions enter by name only:
editing a potential's body without renaming it is not detected.

``sim.volume_curve`` saves its nested-sampling runs the same way (``rare.nested``:
the live points and counters of the target in progress, and the targets done).

``checkpointing(ROOT, resume)`` makes every race and volume curve inside the ``with`` block
checkpoint to ROOT/<identity hash> (so a scenario with many races resumes each
one; the ``stabsim run --checkpoint/--resume`` flags use it). Two runs of one
block with the same hash are refused (ValueError): their functions share names,
and the second would resume the first's checkpoint. The learning kernels name
their data by a digest (``dynamics.base.data_digest``), so races on other data differ.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import jax
import numpy as np

from ..io.files import UnreadableFileError, atomic_path, read_npz, writable_folder
from . import driver as driving

FILE = "checkpoint.npz"
_ROOT: list = []          # stack of (root folder, resume, digests used) set by ``checkpointing``


def identity_digest(fields: dict, arrays=None) -> str:
    """sha256 (16 hex digits) of ``fields`` as sorted JSON and the bytes of the leaves of ``arrays`` (a
    pytree, e.g. the start positions): the identity a checkpoint is saved and resumed under."""
    text = json.dumps(fields, sort_keys=True, default=str).encode()
    data = b"".join(np.ascontiguousarray(leaf).tobytes() for leaf in jax.tree.leaves(arrays))
    return hashlib.sha256(text + data).hexdigest()[:16]


@contextlib.contextmanager
def checkpointing(root, resume: bool = False):
    """Every race and volume curve in this block checkpoints to ``root/<identity hash>`` (and resumes it if
    ``resume``).

    ``root`` is made and checked writable at once. With ``resume`` and no checkpoint under ``root``
    at all, one warning says that everything starts afresh.
    """
    root = writable_folder("checkpoint", root)
    if resume and not any(root.glob(f"*/{FILE}")):
        warnings.warn(f"checkpoint: nothing to resume in {root}; everything starts afresh", stacklevel=3)
    _ROOT.append((root, bool(resume), set()))
    try:
        yield
    finally:
        _ROOT.pop()


def resolve(checkpoint, resume, digest: str) -> tuple[Path | None, bool]:
    """The folder to use and whether to resume: the explicit argument, else the active ``checkpointing``."""
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a folder path (str or os.PathLike), got {type(checkpoint).__name__}")
        return Path(checkpoint), bool(resume)
    if _ROOT:
        root, root_resume, used = _ROOT[-1]
        if digest in used:
            raise ValueError(f"checkpoint: a second run (race, splitting or volume curve) in this checkpointing block "
                             f"has the identity of an earlier one (hash {digest}): user functions enter it by name "
                             "only, so two runs whose functions share names but close over other values would share "
                             "a checkpoint; give them distinct names, or a volume curve depends_on=its data (or run "
                             "them in separate checkpointing blocks)")
        used.add(digest)
        return root / digest, root_resume or bool(resume)
    if resume:
        raise ValueError("resume=True needs checkpoint=DIR (or an active sim.checkpointing(...) block)")
    return None, False


def prepare_folder(folder: Path, resume: bool, digest: str, explicit: bool) -> bool:
    """Make ``folder`` (checked writable) and say whether it holds a checkpoint to resume.

    Refuses an existing checkpoint without ``resume``, another run's checkpoint, and an unreadable
    one. ``explicit`` (checkpoint=DIR, not a ``checkpointing`` block): warn when there is nothing to resume.
    """
    writable_folder("checkpoint", folder)
    for leftover in folder.glob(f".{FILE}.*"):     # a temporary file of a save that was killed
        leftover.unlink()
    path = folder / FILE
    if not path.is_file():
        if resume and explicit:
            warnings.warn(f"checkpoint: nothing to resume in {folder}; starting afresh", stacklevel=3)
        return False
    if not resume:
        raise ValueError(f"checkpoint: {folder} already holds a checkpoint; pass resume=True to continue it, "
                         "or choose another folder (it is never overwritten)")
    saved = str(load(folder, keys=("meta.hash",))["meta.hash"])
    if saved != digest:
        raise ValueError(f"checkpoint: the run saved in {folder} has a different configuration "
                         f"(hash {saved}, this race {digest}); refusing to resume it")
    return True


def save(folder: Path, arrays: dict, digest: str, done: bool) -> None:
    """All of ``arrays`` plus the hash, in one atomically replaced file."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["meta.hash"] = np.asarray(digest)
    payload["meta.done"] = np.asarray(done)
    with atomic_path(folder / FILE) as tmp, open(tmp, "wb") as f:
        np.savez(f, **payload)


# Driver counters kept in a checkpoint, besides the device carry (lanes, per-chain buffers, counters).
SCALARS = ("lane_steps", "dispatches", "compiles")
FORMAT = "race-device-1"        # the layout below; checkpoints of the older host loop are refused


def snapshot(driver, elapsed: float) -> dict:
    """Everything a race driver needs to continue: the device carry (lanes, per-chain buffers,
    counters) read once, the lane widths so far and the driver's counters."""
    carry = driving.fetch(driver.carry)
    buffers = jax.tree.map(lambda a: a[: driver.n_chains], carry.buffers)     # the chains, not the capacity
    out = {f"lanes.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(carry.lanes))}
    out.update({f"final.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(buffers.state))})
    out.update({name: np.asarray(value) for name, value in carry.counters._asdict().items()})
    out.update(outcome=buffers.outcome, stop_step=buffers.stop_step,
               batch_sizes=np.asarray(driver.batch_sizes), elapsed=np.asarray(elapsed),
               **{"meta.format": np.asarray(FORMAT)},
               **{name: np.asarray(getattr(driver, name)) for name in SCALARS})
    for name in ("label", "trace"):
        if getattr(buffers, name) is not None:
            out[name] = getattr(buffers, name)
    return out


def restore(driver, data: dict) -> None:
    """Put a ``snapshot`` (as read by ``load``) back into a started driver (its empty carry gives the tree
    structure and placement to restore into)."""
    if str(data.get("meta.format", "")) != FORMAT:
        raise UnreadableFileError("checkpoint: written by an older stabsim engine (host loop), which this version "
                         "cannot continue; delete it to start afresh")
    driver.batch_sizes = [int(b) for b in data["batch_sizes"]]
    fresh = driver.empty(driver.batch_sizes[-1])
    lanes = jax.tree.unflatten(jax.tree.structure(fresh.lanes),
                               [data[f"lanes.{i}"] for i in range(len(jax.tree.leaves(fresh.lanes)))])
    state = jax.tree.unflatten(jax.tree.structure(fresh.buffers.state),
                               [data[f"final.{i}"] for i in range(len(jax.tree.leaves(fresh.buffers.state)))])
    saved = fresh.buffers._replace(outcome=data["outcome"], stop_step=data["stop_step"], state=state,
                                   label=data.get("label"), trace=data.get("trace"))
    # the saved rows are the chains; the rows up to the buffers' capacity stay as the empty carry has them
    buffers = jax.tree.map(lambda empty, rows: np.concatenate([rows, np.asarray(empty)[rows.shape[0]:]]),
                           fresh.buffers, saved)
    counters = type(fresh.counters)(*(data[name] for name in fresh.counters._fields))
    place = driver.programs.place
    driver.carry = type(fresh)(place.lanes(lanes), place.replicated(buffers), place.replicated(counters))
    for name in SCALARS:
        setattr(driver, name, int(data[name]))
    driver.blocks, driver.finished = int(data["blocks"]), int(data["finished"])
    driver.next_chain, driver.running = int(data["next_chain"]), int(data["running"])
    driver.drain_blocks = int(data["drain_blocks"])
    driver.elapsed_before = float(data["elapsed"])
    driver.done = bool(data["meta.done"])


class Saver:
    """Saves a host loop's ``snapshot`` (``snapshot(loop, elapsed) -> arrays``; a race's by default) to
    ``folder`` at most every ``every`` seconds, and at the end."""

    def __init__(self, folder: Path, every: float, digest: str, snapshot=snapshot):
        self.folder, self.every, self.digest, self.snapshot = folder, every, digest, snapshot
        self.last = time.perf_counter()

    def maybe_save(self, loop, elapsed: float) -> None:
        if time.perf_counter() - self.last >= self.every:
            self.save(loop, elapsed)

    def save(self, loop, elapsed: float, done: bool = False) -> None:
        save(self.folder, self.snapshot(loop, elapsed), self.digest, done)
        self.last = time.perf_counter()


def load(folder: Path, keys=None) -> dict:
    """The arrays of ``folder``'s checkpoint (only ``keys`` if given); an UnreadableFileError naming the file
    if it is truncated or damaged."""
    return read_npz(folder / FILE, "checkpoint", keys, hint="; delete it to start afresh")
