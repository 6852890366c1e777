"""The driver: dispatch a compiled device program, wake on a time interval, never per block.

The driver hands the device one dispatch of the race program (``engine.program``)
at a time, with a budget of block steps sized from the measured rate so that a
dispatch lasts about ``POLL_SECONDS``. Between dispatches it reads the loop's
counters (one small device-to-host read), updates the progress bar, acts on
Ctrl-C, writes a checkpoint when one is due, and compacts the lanes when fewer
chains run than the ladder's next width holds. At the end it reads the per-chain
buffers once. Every device-to-host read goes through ``fetch`` (tests count it):
a race reads at most 2 + wall / POLL_SECONDS times, plus one per compaction.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time

import jax
import numpy as np

from . import policy, programs
from .program import Limits

POLL_SECONDS = 0.5
FIRST_BUDGET = 2**20        # lane-steps of the first dispatch, before any rate is measured
MAX_BUDGET = 2**40          # lane-steps of one dispatch (the device counts chunk-steps, in int32)
MAX_GROWTH = 16             # a dispatch's budget grows at most this much over the last one


def fetch(tree):
    """Copy device data to the host: the one place the driver reads the device (tests count it)."""
    return jax.device_get(tree)


@contextlib.contextmanager
def deferred_interrupt():
    """Hold the first Ctrl-C (SIGINT) until the loop asks ``interrupted()`` at a dispatch boundary, so a
    checkpoint written then is consistent; a second Ctrl-C interrupts at once. Outside the main
    thread (where no handler can be set) Ctrl-C behaves as usual; where SIGINT is ignored (a background
    job of a script, ``nohup``) it stays ignored."""
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None or previous == signal.SIG_IGN:
        yield lambda: False
        return
    hit = []

    def hold(signum, frame):
        hit.append(signum)
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)


def dispatch_budget(rate: float | None, last: int | None, seconds: float) -> int:
    """Lane-steps for the next dispatch: about ``seconds`` (the poll interval, or the checkpoint interval if
    shorter: ``checkpoint_every=0`` gives one block per dispatch) at the measured ``rate``, at most
    MAX_GROWTH times the ``last``; FIRST_BUDGET before any rate is measured."""
    if rate is None:
        return min(FIRST_BUDGET, int(seconds * 1e12))
    return int(min(MAX_BUDGET, rate * seconds, last * MAX_GROWTH))


def report(bar, finished: int, running: int, lanes: int, rate: float) -> None:
    """Update the progress bar: chains finished, chains running, lanes, lane-steps per second."""
    bar.update(finished - bar.n)
    bar.set_postfix(running=running, lanes=lanes, lane_steps_per_s=f"{rate:.3g}", refresh=False)


def wake_loop(driver, dispatch, finished, between=None) -> None:
    """The host side of every device program: ``dispatch()`` until ``finished()``; between dispatches
    ``between()`` (e.g. compaction), then Ctrl-C (a consistent checkpoint, then KeyboardInterrupt) and a
    checkpoint when one is due. ``driver`` has ``saver``, ``bar`` and ``elapsed_before`` (a resumed run's
    time); this sets its ``wall_seconds`` and saves a final checkpoint (done)."""
    t0 = time.perf_counter() - driver.elapsed_before
    late = False            # a Ctrl-C during the last dispatch: acted on after the final save
    try:
        with deferred_interrupt() as interrupted:
            while not finished():
                dispatch()
                if finished():
                    break
                if between is not None:
                    between()
                if interrupted():       # Ctrl-C, acted on here where the state is consistent
                    if driver.saver is not None:
                        driver.saver.save(driver, time.perf_counter() - t0)
                    raise KeyboardInterrupt
                if driver.saver is not None:
                    driver.saver.maybe_save(driver, time.perf_counter() - t0)
            late = interrupted()
    except BaseException:
        # A second Ctrl-C (or an error) can leave a dispatch running: wait for it, so that the interpreter
        # never exits under running device work (issue 38.7: rc -11 at exit in 3 of 8 tries).
        with contextlib.suppress(Exception):
            jax.block_until_ready(driver.carry)
        raise
    finally:
        if driver.bar is not None:
            driver.bar.close()
    driver.wall_seconds = time.perf_counter() - t0
    if driver.saver is not None:
        driver.saver.save(driver, driver.wall_seconds, done=True)
    if late:
        raise KeyboardInterrupt


class RaceDriver:
    """Runs a race program (``program.ProgramSet``) to the end: dispatches, progress, Ctrl-C,
    checkpoints, compaction."""

    def __init__(self, programs_set, args, n_chains, compaction, bar, saver=None):
        self.programs, self.args, self.carry = programs_set, args, None
        self.n_chains, self.compaction, self.bar, self.saver = n_chains, compaction, bar, saver
        self.batch_sizes, self.capacity = [], 0
        self.lane_steps = self.blocks = self.finished = self.running = self.drain_blocks = self.next_chain = 0
        self.dispatches = self.compiles = 0
        self.compile_seconds = 0.0
        self.compiled = {}              # program name -> programs of that name compiled by this call
        self.declined = None            # the width whose compaction "auto" declined last
        self.rate = None                # block steps per second, measured
        self.budget = None              # block steps of the last dispatch
        self.block_seconds = None       # wall time of one block, measured
        self.elapsed_before, self.wall_seconds, self.done = 0.0, 0.0, False

    def start(self, width: int, capacity: int) -> None:
        """Empty lanes (``width``) and per-chain buffers (``capacity`` rows) on the device."""
        self.batch_sizes, self.capacity = [width], capacity
        self.carry = self.empty(width)
        self.began = time.perf_counter()

    def empty(self, width: int):
        """A carry of ``width`` empty lanes and empty buffers, on the devices (built on the host)."""
        carry = self.programs.program.empty(self.args, width, self.capacity)
        place = self.programs.place
        return type(carry)(place.lanes(carry.lanes), place.replicated(carry.buffers), place.replicated(carry.counters))

    width = property(lambda self: self.batch_sizes[-1])

    def loop(self):
        wake_loop(self, self._dispatch, lambda: self.done, self._maybe_compact)

    def _executable(self, name, *args, static=()):
        executable, seconds = programs.compiled((self.programs.key, name), lambda: self.programs.jitted(name),
                                                *args, static=static)
        self.count_compile(name, seconds)
        return executable

    def count_compile(self, name: str, seconds: float) -> None:
        """Record one program lookup: ``seconds`` > 0 when it compiled (0.0: from the program cache)."""
        self.compile_seconds += seconds
        if seconds > 0:
            self.compiles += 1
            self.compiled[name] = self.compiled.get(name, 0) + 1

    def _dispatch(self):
        self.budget = self._budget()
        limits = Limits(np.int32(min(2**30, max(1, self.budget // self.chunk))), np.int32(self._compact_at()))
        carry = self.carry._replace(counters=self.carry.counters._replace(chunk_steps=np.int32(0)))
        carry = carry._replace(counters=self.programs.place.replicated(carry.counters))
        run = self._executable("run", carry, self.args, limits)
        began = time.perf_counter()
        self.carry = run(carry, self.args, limits)
        c = fetch(self.carry.counters)            # waits for the dispatch
        seconds = time.perf_counter() - began
        lane_steps, blocks = self.chunk * int(c.chunk_steps), int(c.blocks) - self.blocks
        if lane_steps and seconds > 0:
            self.rate, self.block_seconds = lane_steps / seconds, seconds / max(1, blocks)
        self.lane_steps += lane_steps
        self.blocks, self.finished, self.running = int(c.blocks), int(c.finished), int(c.running)
        self.next_chain, self.drain_blocks = int(c.next_chain), int(c.drain_blocks)
        self.dispatches += 1
        self.done = self.finished == self.n_chains
        self._report()

    chunk = property(lambda self: policy.chunk_width(self.width, self.programs.chunked))

    def _budget(self) -> int:
        seconds = POLL_SECONDS if self.saver is None else min(POLL_SECONDS, self.saver.every)
        return dispatch_budget(self.rate, self.budget, seconds)

    def _compact_at(self) -> int:
        if not self.compaction or self.declined == self.width:     # "auto" declined: reconsidered per dispatch
            return -1
        return policy.compact_threshold(self.width, self.batch_sizes[0], self.programs.n_devices)

    def _maybe_compact(self):
        target = policy.bucket_width(self.running, self.batch_sizes[0], self.programs.n_devices)
        if self.next_chain < self.n_chains or self.running > self.width // 2 or target >= self.width:
            return
        narrow = jax.eval_shape(lambda c: self.programs.program.compact(c, target), self.carry)
        compiled = programs.cached((self.programs.key, "run"), narrow, self.args,
                                   Limits(np.int32(0), np.int32(0)))
        mean_compile = self.compile_seconds / max(1, self.compiles)
        if not policy.should_compact(self.compaction, self.width, self.running, target, compiled,
                                     self.block_seconds, mean_compile, self.drain_blocks, self.programs.chunked):
            self.declined = self.width
            return
        self.carry = self._executable("compact", self.carry, static=(target,))(self.carry)
        self.batch_sizes.append(target)
        self.declined = None

    def _report(self):
        if self.bar is not None:
            elapsed = self.elapsed_before + time.perf_counter() - self.began
            report(self.bar, self.finished, self.running, self.width, self.lane_steps / max(elapsed, 1e-9))

    def results(self):
        """The per-chain buffers on the host (one read), trimmed to the race's chains."""
        buffers = fetch(self.carry.buffers)
        return jax.tree.map(lambda a: np.asarray(a)[: self.n_chains], buffers)
