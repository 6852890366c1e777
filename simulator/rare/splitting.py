"""Rare races: generalized adaptive multilevel splitting (AMS) on the engine's lanes.

Estimator (Bréhier, Gazeau, Goudenège, Lelièvre & Rousset 2016, Ann. Appl. Probab. 26, 3559,
"generalized AMS"). A run holds n replicas of the path, each run to its end: a target, the
``failure`` set, leaving the ``domain``, divergence, or ``max_steps``. With the score xi(x), a
path's maximum M is the largest xi along it, +inf once it enters a target; a step that ends the
path in failure, escape or divergence adds nothing (-inf). Iteration q = 0, 1, ...:

1. Z_q = the k-th smallest M. If Z_q = +inf, stop.
2. Kill every replica with M <= Z_q (K_q of them: ties included). If K_q = n the run is
   extinct: its target estimates are 0, and it stops.
3. Each killed replica restarts from a uniformly chosen survivor's state at that survivor's
   first step with xi > Z_q (the exact discrete step) and goes on with a fresh stream.
4. W_{q+1} = W_q (1 - K_q / n), kept as a logarithm.

At the end P(target j) = W_Q #{replicas ending in j} / n, unbiased for any n, k and score.
The other outcomes get the mass of the replicas killed in them as well:
P(o) = sum_q W_q #{killed at q ending in o} / n + W_Q #{ending in o} / n, so the estimates of
one run sum to exactly 1 and no replica is dropped. Independent runs give the interval.

Memory does not grow with path length. A replica keeps its current kernel state and the state
where its own segment began (its branch point), with that segment's stream; the state at a
survivor's first step above Z is found by replaying its segment from the branch point (one
compiled step for both, same keys: bitwise the same path). Replays count in ``work``.

Randomness: segment streams are ``streams.segment_keys(seed, run, iteration, replica)``; the
survivors are drawn from ``numpy.random.default_rng([seed, run, iteration])``. So (seed, run)
fixes a run's result, whatever else is batched with it.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from .. import validate
from ..dynamics.base import check_kernel, describe
from ..outcomes import CENSORED, DIVERGED, EMPTY, ESCAPED, FAILURE, RUNNING, TIE
from ..splitting_result import SplittingResult, outcome_columns
from ..targets import Target, check_targets
from ..engine import cache, policy, streams
from ..engine import checkpoint as ckpt
from ..engine.classify import classifier, residual_function
from ..engine.driver import deferred_interrupt

MAX_ITERATIONS = 100_000


class Branch(NamedTuple):
    """One lane of a splitting batch (every field has the lane axis first)."""

    state: NamedTuple        # kernel state
    steps: jax.Array         # steps since the path's start
    status: jax.Array        # outcome code; RUNNING while the path goes on
    score: jax.Array         # xi at the current step (+inf in a target, -inf at failure/escape/divergence)
    path_max: jax.Array      # the largest score so far
    max_step: jax.Array      # the step at which the path first reached path_max
    level: jax.Array         # the lane stops once score > level (a replay); +inf while simulating
    stop_at: jax.Array       # ... or once it has taken this many steps (a replay: the survivor's max_step)
    key: jax.Array           # raw key data of the segment's stream
    origin_step: jax.Array   # step at which the segment began; its step t uses step_key(key, t - origin_step)


# Per-lane fields of a Branch besides the kernel state, with the value that pads an idle lane.
FIELDS = {"steps": 0, "status": EMPTY, "score": -np.inf, "path_max": -np.inf, "max_step": 0, "level": np.inf,
          "stop_at": 0, "key": 0, "origin_step": 0}
FLOATS = ("score", "path_max", "level")


def default_score(targets):
    """xi(x) = -min_k (r_k(x) - eps_k) / eps_k: 0 on the nearest target's boundary, rising toward it."""
    eps = [t.eps for t in targets]
    if min(eps) <= 0:
        raise ValueError("score: the default score -min_k (r_k - eps_k)/eps_k needs eps > 0 for every target; "
                         "pass score=fn(position) -> scalar")

    def score(x, r):
        return -jnp.min((r - jnp.asarray(eps, r.dtype)) / jnp.asarray(eps, r.dtype))
    return score


def build_advance(kernel, targets, *, dtype, domain, failure, score, top=None):
    """``advance(batch, max_steps, eps, n_steps) -> (batch, loops)``: step every lane that runs and has not
    passed its level, up to ``n_steps`` steps or until none does (a ``lax.while_loop``). ``top``: which
    targets are the top level (+inf); entering another ends the path like a failure (-inf)."""
    residuals = residual_function(targets, dtype)
    classify = classifier(domain)
    top = np.ones(len(targets), bool) if top is None else np.asarray(top, bool)
    top_codes = jnp.asarray(top)

    def xi(x, r, code):
        # The top level: entering a ``top`` target (a tie counts when every target is on top).
        inside = ((code >= 0) & top_codes[jnp.maximum(code, 0)]) | ((code == TIE) & bool(top.all()))
        alive = (code == RUNNING) | (code == CENSORED)
        s = jnp.asarray(score(x, r), dtype)
        s = jnp.where(jnp.isnan(s), -jnp.inf, s)
        return jnp.where(inside, jnp.inf, jnp.where(alive, s, -jnp.inf))

    def code_of(x, r, eps, t, max_steps):
        code = classify(x, r, r <= eps)
        if failure is not None:
            code = jnp.where((code == RUNNING) & failure(x), FAILURE, code)
        return jnp.where((code == RUNNING) & (t >= max_steps), CENSORED, code)

    def going(lane):
        return (lane.status == RUNNING) & ~(lane.score > lane.level) & (lane.steps < lane.stop_at)

    def step(lane, max_steps, eps):
        active = going(lane)
        t = lane.steps + 1
        new = kernel.step(streams.step_key(jax.random.wrap_key_data(lane.key), t - lane.origin_step), lane.state)
        r = residuals(new.position)
        code = code_of(new.position, r, eps, t, max_steps)
        s = xi(new.position, r, code)

        def keep(a, b):
            return jnp.where(active, a, b)
        record = active & (s > lane.path_max)
        return lane._replace(state=jax.tree.map(keep, new, lane.state), steps=keep(t, lane.steps),
                             status=keep(code, lane.status), score=keep(s, lane.score),
                             path_max=keep(jnp.maximum(lane.path_max, s), lane.path_max),
                             max_step=jnp.where(record, t, lane.max_step))

    def advance(batch, max_steps, eps, n_steps):
        step_all = jax.vmap(step, (0, None, None))

        def cond(carry):
            i, b = carry
            return (i < n_steps) & jnp.any(jax.vmap(going)(b))

        def body(carry):
            i, b = carry
            return i + 1, step_all(b, max_steps, eps)
        loops, batch = jax.lax.while_loop(cond, body, (jnp.int32(0), batch))
        return batch, loops

    def first(x, eps, max_steps):
        """State, code and score of a path's start."""
        r = residuals(x)
        code = code_of(x, r, eps, jnp.int32(0), max_steps)
        return kernel.init(x), code, xi(x, r, code)

    return jax.jit(advance, donate_argnums=0), first   # ``first`` runs once, op by op: no program to compile


def _check_failure(failure):
    if failure is None or callable(failure) and not isinstance(failure, Target):
        return failure
    if isinstance(failure, Target):
        return lambda x: failure.residual(x) <= failure.eps
    raise TypeError(f"failure must be a sim.Target or a function position -> bool, got {type(failure).__name__}")


def _check_score(score, targets, position):
    """``score(x, r)`` from the user's ``score(x)`` (checked: a floating scalar), or the default."""
    if score is None:
        return default_score(targets), "default: -min_k (r_k - eps_k)/eps_k"
    if not callable(score):
        raise TypeError(f"score must be a function position -> scalar, got {type(score).__name__}")
    out = validate.check_predicate("score", score, position)
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(f"score must return a floating-point scalar, got {out.dtype}")
    return (lambda x, r: score(x)), describe(score)


def _check_k(k, n_replicas):
    if k is None:
        return max(1, n_replicas // 10)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if not 1 <= k < n_replicas:
        raise ValueError(f"k must satisfy 1 <= k < n_replicas = {n_replicas}, got {k}")
    return int(k)


def splitting(kernel, targets, start, *, score=None, n_replicas: int = 1000, k: int | None = None,
              n_runs: int = 20, max_steps: int, seed: int = 0, domain=None, failure=None, top=None,
              precision: str = "float32", block_size: int = policy.DEFAULT_BLOCK_SIZE,
              max_iterations: int = MAX_ITERATIONS, progress: bool | None = None, checkpoint=None,
              checkpoint_every: float = 60.0, resume: bool = False) -> SplittingResult:
    """Probabilities of rare first hits by generalized AMS: ``n_runs`` independent runs of ``n_replicas``.

    Args:
        kernel, targets, max_steps, seed, domain, precision, block_size, progress,
            checkpoint, checkpoint_every, resume: as for ``sim.race``.
        start: one position, or a batch of ``n_runs * n_replicas`` (replica i of run r starts at
            ``start[r * n_replicas + i]``: i.i.d. draws of a start distribution, e.g. uniform in a ball).
        score: ``fn(position) -> float scalar``, larger nearer a target; entering a target counts as
            +inf. Default: -min_k (r_k - eps_k)/eps_k (needs every eps > 0).
        n_replicas: replicas per run (n); the relative variance of one run's estimate is about
            |ln p| / n with a good score.
        k: the level is the k-th smallest path maximum; every replica at or below it is killed
            (default n_replicas // 10: few iterations, about n |ln p| / k).
        n_runs: independent runs (>= 2); the interval is the Student-t interval across them.
        failure: optional set ending a path, e.g. the start's basin (a ``sim.Target`` or
            ``fn(position) -> bool``); outcome ``failure``.
        max_iterations: a run still going after this many iterations stops, with a warning.
        top: names of the targets that are the top level (default: all). Entering another target ends
            the path as a failure does; its probability is still estimated (from the mass killed there),
            so a rare target can be split for while a common one competes with it.

    Returns:
        A ``SplittingResult``: ``probability(name)``, ``ratio(a, b)``, ``runs``, ``work``.
    """
    kernel = check_kernel(kernel)
    targets = check_targets(targets)
    n_replicas = validate.positive_int("n_replicas", n_replicas)
    if n_replicas < 2:
        raise ValueError(f"n_replicas must be >= 2, got {n_replicas}")
    k = _check_k(k, n_replicas)
    n_runs = validate.positive_int("n_runs", n_runs)
    if n_runs < 2:
        raise ValueError(f"n_runs must be >= 2 (the interval comes from the spread across runs), got {n_runs}")
    max_steps = validate.positive_int("max_steps", max_steps, validate.MAX_STEPS_LIMIT)
    seed = validate.check_seed(seed)
    block_size = validate.positive_int("block_size", block_size)
    max_iterations = validate.positive_int("max_iterations", max_iterations)
    precision = validate.choice("precision", precision, ("float32", "float64"))
    checkpoint_every = validate.non_negative("checkpoint_every", checkpoint_every)
    failure_fn = _check_failure(failure)
    domain_fn = validate.check_domain(domain)
    cache.enable_persistent_cache()

    with streams.numerics(precision):
        dtype = jnp.dtype(precision)
        L = n_runs * n_replicas
        start, batched = validate.resolve_start(start, L, None, dtype)
        position = validate.position_shapes(start, batched, dtype)
        validate.check_shapes(kernel, targets, position)
        for name, fn in (("domain", domain_fn), ("failure", failure_fn)):
            if fn is not None:
                validate.check_predicate(name, fn, position)
        score_fn, score_name = _check_score(score, targets, position)
        eps = jnp.asarray([t.eps for t in targets], dtype)
        top_mask = _check_top(top, targets)
        advance, first = build_advance(kernel, targets, dtype=dtype, domain=domain_fn, failure=failure_fn,
                                       score=score_fn, top=top_mask)
        starts = jax.tree.map(jnp.asarray, start)
        if batched:
            state0, code0, score0 = jax.vmap(first, (0, None, None))(starts, eps, jnp.int32(max_steps))
        else:
            state0, code0, score0 = jax.tree.map(lambda a: a[None], first(starts, eps, jnp.int32(max_steps)))
        _check_start(np.asarray(code0), targets)
        config = {"method": "generalized AMS (Brehier et al. 2016)", "kernel": {"name": kernel.name, **kernel.params},
                  "targets": [{"name": t.name, "eps": t.eps} for t in targets],
                  "start": "batched" if batched else jax.tree.map(lambda a: a.tolist(), start), "score": score_name,
                  "top": [t.name for t, on in zip(targets, top_mask) if on],
                  "n_replicas": n_replicas, "k": k, "n_runs": n_runs, "max_steps": max_steps, "seed": seed,
                  "domain": validate.describe_domain(domain), "failure": None if failure is None else describe(
                      failure_fn if not isinstance(failure, Target) else failure.residual),
                  "precision": precision, "max_iterations": max_iterations,
                  "jax_version": jax.__version__, "device": str(jax.devices()[0])}
        digest = ckpt.identity_digest({k_: v for k_, v in config.items() if k_ != "device"}, start)
        folder, resume = ckpt.resolve(checkpoint, resume, digest)
        saved = ckpt.prepare_folder(folder, resume, digest, checkpoint is not None) if folder is not None else False
        loop = SplittingLoop(advance, targets, state0, np.asarray(score0, np.float64), n_runs=n_runs, n_replicas=n_replicas, k=k,
                             max_steps=max_steps, seed=seed, eps=eps, block_size=block_size,
                             max_iterations=max_iterations, dtype=dtype,
                             saver=None if folder is None else ckpt.Saver(folder, checkpoint_every, digest,
                                                                       SplittingLoop.snapshot),
                             bar=None if progress is False else tqdm(
                                 total=n_runs, unit="run", desc="splitting", leave=False,
                                 delay=0 if progress == "always" else 2.0))
        if saved:
            loop.restore(ckpt.load(folder))
        loop.run()
    config["checkpoint"] = None if folder is None else str(folder)
    result = loop.result(config, tuple(t.name for t in targets))
    for message in result.warnings:
        warnings.warn(f"splitting: {message}", SplittingWarning, stacklevel=2)
    return result


class SplittingWarning(UserWarning):
    """A splitting run whose estimate means less than it seems (``SplittingResult.warnings``)."""


def _check_top(top, targets) -> np.ndarray:
    """Mask of the top-level targets from a list of names (None: all)."""
    names = [t.name for t in targets]
    if top is None:
        return np.ones(len(targets), bool)
    if isinstance(top, str):
        top = [top]
    try:
        top = list(top)
    except TypeError:
        raise TypeError(f"top must be a list of target names, got {type(top).__name__}") from None
    unknown = [name for name in top if name not in names]
    if unknown or not top:
        raise ValueError(f"top must name one or more of the targets {names}, got {top!r}")
    return np.array([name in top for name in names])


def _check_start(codes: np.ndarray, targets) -> None:
    """A start inside a target or the failure set has a trivial answer: say so rather than run."""
    bad = np.flatnonzero(codes != RUNNING)
    if bad.size == 0:
        return
    where = "start" if codes.size == 1 else f"start[{bad[0]}] (and {bad.size - 1} more)" if bad.size > 1 \
        else f"start[{bad[0]}]"
    code = int(codes[bad[0]])
    try:
        _refuse(code, targets)
    except ValueError as err:
        raise ValueError(str(err).replace("start", where, 1)) from None


def _refuse(code: int, targets) -> None:
    if code >= 0:
        raise ValueError(f"start is already inside target {targets[code].name!r}: P({targets[code].name}) = 1, "
                         "nothing to estimate")
    if code == TIE:
        raise ValueError("start is already inside two targets at once: nothing to estimate")
    if code == FAILURE:
        raise ValueError("start is already inside the failure set: every target's probability is 0")
    if code == ESCAPED:
        raise ValueError("start is outside the domain: every path ends 'escaped' at step 0")
    if code == DIVERGED:
        raise ValueError("start gives a non-finite residual: every path ends 'diverged' at step 0")


class SplittingLoop:
    """The host side: the population of all runs' replicas, iterations, replays, clones, checkpoints.

    Lane r * n + i holds replica i of run r. Small per-lane numbers (steps, status, maxima, keys)
    live on the host; the kernel states (current and branch point) stay on the device.
    """

    def __init__(self, advance, targets, state0, score0, *, n_runs, n_replicas, k, max_steps, seed, eps,
                 block_size, max_iterations, dtype, saver=None, bar=None):
        self.advance, self.targets = advance, targets
        self.R, self.n, self.k = n_runs, n_replicas, k
        self.max_steps, self.seed, self.eps, self.block_size = max_steps, seed, eps, block_size
        self.max_iterations, self.dtype, self.saver, self.bar = max_iterations, dtype, saver, bar
        L = n_runs * n_replicas
        tile = lambda a: jnp.broadcast_to(a, (L,) + jnp.shape(a)[1:])   # noqa: E731  (one start, or L of them)
        self.state = jax.tree.map(lambda a: jnp.array(tile(a)), state0)
        self.origin = jax.tree.map(lambda a: jnp.array(tile(a)), state0)
        score0 = np.broadcast_to(score0, (L,))
        self.steps = np.zeros(L, np.int32)
        self.status = np.full(L, RUNNING, np.int32)
        self.path_max = np.array(score0, np.float64)
        self.origin_step = np.zeros(L, np.int32)
        self.max_step = np.zeros(L, np.int32)
        self.origin_status = np.full(L, RUNNING, np.int32)
        self.origin_score = np.array(score0, np.float64)
        runs, replicas = np.divmod(np.arange(L), n_replicas)
        self.key = self._keys(runs, np.zeros(L, np.int64), replicas)
        self.columns = outcome_columns(len(targets))
        self.log_weight = np.zeros(n_runs)
        self.log_mass = np.full((n_runs, len(self.columns)), -np.inf)   # killed mass per outcome
        self.iteration = 0
        self.finished = np.zeros(n_runs, bool)
        self.extinct = np.zeros(n_runs, bool)
        self.stopped_early = np.zeros(n_runs, bool)
        self.iterations = np.zeros(n_runs, np.int64)
        self.levels = [[] for _ in range(n_runs)]
        self.killed = [[] for _ in range(n_runs)]
        self.work = {"chain_steps": 0, "replay_steps": 0, "replay_mismatches": 0, "lane_steps": 0, "device_calls": 0}
        self.widths = set()
        self.elapsed_before = 0.0
        self.simulated = False          # the current population's running paths have been run

    def _keys(self, runs, iterations, replicas):
        return np.array(streams.segment_keys(self.seed, jnp.asarray(runs, jnp.uint32),
                                               jnp.asarray(iterations, jnp.uint32),
                                               jnp.asarray(replicas, jnp.uint32)))

    # -- running a set of lanes ------------------------------------------------------------------
    def _run_lanes(self, source, src, fields: dict):
        """Advance lanes ``source[src]`` (a device pytree of kernel states; ``fields``: numpy per-lane
        arrays named as in ``FIELDS``) until each stops.

        Batches are padded to a power of two, so each width compiles once (gathers and scatters
        too); blocks grow from ``MIN_BLOCK`` steps to ``block_size``, and between blocks the batch is
        compacted once at most half its lanes still go, so lane-steps track chain-steps. Returns the
        final states (padded: rows ``len(src)`` on are filler), the advanced fields, and the chain-steps."""
        count = src.size
        width = policy.compacted_width(count)
        host = {name: np.array(values) for name, values in fields.items()}
        before = host["steps"].astype(np.int64).sum()
        index = _padded_index(src, width)
        out_state = _take(source, index)      # a copy of its own: ``advance`` donates the batch's
        rows = np.concatenate([np.arange(count), np.full(width - count, -1)])   # output row; -1: filler
        batch = self._batch(_take(source, index), host)
        n_steps = policy.MIN_BLOCK
        while True:
            batch, loops = self.advance(batch, jnp.int32(self.max_steps), self.eps, jnp.int32(n_steps))
            n_steps = min(2 * n_steps, self.block_size)
            self.work["lane_steps"] += int(loops) * rows.size
            self.work["device_calls"] += 1
            # only the per-lane numbers come to the host; the kernel states stay on the device
            now = {name: np.asarray(a) for name, a in jax.device_get({k: getattr(batch, k) for k in FIELDS}).items()}
            go = (now["status"] == RUNNING) & ~(now["score"] > now["level"]) & (now["steps"] < now["stop_at"]) \
                & (rows >= 0)
            n_go = int(go.sum())
            if n_go and (n_go > rows.size // 2 or rows.size <= policy.MIN_BATCH):
                continue
            real = np.flatnonzero(rows >= 0)
            for name in host:
                host[name][rows[real]] = now[name][real]
            out_state = _put(out_state, jnp.asarray(np.where(rows >= 0, rows, width)), batch.state)
            if not n_go:
                break
            keep = np.flatnonzero(go)
            narrow = policy.compacted_width(n_go)
            batch = self._batch(_take(batch.state, _padded_index(keep, narrow)),
                                {name: now[name][keep] for name in host})
            rows = np.concatenate([rows[keep], np.full(narrow - n_go, -1)])
        work = int(host["steps"].astype(np.int64).sum() - before)
        return out_state, host, work

    def _batch(self, state, fields: dict) -> Branch:
        """A device batch: ``state`` already has the padded width; the fields are padded with idle lanes."""
        width = jax.tree.leaves(state)[0].shape[0]
        self.widths.add(width)

        def padded(name):
            a = np.asarray(fields[name], np.float64 if name in FLOATS else None)
            pad = np.full((width - a.shape[0],) + a.shape[1:], FIELDS[name], a.dtype)
            return jnp.asarray(np.concatenate([a, pad]), self.dtype if name in FLOATS else None)
        return Branch(state=state, **{name: padded(name) for name in FIELDS})

    def _lane_fields(self, lanes, origin: bool, level=None, stop_at=None) -> dict:
        """The fields of ``lanes``: at their current step, or (``origin``) at their segment's start."""
        at = self.origin_step[lanes]
        return {"steps": at if origin else self.steps[lanes],
                "status": self.origin_status[lanes] if origin else self.status[lanes],
                "score": self.origin_score[lanes],   # a running lane is at its segment's start, too
                "path_max": self.origin_score[lanes] if origin else self.path_max[lanes],
                "max_step": at if origin else self.max_step[lanes],
                "level": np.full(lanes.size, np.inf) if level is None else level,
                "stop_at": np.full(lanes.size, np.iinfo(np.int32).max) if stop_at is None else stop_at,
                "key": self.key[lanes], "origin_step": at}

    def _simulate(self):
        """Run every lane whose path goes on to its end."""
        lanes = np.flatnonzero(self.status == RUNNING)
        if lanes.size:
            state, out, work = self._run_lanes(self.state, lanes, self._lane_fields(lanes, origin=False))
            self.state = _put(self.state, self._destination(lanes, state), state)
            for name in ("steps", "status", "path_max", "max_step"):
                getattr(self, name)[lanes] = out[name]
            self.work["chain_steps"] += work
        self.simulated = True

    def _destination(self, lanes, padded_state):
        """Scatter rows for ``lanes``, padded to the batch's width with an out-of-range row (dropped)."""
        width = jax.tree.leaves(padded_state)[0].shape[0]
        return jnp.asarray(np.concatenate([lanes, np.full(width - lanes.size, self.steps.size)]))

    # -- one iteration ---------------------------------------------------------------------------
    def _iterate(self):
        """Level, kill, replay and clone in every run that goes on."""
        n, q = self.n, self.iteration
        M = self.path_max.reshape(self.R, n)
        active = ~self.finished
        Z = np.partition(M, self.k - 1, axis=1)[:, self.k - 1]
        done = active & (Z == np.inf)
        self.finished |= done
        going = active & ~done
        capped = going & (self.iterations >= self.max_iterations)
        self.stopped_early |= capped
        self.finished |= capped
        going &= ~capped
        victims, parents, levels = [], [], []
        for r in np.flatnonzero(going):
            killed = M[r] <= Z[r]
            K = int(killed.sum())
            self.levels[r].append(float(Z[r]))
            self.killed[r].append(K)
            self.iterations[r] += 1
            codes = self.status[r * n:(r + 1) * n][killed]
            self._add_mass(r, self.log_weight[r], codes)
            if K == n:
                self.extinct[r] = self.finished[r] = True
                self.log_weight[r] = -np.inf
                continue
            self.log_weight[r] += math.log1p(-K / n)
            survivors = np.flatnonzero(~killed)
            rng = np.random.default_rng([self.seed, r, q])
            victims.append(r * n + np.flatnonzero(killed))
            parents.append(r * n + survivors[rng.integers(0, survivors.size, K)])
            levels.append(np.full(K, Z[r]))
        if not victims:
            return
        victims, parents, levels = map(np.concatenate, (victims, parents, levels))
        # Replay each chosen survivor's own segment from its branch point to its first step above Z. It
        # stops at the latest at the step where the survivor reached its maximum: a batch of another
        # width may round a float kernel differently in the last bit (counted as ``replay_mismatches``).
        state, out, work = self._run_lanes(self.origin, parents,
                                           self._lane_fields(parents, origin=True, level=levels,
                                                             stop_at=self.max_step[parents]))
        self.work["replay_steps"] += work
        self.work["replay_mismatches"] += int(np.sum(~(out["score"] > levels)))
        rows = self._destination(victims, state)
        self.state = _put(self.state, rows, state)
        self.origin = _put(self.origin, rows, state)
        self.steps[victims] = self.origin_step[victims] = self.max_step[victims] = out["steps"]
        self.status[victims] = self.origin_status[victims] = out["status"]
        self.path_max[victims] = self.origin_score[victims] = out["score"]
        runs, replicas = np.divmod(victims, n)
        self.key[victims] = self._keys(runs, np.full(victims.size, q + 1), replicas)
        self.simulated = False

    def _add_mass(self, r, log_weight, codes):
        """Add weight * (count / n) per outcome of ``codes`` to run r's mass (log space)."""
        if codes.size == 0 or log_weight == -np.inf:
            return
        for column, code in enumerate(self.columns):
            c = int(np.sum(codes == code))
            if c:
                self.log_mass[r, column] = np.logaddexp(self.log_mass[r, column],
                                                        log_weight + math.log(c / self.n))

    def run(self):
        t0 = time.perf_counter()
        with deferred_interrupt() as interrupted:
            while not self.finished.all():
                if not self.simulated:
                    self._simulate()
                before = int(self.finished.sum())
                self._iterate()
                self.iteration += 1
                if self.bar is not None:
                    self.bar.update(int(self.finished.sum()) - before)
                    self.bar.set_postfix(iteration=self.iteration)
                if self.saver is not None:
                    self.saver.maybe_save(self, self.elapsed_before + time.perf_counter() - t0)
                if interrupted():
                    if self.saver is not None:
                        self.saver.save(self, self.elapsed_before + time.perf_counter() - t0)
                    raise KeyboardInterrupt
        self.wall_seconds = self.elapsed_before + time.perf_counter() - t0
        if self.bar is not None:
            self.bar.close()
        if self.saver is not None:
            self.saver.save(self, self.wall_seconds, done=True)

    # -- checkpoints (``checkpoint.Saver`` calls ``snapshot``) --------------------------------------
    HOST = ("steps", "status", "path_max", "max_step", "origin_step", "origin_status", "origin_score", "key", "log_weight",
            "log_mass", "finished", "extinct", "stopped_early", "iterations")

    def snapshot(self, elapsed):
        out = {f"state.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(jax.device_get(self.state)))}
        out.update({f"origin.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(jax.device_get(self.origin)))})
        out.update({name: getattr(self, name) for name in self.HOST})
        out.update(levels=_pad(self.levels), killed=_pad(self.killed), iteration=np.asarray(self.iteration),
                   simulated=np.asarray(self.simulated), elapsed=np.asarray(elapsed),
                   **{f"work.{k}": np.asarray(v) for k, v in self.work.items()})
        return out

    def restore(self, data):
        for field in ("state", "origin"):
            leaves = [jnp.asarray(data[f"{field}.{i}"]) for i in range(len(jax.tree.leaves(getattr(self, field))))]
            setattr(self, field, jax.tree.unflatten(jax.tree.structure(getattr(self, field)), leaves))
        for name in self.HOST:
            setattr(self, name, data[name].copy())
        self.levels = [[float(z) for z in row[:m]] for row, m in zip(data["levels"], self.iterations)]
        self.killed = [[int(c) for c in row[:m]] for row, m in zip(data["killed"], self.iterations)]
        self.iteration, self.simulated = int(data["iteration"]), bool(data["simulated"])
        self.elapsed_before = float(data["elapsed"])
        self.work = {k: int(data[f"work.{k}"]) for k in self.work}

    # -- the answer ------------------------------------------------------------------------------
    def result(self, config, target_names) -> SplittingResult:
        log_estimate = self.log_mass.copy()
        for r in range(self.R):   # the final population's share, W_Q * count / n
            if not self.extinct[r]:
                codes = self.status[r * self.n:(r + 1) * self.n]
                for column, code in enumerate(self.columns):
                    c = int(np.sum(codes == code))
                    if c:
                        log_estimate[r, column] = np.logaddexp(log_estimate[r, column],
                                                               self.log_weight[r] + math.log(c / self.n))
        work = dict(self.work, iterations=int(self.iterations.sum()), wall_seconds=self.wall_seconds,
                    widths=sorted(self.widths))
        total = work["chain_steps"] + work["replay_steps"]
        work["replay_fraction"] = work["replay_steps"] / total if total else 0.0
        runs = {"log_estimate": log_estimate, "iterations": self.iterations.copy(), "extinct": self.extinct.copy(),
                "stopped_early": self.stopped_early.copy(), "log_weight": self.log_weight.copy(),
                "levels": _pad(self.levels), "killed": _pad(self.killed)}
        return SplittingResult(target_names=target_names, runs=runs, config=config, work=work)


@jax.jit
def _take(tree, index):
    """Rows ``index`` of every leaf."""
    return jax.tree.map(lambda a: a[index], tree)


@jax.jit
def _put(tree, index, values):
    """``tree`` with rows ``index`` set to ``values``' rows (an out-of-range index is dropped)."""
    return jax.tree.map(lambda a, v: a.at[index].set(v, mode="drop"), tree, values)


def _padded_index(index, width: int) -> np.ndarray:
    """``index`` padded to ``width`` by repeating its first entry."""
    return np.concatenate([index, np.full(width - index.size, index[0])])


def _pad(rows) -> np.ndarray:
    """Ragged per-run lists as one (runs, longest) array, NaN-padded."""
    width = max([len(r) for r in rows] + [1])
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


