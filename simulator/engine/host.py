"""The host side of a race: blocks, harvesting, refilling, compaction, progress, checkpoints."""
from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time

import jax
import numpy as np

from ..outcomes import CENSORED, RUNNING
from ..trees import named_leaves
from . import policy, traces
from .block import CLEAR, KEEP
from .placement import Placement

STOP_LABEL = "stop_label"      # the final-state entry that holds ``race(stop_label=...)``'s labels


@jax.jit
def gather_rows(tree, index):
    """Rows ``index`` of every leaf of ``tree`` (lane axis first), on the device."""
    return jax.tree.map(lambda a: a[index], tree)


@functools.partial(jax.jit, static_argnums=2)
def gather_and_label(state, index, label):
    """``gather_rows`` of a kernel state, and ``label`` of each gathered position, on the device."""
    rows = gather_rows(state, index)
    return rows, jax.vmap(label)(rows.position)


def fetch(tree):
    """Copy lane data to the host: the one place the harvest moves kernel states (tests count it)."""
    return jax.device_get(tree)


@contextlib.contextmanager
def deferred_interrupt():
    """Hold the first Ctrl-C (SIGINT) until the loop asks ``interrupted()`` at a block boundary, so a
    checkpoint written then is consistent; a second Ctrl-C interrupts at once. Outside the main
    thread (where no handler can be set) Ctrl-C behaves as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hit = []
    previous = signal.getsignal(signal.SIGINT)

    def hold(signum, frame):
        hit.append(signum)
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)


class HostLoop:
    """The host side of a race: blocks, harvesting, refilling, compaction, progress."""

    def __init__(self, block, empty, args, n_chains, max_steps, block_size, batch_size,
                 compaction, bar, trace=None, dtype=np.float32, place=None, saver=None, stop_label=None):
        self.block, self.args, self.bar = block, args, bar
        self.stop_label = stop_label
        self.n_chains, self.max_steps, self.block_size = n_chains, max_steps, block_size
        self.compaction = compaction
        self.place = place or Placement(jax.local_devices()[:1])
        self.lanes = self.place.lanes(empty(batch_size, args))
        self.order = np.full(batch_size, KEEP, np.int32)
        self.next_chain = 0
        self.outcome = np.full(n_chains, RUNNING, np.int32)
        self.stop_step = np.zeros(n_chains, np.int64)
        self.final_state = None
        self.trace_spec = trace
        self.trace = None if trace is None else np.full((n_chains, trace.n_draws, trace.width), np.nan,
                                                        np.dtype(dtype))
        self.prev_steps = np.zeros(batch_size, np.int64)   # per lane, at the end of the last block
        self.lane_steps = 0
        self.finished_work = 0
        self.blocks = 0
        self.batch_sizes = [batch_size]
        self.wall_seconds = 0.0
        self.compiled, self.compile_seconds = {}, {}
        self.block_seconds = None   # wall time of the last block's run (compile and harvest excluded)
        self.drain_blocks = 0       # blocks run since the last chain started
        self.length = block_size    # steps in the next block
        self.saver = saver          # a checkpoint.Saver, or None
        self.resumed = self.done = False
        self.elapsed_before = 0.0   # wall time of the run before a resume

    def loop(self):
        t0 = time.perf_counter() - self.elapsed_before
        if self.done:            # resumed from the checkpoint of a finished run
            self.wall_seconds = self.elapsed_before
            return
        if not self.resumed:
            self._assign(np.ones(self.order.size, bool))
        with deferred_interrupt() as interrupted:
            self._run_blocks(t0, interrupted)
        self.wall_seconds = time.perf_counter() - t0
        if self.saver is not None:
            self.saver.save(self, self.wall_seconds, done=True)

    def _run_blocks(self, t0, interrupted):
        try:
            while True:
                executable = self._executable()      # compiles a new lane count (timed apart)
                t_block = time.perf_counter()
                self.started = self.order >= 0
                self.steps_before = self.prev_steps
                self.lanes = executable(self.lanes, self.place.lanes(self.order), self.args, np.int32(self.length))
                self.lane_steps += self.order.size * self.length
                self.blocks += 1
                n_running = self._harvest()  # waits for the block
                self._adapt_length()
                # what compaction saves is block time; harvest work (and its gathers' compiles) is not
                self.block_seconds = self.block_done - t_block
                self._report(n_running, time.perf_counter() - t0)
                if n_running == 0 and self.next_chain == self.n_chains:
                    break
                if self.next_chain == self.n_chains:
                    self.drain_blocks += 1
                    if self._should_compact(n_running):
                        self._compact(n_running)
                if interrupted():      # Ctrl-C, acted on here where the state is consistent
                    if self.saver is not None:
                        self.saver.save(self, time.perf_counter() - t0)
                    raise KeyboardInterrupt
                if self.saver is not None:
                    self.saver.maybe_save(self, time.perf_counter() - t0)
        finally:
            if self.bar is not None:
                self.bar.close()

    def _adapt_length(self):
        self.length = policy.next_block_length(self.length, self.stopped_fraction, self.block_size)

    def _executable(self):
        """The block compiled for the current lane count (compile time is recorded)."""
        width = self.order.size
        if width not in self.compiled:
            t = time.perf_counter()
            self.compiled[width] = self.block.lower(self.lanes, self.place.lanes(self.order), self.args,
                                                    np.int32(self.length)).compile()
            self.compile_seconds[width] = time.perf_counter() - t
        return self.compiled[width]

    def _should_compact(self, n_running) -> bool:
        width, target = self.order.size, self._target_width(n_running)
        return policy.should_compact(self.compaction, width, n_running, target, target in self.compiled,
                                     self.block_seconds, max(self.compile_seconds.values(), default=0.0),
                                     self.drain_blocks)

    def _target_width(self, n_running) -> int:
        return policy.bucket_width(n_running, self.batch_sizes[0], self.place.n)

    def _assign(self, free):
        """Order new chains into the ``free`` lanes; leftover free lanes are cleared."""
        free = np.flatnonzero(free)
        n_new = min(free.size, self.n_chains - self.next_chain)
        self.order[:] = KEEP
        self.order[free[:n_new]] = np.arange(self.next_chain, self.next_chain + n_new)
        self.order[free[n_new:]] = CLEAR
        self.next_chain += n_new

    def _harvest(self) -> int:
        """Record finished chains, order the next block; return how many chains run on."""
        chain, status, steps = jax.device_get((self.lanes.chain, self.lanes.status, self.lanes.steps))
        self.block_done = time.perf_counter()     # the block itself is done (it had to be, to read these)
        occupied = chain >= 0
        if self.trace is not None:
            first = np.where(self.started, 0, self.steps_before // self.trace_spec.every + 1)
            traces.collect(self.trace, self.trace_spec, np.asarray(jax.device_get(self.lanes.trace)),
                           chain, first, steps, occupied)
        self.prev_steps = np.asarray(steps, np.int64)
        done = occupied & ((status != RUNNING) | (steps >= self.max_steps))
        if done.any():
            lanes_done = np.flatnonzero(done)
            ids = chain[lanes_done]
            self.outcome[ids] = np.where(status[lanes_done] == RUNNING, CENSORED, status[lanes_done])
            self.stop_step[ids] = steps[lanes_done]
            self.finished_work += int(steps[lanes_done].sum())
            state = self._finished_states(lanes_done)
            if self.final_state is None:
                self.final_state = {name: np.zeros((self.n_chains,) + leaf.shape[1:], leaf.dtype)
                                    for name, leaf in state.items()}
            for name, leaf in state.items():
                self.final_state[name][ids] = leaf[: lanes_done.size]

        running = occupied & ~done
        self.stopped_fraction = done.sum() / max(1, occupied.sum())
        self.running_work = int(steps[running].sum())
        self._assign(~running)
        return int(running.sum()) + int((self.order >= 0).sum())

    def _finished_states(self, lanes_done):
        """The kernel states of the lanes ``lanes_done``, gathered on the device and copied alone.

        The index is padded to a power of two (repeating its first lane), so the gather compiles
        for at most log2(lanes) + 1 sizes; host traffic scales with the chains that finished, not
        with the lanes (an optimizer state can be most of a lane).
        """
        size = min(self.order.size, policy.power_of_two(lanes_done.size))
        index = np.full(size, lanes_done[0], np.int32)
        index[: lanes_done.size] = lanes_done
        index = self.place.replicated(index)
        if self.stop_label is None:
            return named_leaves(fetch(gather_rows(self.lanes.state, index)))
        rows, labels = fetch(gather_and_label(self.lanes.state, index, self.stop_label))
        return {**named_leaves(rows), STOP_LABEL: labels}

    def _compact(self, n_running):
        # Busy lanes: running chains (KEEP) and lanes just ordered to start one of the last
        # chains (order >= 0, which happens when this harvest handed out the last chains).
        busy = np.flatnonzero(self.order != CLEAR)
        size = self._target_width(n_running)
        rest = np.setdiff1d(np.arange(self.order.size), busy)[: size - busy.size]
        index = np.concatenate([busy, rest])
        # Gather on the host: an eager device gather would compile once per leaf and shape.
        self.lanes = self.place.lanes(jax.tree.map(lambda a: np.asarray(a)[index], jax.device_get(self.lanes)))
        self.prev_steps = self.prev_steps[index]
        order = np.full(size, CLEAR, np.int32)
        order[: busy.size] = self.order[busy]
        self.order = order
        self.batch_sizes.append(size)

    def _report(self, n_running, elapsed):
        if self.bar is None:
            return
        self.bar.update(self.next_chain - n_running - self.bar.n)
        rate = (self.finished_work + self.running_work) / max(elapsed, 1e-9)
        self.bar.set_postfix(running=n_running, lanes=self.order.size,
                             chain_steps_per_s=f"{rate:.3g}", refresh=False)
