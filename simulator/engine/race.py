"""The race engine: many chains, each run until it first enters a target.

``race`` checks its arguments (before anything compiles), builds the race
program (``engine.program``: a device loop over blocks that refills lanes,
harvests finished chains into per-chain buffers and compacts), takes its compiled
form from the program cache (``engine.programs``: a second call with the same
functions compiles nothing) and hands it to the driver (``engine.driver``), which
wakes between dispatches only, for the progress bar, Ctrl-C and checkpoints.

Randomness comes from per-chain streams (see ``simulator.engine.streams``), so a
chain's trajectory depends only on (seed, chain index): batch size, block
size, refilling, compaction and devices change nothing but the speed.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from .. import validate
from ..outcomes import RUNNING
from ..result import RaceResult, SweepResult
from ..targets import check_targets
from . import checkpoint as ckpt
from ..trees import named_leaves
from . import cache, policy, programs, streams, traces
from . import sweep as sweeps
from .block import RunArgs, build_lane_functions
from .config import RaceConfig
from .driver import RaceDriver
from .placement import Placement, check_devices
from .program import ProgramSet, build_race_program

STOP_LABEL = "stop_label"      # the final-state entry that holds ``race(stop_label=...)``'s labels


def _progress_bar(n_chains: int, progress):
    if progress is False:
        return None
    # progress=None/True: show the bar only once the run has lasted 2 s.
    return tqdm(total=n_chains, unit="chain", desc="race", delay=0 if progress == "always" else 2.0,
                leave=False)


def race(kernel, targets, start, *, n_chains: int, max_steps: int, seed: int = 0,
         bridge: bool = False, precision: str = "float32", block_size: int = policy.DEFAULT_BLOCK_SIZE,
         batch_size: int | None = None, compaction="auto", start_batched: bool | None = None,
         domain=None, progress: bool | None = None, trace_every: int | None = None,
         observables: dict | None = None, trace_position: bool | None = None,
         trace_memory_limit: int | None = None, checkpoint=None, checkpoint_every: float = 60.0,
         resume: bool = False, devices=None, first_chain: int = 0, sweep: dict | None = None,
         stop_label=None):
    """Run ``n_chains`` independent chains until each first enters one of ``targets``.

    Args:
        kernel: a ``sim.dynamics`` kernel; with ``sweep``, a factory of one, called with the
            swept values as keyword arguments (``lambda temperature: sim.dynamics.langevin(V, h, temperature)``).
        targets: ``sim.Target`` list; a chain stops at the first step where some residual <= eps (step 0 if
            it starts inside). Two at once: ``tie``; non-finite: ``diverged``; past ``max_steps``: ``censored``.
        start: one position shared by all chains, or a batch with leading axis
            ``n_chains`` (see ``start_batched``). A position is an array or a pytree of
            arrays (a dict of weights, a NamedTuple, Flax/Equinox parameters): kernels,
            residuals, observables and potentials then receive the pytree, and
            ``result.position`` keeps its structure.
        n_chains, max_steps, seed: chains, the step budget of each; chain i depends only on (seed, i).
        bridge: apply the Brownian-bridge crossing correction
            (``simulator.engine.bridge``) to targets with ``distance=True``.
        precision: "float32" (default) or "float64".
        block_size: the most steps per block (block lengths adapt between ``MIN_BLOCK`` and this).
        batch_size: lanes run at once (default ``policy.default_batch_size(n_chains)``).
        compaction: step the busy lanes in chunks and move them to narrower widths of ``policy.bucket_ladder``:
            "auto" (default) compiles a new width only when the time saved should repay it, True always,
            False never (every lane is stepped). Results never depend on it.
        start_batched: None: ``start`` is a batch exactly when its leading axis has length ``n_chains``;
            False for a shared position whose first axis happens to equal ``n_chains``.
        domain: optional region the chains must stay in: a Frobenius ball
            (``sim.groups.frobenius_ball``) or a pure function position -> bool.
            A chain outside it ends ``escaped``; a hit counts only inside it.
        progress: False hides the bar; None/True shows it once a run lasts 2 s.
        trace_every: record observables every K steps of every chain (``simulator.engine.traces``:
            residuals, potential, |theta|, theta when small, ``observables``); None records nothing.
            Memory about n_chains * (max_steps // K + 1) * width * itemsize bytes (bound in traces),
            refused above ``trace_memory_limit`` (default 4 GiB).
        observables: {name: fn(position) -> scalar}, traced next to the built-in ones.
        trace_position: trace theta itself (default: when it has at most 16 entries).
        checkpoint: folder for an atomic checkpoint between dispatches, at most every
            ``checkpoint_every`` seconds and at the end (``simulator.engine.checkpoint``); an existing
            checkpoint there is refused unless ``resume=True``, which continues it (bitwise equal
            results; a different configuration is refused).
        devices: jax devices to shard the lanes over (default: all local devices); same outcomes on any number.
        first_chain: global index of this call's chain 0: a process of a multi-host run
            races its share of chain indices (``process_share``), and ``merge_results`` joins them.
        stop_label: fn(position) -> integer array of fixed shape, evaluated on the device at each chain's stop
            and kept as ``result.stop_labels`` (e.g. the function a network computes; ``stop_label_counts``).
        sweep: {name: [values]}: one race per setting of the grid (the lists' product), in one compiled program
            (``engine.sweep``); ``eps`` sets every tolerance, other names are factory arguments. ``n_chains`` each.

    Returns:
        A ``RaceResult``; with ``sweep``, a ``SweepResult`` (one RaceResult per setting).
    """
    targets = check_targets(targets)
    plan = sweeps.check(sweep, kernel, targets)
    cache.enable_persistent_cache()
    kernel = plan.kernels[0]
    n_chains = validate.positive_int("n_chains", n_chains)
    total = plan.size * n_chains                      # a sweep runs n_chains chains per setting
    max_steps = validate.positive_int("max_steps", max_steps, validate.MAX_STEPS_LIMIT)
    seed = validate.check_seed(seed)
    first_chain = _check_first_chain(first_chain, total)
    block_size = validate.positive_int("block_size", block_size)
    batch_size = validate.positive_int("batch_size", policy.default_batch_size(total)
                                       if batch_size is None else batch_size)
    place = Placement(check_devices(devices))
    batch_size = place.width(min(batch_size, policy.capacity(total)))
    precision = validate.choice("precision", precision, ("float32", "float64"))
    compaction = validate.choice("compaction", compaction, (True, False, "auto"))
    for each in plan.kernels:
        _check_bridge(bridge, each, targets)
    domain_fn = validate.check_domain(domain)
    checkpoint_every = validate.non_negative("checkpoint_every", checkpoint_every)

    with streams.numerics(precision):
        dtype = jnp.dtype(precision)
        start, batched = validate.resolve_start(start, n_chains, start_batched, dtype)
        position = validate.position_shapes(start, batched, dtype)
        for each in plan.kernels:
            validate.check_shapes(each, targets, position)
        if domain_fn is not None:
            validate.check_set("domain", domain_fn, position)
        validate.check_stop_label(stop_label, position)
        trace = traces.build_trace(trace_every, observables, trace_position, kernel=kernel, targets=targets,
                                   position=position, max_steps=max_steps, n_chains=total,
                                   memory_limit=trace_memory_limit)
        config = _config(plan, kernel, targets, start, batched, n_chains, first_chain, max_steps, seed, bridge,
                         precision, domain, trace, trace_every, stop_label, sweep, block_size, batch_size,
                         compaction, place)
        digest = config.identity_hash(start)
        folder, resume = ckpt.resolve(checkpoint, resume, digest)
        config = dataclasses.replace(config, checkpoint=None if folder is None else str(folder))
        saved = ckpt.prepare_folder(folder, resume, digest, checkpoint is not None) if folder is not None else False

        program = _program(plan, kernel, targets, batched, bridge, precision, dtype, domain, domain_fn, trace,
                           stop_label, block_size, compaction, place)
        args = place.replicated(RunArgs(
            _padded(start, batched), jnp.asarray(seed, jnp.uint32), jnp.asarray(max_steps, jnp.int32),
            jnp.asarray(first_chain, jnp.int32), jnp.asarray(total, jnp.int32), jnp.asarray(n_chains, jnp.int32),
            jnp.asarray(plan.eps_table, dtype), {k: jnp.asarray(v, dtype) for k, v in plan.kernel_table.items()}))
        saver = None if folder is None else ckpt.Saver(folder, checkpoint_every, digest)
        run = RaceDriver(program, args, total, compaction, _progress_bar(total, progress), saver)
        run.start(batch_size, policy.capacity(total))
        if saved:
            ckpt.restore(run, ckpt.load(folder))
        run.loop()
        buffers = run.results()
    lost = int(np.sum(buffers.outcome == RUNNING))
    if lost:  # every chain must end in exactly one outcome; never drop one silently
        raise RuntimeError(f"engine bug: {lost} of {total} chains finished the run without an outcome")
    traced = None if trace is None else traces.split(buffers.trace, trace)
    state = named_leaves(buffers.state)
    if stop_label is not None:
        state[STOP_LABEL] = buffers.label
    results = [_result(run, buffers, state, config, plan, s, n_chains, targets, traced, trace, position)
               for s in range(plan.size)]
    return results[0] if sweep is None else SweepResult(plan.settings, tuple(results))


def _result(run: RaceDriver, buffers, state, config: RaceConfig, plan, setting: int, n_chains: int, targets,
            traced, trace, position) -> RaceResult:
    """The RaceResult of one setting (chains setting * n_chains ...) of a finished race."""
    rows = slice(setting * n_chains, (setting + 1) * n_chains)
    stop_step = buffers.stop_step[rows].astype(np.int64)
    ideal = int(stop_step.sum())
    work = {"ideal_chain_steps": ideal, "lane_steps": run.lane_steps,
            "efficiency": int(buffers.stop_step.astype(np.int64).sum()) / run.lane_steps if run.lane_steps
            else math.nan,
            "wall_seconds": run.wall_seconds, "compile_seconds": run.compile_seconds, "compiles": run.compiles,
            "compiled": dict(run.compiled),
            "blocks": run.blocks, "dispatches": run.dispatches, "batch_sizes": run.batch_sizes}
    info = config.as_dict()
    if config.sweep is not None:   # this setting's own kernel and tolerances; lane and wall figures are the sweep's
        chosen = plan.kernels[setting]
        info.update(kernel={"name": chosen.name, **chosen.params}, sweep=plan.settings[setting],
                    noise_variance=chosen.noise_variance,
                    targets=[{**t, "eps": float(e)} for t, e in zip(info["targets"], plan.eps_table[setting])])
        work["shared_by_settings"] = plan.size
    result = RaceResult(target_names=tuple(t.name for t in targets), outcome=buffers.outcome[rows],
                        stop_step=stop_step, state={k: v[rows] for k, v in state.items()},
                        config=info, work=work,
                        trace=None if traced is None else {k: v[rows] for k, v in traced.items()},
                        trace_steps=None if trace is None else np.asarray(trace.steps),
                        structure=jax.tree.structure(position) if validate.is_pytree_position(position) else None)
    for message in result.warnings:
        label = f"race (sweep setting {plan.settings[setting]})" if config.sweep is not None else "race"
        warnings.warn(f"{label}: {message}", RaceWarning, stacklevel=4)
    return result


class RaceWarning(UserWarning):
    """A finished race whose estimates mean less than they seem (``RaceResult.warnings``)."""


def _check_first_chain(first_chain, n_chains: int) -> int:
    if isinstance(first_chain, bool) or not isinstance(first_chain, numbers.Integral) or first_chain < 0:
        raise ValueError(f"first_chain must be an int >= 0, got {first_chain!r}")
    if first_chain + n_chains > 2**31 - 1:
        raise ValueError("first_chain + n_chains must stay below 2**31 (chain indices are int32)")
    return int(first_chain)


def _check_bridge(bridge, kernel, targets) -> None:
    if not isinstance(bridge, bool):
        raise TypeError(f"bridge must be a bool, got {type(bridge).__name__}")
    if bridge and kernel.noise_variance is None:
        raise ValueError(f"bridge=True: kernel {kernel.name!r} has no Gaussian increment "
                         "(noise_variance is None), so the bridge correction does not apply")
    if bridge and not any(t.distance for t in targets):
        raise ValueError("bridge=True but no target has distance=True")


def _padded(start, batched: bool):
    """A batched start padded to ``policy.capacity`` rows (repeating row 0), so that nearby chain counts
    share a program; a shared start as it is."""
    if not batched:
        return jax.tree.map(jnp.asarray, start)

    def pad(leaf):
        leaf = np.asarray(leaf)
        extra = policy.capacity(leaf.shape[0]) - leaf.shape[0]
        return jnp.asarray(np.concatenate([leaf, np.repeat(leaf[:1], extra, axis=0)]) if extra else leaf)
    return jax.tree.map(pad, start)


def _config(plan, kernel, targets, start, batched, n_chains, first_chain, max_steps, seed, bridge, precision,
            domain, trace, trace_every, stop_label, sweep, block_size, batch_size, compaction, place) -> RaceConfig:
    """The race's settings in plain values (``RaceConfig``)."""
    return RaceConfig(
        kernel=sweeps.describe_kernel(plan),
        targets=tuple({"name": t.name, "eps": t.eps, "distance": t.distance} for t in targets),
        start="batched" if batched else jax.tree.map(lambda a: a.tolist(), start), n_chains=n_chains,
        first_chain=first_chain, max_steps=max_steps, seed=seed, bridge=bridge, precision=precision,
        domain=validate.describe_domain(domain), trace_every=trace_every,
        observables=None if trace is None else tuple(trace.names),
        stop_label=None if stop_label is None else getattr(stop_label, "__name__", repr(stop_label)),
        sweep=None if sweep is None else {k: [s[k] for s in plan.settings] for k in plan.settings[0]},
        block_size=block_size, batch_size=batch_size, compaction=compaction,
        noise_variance=kernel.noise_variance if plan.factory is None else None,
        jax_version=jax.__version__, device=str(place.devices[0]), n_devices=place.n)


def _program(plan, kernel, targets, batched, bridge, precision, dtype, domain, domain_fn, trace, stop_label,
             block_size, compaction, place) -> ProgramSet:
    """The race program of these functions and flags, keyed for the program cache."""
    chunked = bool(compaction) and place.n == 1    # chunks of a sharded lane axis would move lanes between devices
    lanes = build_lane_functions(kernel if plan.factory is None else None, targets, batched=batched,
                                 bridge=bridge, dtype=dtype, domain=domain_fn, trace=trace, factory=plan.factory)
    key = _structure(plan, kernel, targets, batched, bridge, precision, domain, trace, stop_label, block_size)
    program = build_race_program(lanes, block_size=block_size, stop_label=stop_label, trace=trace, chunked=chunked)
    return ProgramSet(key, program, place, chunked)


def _structure(plan, kernel, targets, batched, bridge, precision, domain, trace, stop_label, block_size) -> tuple:
    """What a race program's code depends on (``engine.programs``): functions by identity, flags, layout."""
    identity = programs.Identity
    traced = None if trace is None else (trace.every, trace.names, trace.sizes, trace.shapes,
                                         tuple(identity(fn) for fn in trace.functions))
    return (identity(kernel if plan.factory is None else plan.factory),
            tuple((identity(t.residual), t.distance) for t in targets), batched, bridge, precision,
            identity(domain), traced, identity(stop_label), block_size)
