"""The race engine: many chains, each run until it first enters a target.

Loop structure. The chains live in a fixed number of *lanes* (the batch).
One jitted call advances every lane by a block of steps (``vmap`` over
lanes inside a ``lax.fori_loop``); a finished chain stays frozen (masked)
until the block ends. The block length is a runtime argument, so it adapts
without recompiling: it halves (down to ``MIN_BLOCK``) while more than 20 %
of the lanes finish within a block and doubles (up to ``block_size``) while
fewer than 5 % do, which bounds the steps wasted after a chain stops.
Between blocks the host

1. harvests the finished lanes (outcome, stopping step, final state),
2. refills them with chains that have not started yet (so the batch stays
   full while there is work), and, once no chain is left to start,
3. compacts: when at most half the lanes still run, the running lanes are
   packed into a batch of the next power of two (at least ``MIN_BATCH``),
   so the total work tracks the sum of the hitting steps rather than
   n_chains x max_steps. Each batch size compiles once, and a new size is
   compiled only when the time it should save repays the measured compile
   time (``_HostLoop._should_compact``).

Randomness comes from per-chain streams (see ``simulator.streams``), so a
chain's trajectory depends only on (seed, chain index): batch size, block
size, refilling and compaction change nothing but the speed.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import checkpoint as ckpt
from . import inputs, streams, traces
from .bridge import crossing_probability
from .outcomes import CENSORED, DIVERGED, EMPTY, ESCAPED, RUNNING, TIE
from .result import RaceResult
from .targets import check_targets

DEFAULT_BLOCK_SIZE = 128
MIN_BLOCK = 4
# Lane counts. On a 2-core CPU one block runs fastest at 2^18 lanes (measured
# 2^10..2^20: 1.3e7, 2.6e7 at 2^14, 3.3e7 lane-steps/s at 2^18), but chains that
# start while lanes are being refilled waste nothing, so the default keeps about
# 8 chains per lane for the refilling phase and the drain is short.
MIN_DEFAULT_BATCH = 2**14
MAX_DEFAULT_BATCH = 2**18
MIN_BATCH = 32

# Orders for a lane at the start of a block, besides a chain index >= 0 (start that chain).
KEEP = -1
CLEAR = -2


class RunArgs(NamedTuple):
    """Per-race inputs of the compiled block."""

    start: jax.Array        # one position, or (n_chains, ...) positions
    seed: jax.Array         # uint32
    max_steps: jax.Array    # int32
    first_chain: jax.Array  # int32: global index of this race's chain 0 (multi-host shares)


class Lanes(NamedTuple):
    """Device state of the batch; every field has the lane axis first."""

    chain: jax.Array        # global chain index, -1 for an empty lane
    key: jax.Array          # raw key data, kernel stream
    bridge_key: jax.Array   # raw key data, bridge stream
    state: NamedTuple       # the kernel's state
    residual: jax.Array     # (lanes, n_targets) residuals at the current position
    status: jax.Array       # outcome code; RUNNING while the chain runs
    steps: jax.Array        # steps taken
    trace: jax.Array | None = None   # (lanes, slots, width): the draws recorded in the last block


def _build_block(kernel, targets, *, batched, bridge, dtype, domain=None, trace=None):
    """Return ``block(lanes, order, run, n_steps) -> lanes``: refill lanes per ``order``, then step.

    ``run`` (a ``RunArgs``) holds what varies between races of the same shape, so
    that it is an argument rather than a compiled-in constant.
    """
    eps = jnp.asarray([t.eps for t in targets], dtype)
    bridged = np.array([bridge and t.distance for t in targets])
    use_bridge = bool(bridged.any())

    def residuals(x):
        return jnp.stack([jnp.asarray(t.residual(x), dtype) for t in targets])

    def classify(position, r, entered):
        """Priority: diverged, then escaped (hits count inside the domain only), tie, hit."""
        finite = jnp.all(jnp.isfinite(position)) & jnp.all(jnp.isfinite(r))
        n_entered = jnp.sum(entered)
        code = jnp.where(n_entered > 1, TIE, jnp.where(n_entered == 1, jnp.argmax(entered), RUNNING))
        if domain is not None:
            code = jnp.where(domain(position), code, ESCAPED)
        return jnp.where(finite, code, DIVERGED).astype(jnp.int32)

    def fresh(chain, run):
        x = run.start[chain] if batched else run.start
        seed = run.seed
        r = residuals(x)
        index = chain + run.first_chain
        key = jax.random.key_data(streams.chain_keys(seed, streams.KERNEL_STREAM, index))
        # Without the bridge the bridge key is never read; a copy saves compiling a second hash.
        bridge_key = (jax.random.key_data(streams.chain_keys(seed, streams.BRIDGE_STREAM, index))
                      if use_bridge else key)
        obs = None if trace is None else trace.observe(x, r)   # draw 0: the start
        return kernel.init(x), r, classify(x, r, r <= eps), key, bridge_key, obs

    def refill(lanes, order, run):
        state, r, status, key, bridge_key, obs = jax.vmap(fresh, (0, None))(jnp.maximum(order, 0), run)
        new = order >= 0

        def pick(a, b):
            return jnp.where(new.reshape(new.shape + (1,) * (a.ndim - 1)), a, b)

        cleared = order == CLEAR
        return Lanes(
            chain=jnp.where(new, order, jnp.where(cleared, -1, lanes.chain)),
            key=pick(key, lanes.key),
            bridge_key=pick(bridge_key, lanes.bridge_key),
            state=jax.tree.map(pick, state, lanes.state),
            residual=pick(r, lanes.residual),
            status=jnp.where(new, status, jnp.where(cleared, EMPTY, lanes.status)),
            steps=jnp.where(new | cleared, 0, lanes.steps),
            # The block's draws start empty; a new chain's draw 0 goes to slot 0.
            trace=None if trace is None else jnp.full((order.size, slots, trace.width), jnp.nan, dtype)
            .at[:, 0].set(jnp.where(new[:, None], obs, jnp.nan)),
        )

    def advance(max_steps, first, key, bridge_key, state, r_prev, status, steps, row):
        active = (status == RUNNING) & (steps < max_steps)
        t = steps + 1
        new = kernel.step(streams.step_key(jax.random.wrap_key_data(key), t), state)
        r = residuals(new.position)
        entered = r <= eps
        if use_bridge:
            u = jax.random.uniform(streams.step_key(jax.random.wrap_key_data(bridge_key), t),
                                   r.shape, dtype)
            crossed = u < crossing_probability(r_prev - eps, r - eps, kernel.noise_variance)
            entered = entered | (jnp.asarray(bridged) & crossed)
        code = classify(new.position, r, entered)

        def keep(a, b):
            return jnp.where(active, a, b)

        if trace is not None:   # draw t // K, at slot t // K - first, when t is a multiple of K
            slot = jnp.clip(t // trace.every - first, 0, slots - 1)
            record = active & (t % trace.every == 0)
            row = row.at[slot].set(jnp.where(record, trace.observe(new.position, r), row[slot]))
        return jax.tree.map(keep, new, state), keep(r, r_prev), keep(code, status), keep(t, steps), row

    def block(lanes, order, run, n_steps):
        lanes = refill(lanes, order, run)
        # First draw number each lane can record in this block (slot 0): 0 for a new chain, else
        # the draw after the last one recorded, floor(steps / K) + 1.
        first = (jnp.where(order >= 0, -1, lanes.steps) // trace.every + 1) if trace is not None else lanes.steps

        def body(_, carry):
            return jax.vmap(advance, (None,) + (0,) * 8)(run.max_steps, first, lanes.key, lanes.bridge_key,
                                                          *carry)

        carry = (lanes.state, lanes.residual, lanes.status, lanes.steps, lanes.trace)
        state, r, status, steps, rows = jax.lax.fori_loop(0, n_steps, body, carry)
        return lanes._replace(state=state, residual=r, status=status, steps=steps, trace=rows)

    slots = 0 if trace is None else trace.slots

    def empty(n_lanes, run):
        """Lanes that hold no chain, with the right shapes and dtypes."""
        shapes = jax.eval_shape(lambda: jax.vmap(fresh, (0, None))(jnp.zeros(n_lanes, jnp.int32), run))
        state, r, _, key, bridge_key, _ = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        rows = None if trace is None else jnp.zeros((n_lanes, slots, trace.width), dtype)
        return Lanes(jnp.full(n_lanes, -1, jnp.int32), key, bridge_key, state, r,
                     jnp.full(n_lanes, EMPTY, jnp.int32), jnp.zeros(n_lanes, jnp.int32), rows)

    return jax.jit(block, donate_argnums=0), empty


def _check_domain(domain):
    """A callable position -> bool, from a Frobenius ball or a function; None stays None."""
    if domain is None or callable(domain):
        return domain
    if hasattr(domain, "contains") and getattr(domain, "kind", None) == "frobenius":
        return domain.contains
    raise TypeError("domain must be a Frobenius ball or a function position -> bool, "
                    f"got {type(domain).__name__}")


def default_batch_size(n_chains: int) -> int:
    """About n_chains / 8 lanes, clipped to [2^14, 2^18], and never more than n_chains."""
    return min(n_chains, max(MIN_DEFAULT_BATCH, min(MAX_DEFAULT_BATCH, n_chains // 8)))


def _progress_bar(n_chains: int, progress):
    if progress is False:
        return None
    from tqdm.auto import tqdm
    # progress=None/True: show the bar only once the run has lasted 2 s.
    return tqdm(total=n_chains, unit="chain", desc="race", delay=0 if progress == "always" else 2.0,
                leave=False)


def race(kernel, targets, start, *, n_chains: int, max_steps: int, seed: int = 0,
         bridge: bool = False, precision: str = "float32", block_size: int = DEFAULT_BLOCK_SIZE,
         batch_size: int | None = None, compaction="auto", start_batched: bool | None = None,
         domain=None, progress: bool | None = None, trace_every: int | None = None,
         observables: dict | None = None, trace_position: bool | None = None,
         trace_memory_limit: int | None = None, checkpoint=None, checkpoint_every: float = 60.0,
         resume: bool = False, devices=None, first_chain: int = 0) -> RaceResult:
    """Run ``n_chains`` independent chains until each first enters one of ``targets``.

    Args:
        kernel: a ``sim.dynamics`` kernel.
        targets: ``sim.Target`` list; chain stops at the first step where some
            residual <= eps. Two at once is a ``tie``; a non-finite position or
            residual is ``diverged``; still running after ``max_steps`` is ``censored``.
            A start already inside a target stops at step 0.
        start: one position shared by all chains, or a batch with leading axis
            ``n_chains`` (see ``start_batched``).
        n_chains, max_steps: number of chains and the step budget of each.
        seed: chain i's trajectory depends only on (seed, i).
        bridge: apply the Brownian-bridge crossing correction
            (``simulator.bridge``) to targets with ``distance=True``.
        precision: "float32" (default) or "float64".
        block_size: the most steps per block; the host acts between blocks
            (block lengths adapt between ``MIN_BLOCK`` and this).
        batch_size: lanes run at once (default ``default_batch_size(n_chains)``).
        compaction: shrink the batch once at most half its lanes run: "auto"
            (default) only when the time saved should repay compiling the new
            size, True always, False never. Results never depend on it.
        start_batched: None infers it: ``start`` is a batch exactly when its
            leading axis has length ``n_chains``; pass False for a shared
            position whose first axis happens to equal ``n_chains``.
        domain: optional region the chains must stay in: a Frobenius ball
            (``sim.groups.frobenius_ball``) or a pure function position -> bool.
            A chain outside it ends ``escaped``; a hit counts only inside it.
        progress: False hides the bar; None/True shows it once a run lasts 2 s.
        trace_every: record observables every K steps of every chain (``simulator.traces``:
            residuals, potential, |theta|, theta when small, ``observables``); None records nothing.
            Memory about n_chains * (max_steps // K + 1) * width * itemsize bytes (bound in traces),
            refused above ``trace_memory_limit`` (default 4 GiB).
        observables: {name: fn(position) -> scalar}, traced next to the built-in ones.
        trace_position: trace theta itself (default: when it has at most 16 entries).
        checkpoint: folder for an atomic checkpoint at block boundaries, at most every
            ``checkpoint_every`` seconds and at the end (``simulator.checkpoint``); an existing
            checkpoint there is refused unless ``resume=True``, which continues it (bitwise equal
            results; a different configuration is refused).
        devices: jax devices to spread the lanes over (default: all local devices), a
            sharded jit over a 1-D "chains" mesh; outcomes are identical on 1 or many devices.
        first_chain: global index of this call's chain 0: a process of a multi-host run
            races its share of chain indices (``process_share``), and ``merge_results`` joins them.

    Returns:
        A ``RaceResult``.
    """
    kernel = inputs.check_kernel(kernel)
    targets = check_targets(targets)
    n_chains = inputs.positive_int("n_chains", n_chains)
    max_steps = inputs.positive_int("max_steps", max_steps, inputs.MAX_STEPS_LIMIT)
    seed = inputs.check_seed(seed)
    if isinstance(first_chain, bool) or not isinstance(first_chain, numbers.Integral) or first_chain < 0:
        raise ValueError(f"first_chain must be an int >= 0, got {first_chain!r}")
    if first_chain + n_chains > 2**31 - 1:
        raise ValueError("first_chain + n_chains must stay below 2**31 (chain indices are int32)")
    block_size = inputs.positive_int("block_size", block_size)
    if batch_size is None:
        batch_size = default_batch_size(n_chains)
    batch_size = inputs.positive_int("batch_size", batch_size)
    batch_size = min(batch_size, n_chains)
    place = _Placement(_check_devices(devices))
    batch_size = place.width(batch_size)
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
    if compaction not in (True, False, "auto"):
        raise ValueError(f"compaction must be True, False or 'auto', got {compaction!r}")
    if not isinstance(bridge, bool):
        raise TypeError(f"bridge must be a bool, got {type(bridge).__name__}")
    if bridge and kernel.noise_variance is None:
        raise ValueError(f"bridge=True: kernel {kernel.name!r} has no Gaussian increment "
                         "(noise_variance is None), so the bridge correction does not apply")
    if bridge and not any(t.distance for t in targets):
        raise ValueError("bridge=True but no target has distance=True")

    domain_fn = _check_domain(domain)
    x64 = jax.enable_x64(True) if precision == "float64" else contextlib.nullcontext()
    # The streams are defined with JAX's default (partitionable) threefry; pinning it
    # keeps them independent of a user's global setting.
    with x64, jax.threefry_partitionable(True):
        dtype = jnp.dtype(precision)
        start, batched = inputs.resolve_start(start, n_chains, start_batched, dtype)
        position = jax.ShapeDtypeStruct(start.shape[1:] if batched else start.shape, dtype)
        inputs.check_shapes(kernel, targets, position)
        if domain_fn is not None:
            inputs.check_predicate("domain", domain_fn, position)
        trace = traces.build_trace(trace_every, observables, trace_position, kernel=kernel, targets=targets,
                                   position=position, max_steps=max_steps, n_chains=n_chains,
                                   batch_size=batch_size, block_size=block_size,
                                   memory_limit=trace_memory_limit)

        config = {
            "kernel": {"name": kernel.name, **kernel.params},
            "targets": [{"name": t.name, "eps": t.eps, "distance": t.distance} for t in targets],
            "start": "batched" if batched else start.tolist(),
            "n_chains": n_chains, "first_chain": first_chain, "max_steps": max_steps, "seed": seed,
            "bridge": bridge, "precision": precision, "block_size": block_size, "batch_size": batch_size,
            "compaction": compaction, "noise_variance": kernel.noise_variance, "domain": _describe_domain(domain),
            "trace_every": trace_every, "observables": None if trace is None else list(trace.names),
            "jax_version": jax.__version__, "device": str(place.devices[0]), "n_devices": place.n,
        }
        digest = ckpt.identity_hash({key: config[key] for key in ckpt.IDENTITY}, start)
        folder, resume = ckpt.resolve(checkpoint, resume, digest)
        config["checkpoint"] = None if folder is None else str(folder)
        if folder is not None:
            checkpoint_every = float(checkpoint_every)
            if not checkpoint_every >= 0:
                raise ValueError(f"checkpoint_every must be >= 0 seconds, got {checkpoint_every}")
        saved = ckpt.check_folder(folder, resume, digest) if folder is not None else False

        block, empty = _build_block(kernel, targets, batched=batched, bridge=bridge, dtype=dtype,
                                    domain=domain_fn, trace=trace)
        args = RunArgs(jnp.asarray(start), jnp.asarray(seed, jnp.uint32), jnp.asarray(max_steps, jnp.int32),
                       jnp.asarray(first_chain, jnp.int32))
        run = _HostLoop(block, empty, place.replicated(args), n_chains, max_steps, block_size, batch_size,
                        compaction, _progress_bar(n_chains, progress), trace, dtype, place)
        if folder is not None:
            run.checkpoint_to(folder, checkpoint_every, digest)
        if saved:
            run.restore(ckpt.load(folder))
        run.loop()
    lost = int(np.sum(run.outcome == RUNNING))
    if lost:  # every chain must end in exactly one outcome; never drop one silently
        raise RuntimeError(f"engine bug: {lost} of {n_chains} chains finished the run without an outcome")

    ideal = int(run.stop_step.sum())
    work = {"ideal_chain_steps": ideal, "lane_steps": run.lane_steps,
            "efficiency": ideal / run.lane_steps if run.lane_steps else math.nan,
            "wall_seconds": run.wall_seconds, "compile_seconds": sum(run.compile_seconds.values()),
            "blocks": run.blocks, "batch_sizes": run.batch_sizes}
    traced = None if trace is None else traces.split(run.trace, trace, position.shape)
    return RaceResult(target_names=tuple(t.name for t in targets), outcome=run.outcome,
                      stop_step=run.stop_step, state=run.final_state, config=config, work=work,
                      trace=traced, trace_steps=None if trace is None else np.asarray(trace.steps))


class _Placement:
    """Where the lanes live: one device, or a 1-D mesh over a "chains" axis (sharded jit).

    Every lane field has the lane axis first and each lane's work is independent,
    so sharding that axis splits the chains across devices with no communication
    inside a block; lane counts are rounded up to a multiple of the device count.
    A chain's path depends only on (seed, chain index), so results do not depend
    on the number of devices.
    """

    def __init__(self, devices):
        self.devices = list(devices)
        self.n = len(self.devices)
        if self.n > 1:
            from jax.sharding import Mesh, NamedSharding, PartitionSpec
            mesh = Mesh(np.array(self.devices), ("chains",))
            self.split = NamedSharding(mesh, PartitionSpec("chains"))
            self.whole = NamedSharding(mesh, PartitionSpec())

    def width(self, lanes: int) -> int:
        return -(-lanes // self.n) * self.n

    def lanes(self, tree):
        return jax.device_put(tree, self.split if self.n > 1 else self.devices[0])

    def replicated(self, tree):
        return jax.device_put(tree, self.whole if self.n > 1 else self.devices[0])


def _check_devices(devices):
    if devices is None:
        return jax.local_devices()
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError("devices must be None (all local devices) or a non-empty list of jax devices")
    return devices


def _describe_domain(domain):
    if domain is None:
        return None
    return domain.describe() if hasattr(domain, "describe") else getattr(domain, "__name__", repr(domain))


def _named_leaves(state) -> dict:
    """Flatten a (possibly nested) kernel state to {dotted name: array}, e.g. ``opt_state.0.mu``."""
    def name(path):
        return ".".join(str(getattr(k, "name", getattr(k, "idx", getattr(k, "key", k)))) for k in path)
    return {name(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}


class _HostLoop:
    """The host side of a race: blocks, harvesting, refilling, compaction, progress."""

    def __init__(self, block, empty, args, n_chains, max_steps, block_size, batch_size,
                 compaction, bar, trace=None, dtype=np.float32, place=None):
        self.block, self.args, self.bar = block, args, bar
        self.n_chains, self.max_steps, self.block_size = n_chains, max_steps, block_size
        self.compaction = compaction
        self.place = place or _Placement(jax.local_devices()[:1])
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
        self.block_seconds = None   # wall time of the last block that compiled nothing
        self.drain_blocks = 0       # blocks run since the last chain started
        self.length = block_size    # steps in the next block
        self.checkpoint = None      # (folder, seconds between saves, identity hash)
        self.resumed = self.done = False
        self.elapsed_before = 0.0   # wall time of the run before a resume

    # ---- checkpoints ---------------------------------------------------------------
    def checkpoint_to(self, folder, every, digest):
        self.checkpoint = (folder, every, digest)

    _SCALARS = ("next_chain", "lane_steps", "finished_work", "blocks", "length", "drain_blocks")

    def snapshot(self, elapsed) -> dict:
        """Everything the loop needs to continue: device lanes, host arrays, counters."""
        out = {f"lanes.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(jax.device_get(self.lanes)))}
        out.update(outcome=self.outcome, stop_step=self.stop_step, order=self.order, prev_steps=self.prev_steps,
                   batch_sizes=np.asarray(self.batch_sizes), elapsed=np.asarray(elapsed),
                   **{name: np.asarray(getattr(self, name)) for name in self._SCALARS})
        if self.final_state is not None:
            out.update({f"final.{k}": v for k, v in self.final_state.items()})
        if self.trace is not None:
            out["trace"] = self.trace
        return out

    def restore(self, data: dict):
        leaves = [data[f"lanes.{i}"] for i in range(sum(k.startswith("lanes.") for k in data))]
        self.lanes = self.place.lanes(jax.tree.unflatten(jax.tree.structure(self.lanes), leaves))
        self.outcome, self.stop_step = data["outcome"].copy(), data["stop_step"].copy()
        self.order, self.prev_steps = data["order"].copy(), data["prev_steps"].copy()
        self.batch_sizes = [int(b) for b in data["batch_sizes"]]
        for name in self._SCALARS:
            setattr(self, name, int(data[name]))
        final = {k[len("final."):]: v.copy() for k, v in data.items() if k.startswith("final.")}
        self.final_state = final or None
        if self.trace is not None:
            self.trace = data["trace"].copy()
        self.elapsed_before = float(data["elapsed"])
        self.resumed, self.done = True, bool(data["meta.done"])

    def _save(self, elapsed, done=False):
        folder, _, digest = self.checkpoint
        ckpt.save(folder, self.snapshot(elapsed), digest, done)
        self.last_save = time.perf_counter()

    def loop(self):
        t0 = time.perf_counter() - self.elapsed_before
        if self.done:            # resumed from the checkpoint of a finished run
            self.wall_seconds = self.elapsed_before
            return
        if not self.resumed:
            self._assign(np.ones(self.order.size, bool))
        self.last_save = time.perf_counter()
        try:
            while True:
                t_block = time.perf_counter()
                self.started = self.order >= 0
                self.steps_before = self.prev_steps
                self.lanes = self._executable()(self.lanes, self.place.lanes(self.order), self.args,
                                                np.int32(self.length))
                self.lane_steps += self.order.size * self.length
                self.blocks += 1
                n_running = self._harvest()  # waits for the block
                self._adapt_length()
                self.block_seconds = time.perf_counter() - t_block
                self._report(n_running, time.perf_counter() - t0)
                if n_running == 0 and self.next_chain == self.n_chains:
                    break
                if self.next_chain == self.n_chains:
                    self.drain_blocks += 1
                    if self._should_compact(n_running):
                        self._compact(n_running)
                if self.checkpoint and time.perf_counter() - self.last_save >= self.checkpoint[1]:
                    self._save(time.perf_counter() - t0)
        finally:
            if self.bar is not None:
                self.bar.close()
        self.wall_seconds = time.perf_counter() - t0
        if self.checkpoint:
            self._save(self.wall_seconds, done=True)

    def _adapt_length(self):
        """Halve the block while > 20 % of its chains stop within it, double while < 5 % do."""
        stopped = self.stopped_fraction
        if stopped > 0.2:
            self.length = max(MIN_BLOCK, self.length // 2)
        elif stopped < 0.05:
            self.length = min(self.block_size, self.length * 2)

    def _executable(self):
        """The block compiled for the current lane count (compile time is recorded)."""
        width = self.order.size
        if width not in self.compiled:
            t = time.perf_counter()
            self.compiled[width] = self.block.lower(self.lanes, self.place.lanes(self.order), self.args,
                                                    np.int32(self.length)).compile()
            self.compile_seconds[width] = time.perf_counter() - t
            self.block_seconds = None
        return self.compiled[width]

    def _should_compact(self, n_running) -> bool:
        """Shrink when at most half the lanes run and ("auto") the time saved should repay compiling.

        Saved per block: about block_seconds * (1 - new/old lanes); blocks still
        to come are forecast as the blocks since the last chain started (a heavy
        tail lasts at least as long again). Speed only: results do not depend on it.
        """
        width = self.order.size
        if not self.compaction or n_running > width // 2 or width <= MIN_BATCH:
            return False
        target = self._target_width(n_running)
        if self.compaction is True or target in self.compiled:
            return True
        if self.block_seconds is None:  # the last block included a compile
            return False
        compile_cost = max(self.compile_seconds.values())
        saved_per_block = self.block_seconds * (1 - target / width)
        return saved_per_block * self.drain_blocks >= compile_cost

    def _target_width(self, n_running) -> int:
        return self.place.width(max(MIN_BATCH, 1 << max(0, (n_running - 1).bit_length())))

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
        occupied = chain >= 0
        if self.trace is not None:
            self._collect_draws(chain, steps, occupied)
        self.prev_steps = np.asarray(steps, np.int64)
        done = occupied & ((status != RUNNING) | (steps >= self.max_steps))
        if done.any():
            lanes_done = np.flatnonzero(done)
            ids = chain[lanes_done]
            self.outcome[ids] = np.where(status[lanes_done] == RUNNING, CENSORED, status[lanes_done])
            self.stop_step[ids] = steps[lanes_done]
            self.finished_work += int(steps[lanes_done].sum())
            state = _named_leaves(jax.device_get(self.lanes.state))
            if self.final_state is None:
                self.final_state = {name: np.zeros((self.n_chains,) + leaf.shape[1:], leaf.dtype)
                                    for name, leaf in state.items()}
            for name, leaf in state.items():
                self.final_state[name][ids] = leaf[lanes_done]

        running = occupied & ~done
        self.stopped_fraction = done.sum() / max(1, occupied.sum())
        self.running_work = int(steps[running].sum())
        self._assign(~running)
        return int(running.sum()) + int((self.order >= 0).sum())

    def _collect_draws(self, chain, steps, occupied):
        """Copy the draws recorded in the last block into the host trace (chain, draw)."""
        every = self.trace_spec.every
        first = np.where(self.started, 0, self.steps_before // every + 1)
        count = np.where(occupied, steps // every - first + 1, 0)
        lane, slot = np.nonzero(np.arange(self.trace_spec.slots)[None, :] < count[:, None])
        rows = np.asarray(jax.device_get(self.lanes.trace))
        self.trace[chain[lane], first[lane] + slot] = rows[lane, slot]

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
