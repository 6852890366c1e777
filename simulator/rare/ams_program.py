"""The splitting program: many generalized-AMS iterations of every run in one device dispatch.

Lane r * n + i holds replica i of run r (``Branches``), with the state where its own segment
began (``Origins``). One call of ``run(carry, args, limits)`` is a ``lax.while_loop`` over
iterations; each iteration, for every run that goes on:

1. the level Z = the k-th smallest path maximum (a sort per run);
2. every replica at or below Z is killed (ties included); a run whose replicas are all killed is
   extinct; a run with Z = +inf, or at ``max_iterations``, is finished;
3. each killed replica picks a survivor uniformly (``streams.survivor_keys(seed, run, q)``);
4. it replays the survivor's segment from the survivor's branch point to its first step with
   score > Z (same keys, bitwise the same path), which becomes its own branch point, and goes on
   with a fresh segment stream (``streams.segment_keys(seed, run, q + 1, replica)``) to the end.

The iteration's level, kill count and killed outcomes per run go into a log (``Log``) that the
host reads after the dispatch; the host keeps the weights in float64 (``rare.splitting``). The
dispatch returns when every run has finished, when the log is full, or when its budget of
lane-steps is spent. Replays and simulations run the lanes that need them in passes of
``width`` lanes (gathered, stepped until each stops, scattered back), so that the work tracks the
killed replicas, not the whole population.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import policy, streams
from ..engine.program import in_passes, over_chunks, where_rows
from ..outcomes import RUNNING

INT_MAX = np.iinfo(np.int32).max
CHUNKS = 4         # a pass of W lanes steps the lanes that still go W / CHUNKS at a time (16 chunks
                   # made the double-well benchmark's 256-lane passes 1.3x slower on 2 CPU cores)


def chunk_width(width: int, platform: str = "cpu") -> int:
    """Lanes a pass of ``width`` lanes steps together. On a CPU ``policy.chunk_width`` with CHUNKS chunks
    (at least ``policy.MIN_CHUNK`` = 8 lanes each), and every step of every lane uses that one width: a replay
    then rounds its scores as the path did, bitwise (a pass that stepped its whole width while busy and
    chunks once half idle read 3 replays in 300 off by an ulp on the gl2 square residual), and a narrow
    chunk was also faster per lane there (1.4 against 9.3 us per lane-step at 32 lanes: gl2-shapes'
    diffusive segment/square splitting at eps 0.1, 4 x 50 replicas, 39 s -> 7.6 s, same estimates).
    Elsewhere (GPU, TPU) the whole width, where idle lanes cost little (not measured)."""
    return policy.chunk_width(width, chunked=platform == "cpu", chunks=CHUNKS, min_width=0)


class Branches(NamedTuple):
    """The replicas (every field has the lane axis first)."""

    state: NamedTuple        # kernel state
    steps: jax.Array         # steps since the path's start
    status: jax.Array        # outcome code; RUNNING while the path goes on
    score: jax.Array         # xi at the current step (+inf in a top target, -inf at failure/escape/divergence)
    path_max: jax.Array      # the largest score so far
    max_step: jax.Array      # the step at which the path first reached path_max
    level: jax.Array         # the lane stops once score > level (a replay); +inf while simulating
    stop_at: jax.Array       # ... or once it has taken this many steps (a replay: the survivor's max_step)
    key: jax.Array           # raw key data of the segment's stream
    origin_step: jax.Array   # step at which the segment began; its step t uses step_key(key, t - origin_step)


class Origins(NamedTuple):
    """Each replica's branch point: where its segment began."""

    state: NamedTuple
    status: jax.Array
    score: jax.Array


class Runs(NamedTuple):
    finished: jax.Array       # (R,) bool
    extinct: jax.Array        # (R,) bool: every replica killed at once
    stopped_early: jax.Array  # (R,) bool: reached max_iterations
    iterations: jax.Array     # (R,) int32


class Log(NamedTuple):
    """What the host needs of each iteration of this dispatch (rows 0 .. used - 1)."""

    level: jax.Array          # (cap, R): Z, NaN for a run that did not iterate
    killed: jax.Array         # (cap, R): K
    counts: jax.Array         # (cap, R, columns): killed replicas per outcome column
    used: jax.Array           # int32


class Work(NamedTuple):
    """Counters of this dispatch (int32; the driver resets them and adds them up in Python ints)."""

    chain_steps: jax.Array    # (L,) steps simulated per lane
    replay_steps: jax.Array   # (L,) steps replayed per lane
    loops: jax.Array          # chunk-steps of the passes (lane-steps are loops x ``AmsPrograms.chunk``)
    mismatches: jax.Array     # replays that ended at the survivor's maximum without passing Z (rounding)


class AmsCarry(NamedTuple):
    branches: Branches
    origins: Origins
    runs: Runs
    log: Log
    work: Work
    iteration: jax.Array      # int32: q, the same for every run


class AmsArgs(NamedTuple):
    seed: jax.Array           # uint32
    k: jax.Array              # int32
    max_steps: jax.Array      # int32
    max_iterations: jax.Array  # int32
    eps: jax.Array            # (n_targets,)
    budget: jax.Array         # int32: pass steps (lane-steps / width) after which no new iteration starts


class AmsProgram(NamedTuple):
    simulate: Callable        # (carry, args) -> carry: run every path that goes on to its end
    run: Callable             # (carry, args) -> carry: iterations until done, log full or budget spent


def build_ams_program(step: Callable, going: Callable, *, n_runs: int, n_replicas: int, width: int,
                      columns: list, log_size: int, block_size: int, chunk: int) -> AmsProgram:
    """``step(lane, max_steps, eps) -> lane``, ``going(lane) -> bool``: on one ``Branches`` row; a pass
    steps ``chunk`` lanes at a time (``chunk_width``)."""
    n, L = n_replicas, n_runs * n_replicas
    step_all = jax.vmap(step, (0, None, None))
    codes = jnp.asarray(columns, jnp.int32)

    def block(lanes: Branches, args: AmsArgs) -> Branches:
        return jax.lax.fori_loop(0, block_size, lambda _, b: step_all(b, args.max_steps, args.eps), lanes)

    def until_stopped(lanes: Branches, rows, args: AmsArgs):
        """Step the lanes until none goes, ``block_size`` steps at a time, only the chunks that hold going
        lanes (those, and their ``rows``, are moved first). Returns the lanes, their rows and the
        chunk-steps taken (lane-steps / chunk)."""
        def cond(carry):
            return jnp.any(jax.vmap(going)(carry[1]))

        def body(carry):
            count, lanes, rows = carry
            go = jax.vmap(going)(lanes)
            order = jnp.argsort(~go, stable=True)
            lanes, rows = jax.tree.map(lambda a: a[order], lanes), rows[order]
            n_chunks = (go.sum(dtype=jnp.int32) + chunk - 1) // chunk
            if chunk == width:
                return count + block_size, block(lanes, args), rows
            lanes, _ = over_chunks(lambda state: (block(state[0], args), None), lanes, None, n_chunks=n_chunks,
                                   size=chunk)
            return count + block_size * n_chunks, lanes, rows
        return jax.lax.while_loop(cond, body, (jnp.int32(0), lanes, rows))

    def run_lanes(branches: Branches, todo, args: AmsArgs):
        """Run the lanes ``todo`` until each stops, ``width`` at a time; returns branches and chunk-steps."""
        def body(state, index, valid):
            branches, count = state
            part = jax.tree.map(lambda a: a[index], branches)
            part = part._replace(stop_at=jnp.where(valid, part.stop_at, 0))     # filler lanes do not move
            steps, part, rows = until_stopped(part, jnp.where(valid, index, L), args)
            return jax.tree.map(lambda a, b: a.at[rows].set(b, mode="drop"), branches, part), count + steps
        return in_passes(todo, width, body, (branches, jnp.int32(0)))

    def simulate(carry: AmsCarry, args: AmsArgs) -> AmsCarry:
        todo, w = carry.branches.status == RUNNING, carry.work
        branches, loops = run_lanes(carry.branches, todo, args)
        moved = jnp.where(todo, branches.steps - carry.branches.steps, 0)
        work = w._replace(chain_steps=w.chain_steps + moved, loops=w.loops + loops)
        return carry._replace(branches=branches, work=work)

    def replay_from(carry: AmsCarry, victims, parent, Z) -> AmsCarry:
        """Each victim takes its survivor's branch point, to replay its segment up to the first score > Z."""
        b, o = carry.branches, carry.origins

        def take(a):
            return a[parent]
        start = Branches(state=jax.tree.map(take, o.state), steps=take(b.origin_step), status=take(o.status),
                         score=take(o.score), path_max=take(o.score), max_step=take(b.origin_step),
                         level=jnp.repeat(Z, n), stop_at=take(b.max_step), key=take(b.key),
                         origin_step=take(b.origin_step))
        return carry._replace(branches=jax.tree.map(where_rows(victims), start, b))

    def branch_points(carry: AmsCarry, args: AmsArgs, victims) -> AmsCarry:
        """A replayed victim's state is its new branch point; it goes on with a fresh segment stream."""
        b, o, pick = carry.branches, carry.origins, where_rows(victims)
        lane = jnp.arange(L, dtype=jnp.uint32)
        fresh = streams.segment_keys(args.seed, lane // n, jnp.full(L, carry.iteration + 1, jnp.uint32), lane % n)
        branches = b._replace(path_max=jnp.where(victims, b.score, b.path_max),
                              max_step=jnp.where(victims, b.steps, b.max_step),
                              level=jnp.where(victims, jnp.inf, b.level),
                              stop_at=jnp.where(victims, INT_MAX, b.stop_at),
                              key=pick(fresh, b.key), origin_step=jnp.where(victims, b.steps, b.origin_step))
        origins = Origins(jax.tree.map(pick, b.state, o.state), jnp.where(victims, b.status, o.status),
                          jnp.where(victims, b.score, o.score))
        return carry._replace(branches=branches, origins=origins)

    def iterate(carry: AmsCarry, args: AmsArgs) -> AmsCarry:
        Z, going, killed, K, extinct, runs = levels(carry, args)
        log = record(carry.log, Z, going, killed, K, carry.branches.status, codes)
        victims = (killed & (going & ~extinct)[:, None]).reshape(L)
        carry = replay_from(carry._replace(runs=runs, log=log), victims, parents(carry, args, killed, K), Z)

        def phase(p, carry):       # 0: replay the victims; 1: run on those still going (one traced copy of both)
            replay = p == 0
            todo = victims & (replay | (carry.branches.status == RUNNING))
            before = carry.branches.steps
            branches, loops = run_lanes(carry.branches, todo, args)
            moved = jnp.where(todo, branches.steps - before, 0)
            missed = (todo & ~(branches.score > branches.level)).sum(dtype=jnp.int32)
            w = carry.work
            work = w._replace(replay_steps=w.replay_steps + jnp.where(replay, moved, 0),
                              chain_steps=w.chain_steps + jnp.where(replay, 0, moved), loops=w.loops + loops,
                              mismatches=w.mismatches + jnp.where(replay, missed, 0))
            carry = carry._replace(branches=branches, work=work)
            return jax.lax.cond(replay, lambda c: branch_points(c, args, victims), lambda c: c, carry)

        carry = jax.lax.fori_loop(0, 2, phase, carry)
        return carry._replace(iteration=carry.iteration + 1)

    def run(carry: AmsCarry, args: AmsArgs) -> AmsCarry:
        def cond(carry):
            return (~carry.runs.finished.all() & (carry.log.used < log_size)
                    & (carry.work.loops < args.budget))
        return jax.lax.while_loop(cond, lambda c: iterate(c, args), carry)

    return AmsProgram(simulate, run)


def levels(carry: AmsCarry, args: AmsArgs):
    """Z per run, the killed replicas, and the runs' new flags."""
    R, n = carry.runs.finished.shape[0], carry.branches.path_max.shape[0] // carry.runs.finished.shape[0]
    M = carry.branches.path_max.reshape(R, n)
    Z = jnp.take(jnp.sort(M, axis=1), args.k - 1, axis=1)
    runs = carry.runs
    active = ~runs.finished
    done = active & (Z == jnp.inf)
    capped = active & ~done & (runs.iterations >= args.max_iterations)
    going = active & ~done & ~capped
    killed = going[:, None] & (M <= Z[:, None])
    K = killed.sum(axis=1, dtype=jnp.int32)
    extinct = going & (K == n)
    runs = Runs(finished=runs.finished | done | capped | extinct, extinct=runs.extinct | extinct,
                stopped_early=runs.stopped_early | capped, iterations=runs.iterations + going)
    return Z, going, killed, K, extinct, runs

def record(log: Log, Z, going, killed, K, status, codes) -> Log:
    """The iteration's row of the log: Z, K and the killed replicas per outcome column (``codes``)."""
    status = status.reshape(killed.shape)
    counts = ((status[:, :, None] == codes) & killed[:, :, None]).sum(axis=1, dtype=jnp.int32)
    row = log.used
    return Log(level=log.level.at[row].set(jnp.where(going, Z, jnp.nan)),
               killed=log.killed.at[row].set(jnp.where(going, K, 0)), counts=log.counts.at[row].set(counts),
               used=row + 1)

def parents(carry: AmsCarry, args: AmsArgs, killed, K):
    """For each lane, the lane of a survivor of its run drawn uniformly (meaningful for killed lanes)."""
    R, n = killed.shape
    order = jnp.argsort(killed, axis=1, stable=True)      # survivors first, in replica order
    keys = streams.survivor_keys(args.seed, jnp.arange(R, dtype=jnp.uint32),
                                 jnp.full(R, carry.iteration, jnp.uint32))
    draw = jax.vmap(lambda key, m: jax.random.randint(jax.random.wrap_key_data(key), (n,), 0, m))(
        keys, jnp.maximum(n - K, 1))
    local = jnp.take_along_axis(order, draw, axis=1)
    return (local + n * jnp.arange(R)[:, None]).reshape(R * n)


class AmsPrograms:
    """The splitting program's functions under one structure ``key`` (``engine.programs``)."""

    def __init__(self, key, program: AmsProgram, width: int, chunk: int):
        self.key, self.program, self.width, self.chunk = key, program, width, chunk

    def jitted(self, name: str):
        return jax.jit(getattr(self.program, name))


def initial_carry(state0, code0, score0, *, n_runs, n_replicas, seed, columns, log_size, dtype) -> AmsCarry:
    """Every replica at its start (one start for all, or one per lane), before any step."""
    L = n_runs * n_replicas

    def tile(a):
        return jnp.array(jnp.broadcast_to(a, (L,) + jnp.shape(a)[1:]))
    state = jax.tree.map(tile, state0)
    status, score = tile(jnp.asarray(code0, jnp.int32)), tile(jnp.asarray(score0, dtype))
    lane = jnp.arange(L, dtype=jnp.uint32)
    zero = jnp.zeros(L, jnp.int32)
    branches = Branches(state=state, steps=zero, status=status, score=score, path_max=score, max_step=zero,
                        level=jnp.full(L, jnp.inf, dtype), stop_at=jnp.full(L, INT_MAX, jnp.int32),
                        key=streams.segment_keys(seed, lane // n_replicas, jnp.zeros(L, jnp.uint32), lane % n_replicas),
                        origin_step=zero)
    origins = Origins(jax.tree.map(jnp.array, state), status, score)
    runs = Runs(jnp.zeros(n_runs, bool), jnp.zeros(n_runs, bool), jnp.zeros(n_runs, bool), jnp.zeros(n_runs, jnp.int32))
    log = Log(jnp.full((log_size, n_runs), jnp.nan, dtype), jnp.zeros((log_size, n_runs), jnp.int32),
              jnp.zeros((log_size, n_runs, len(columns)), jnp.int32), jnp.int32(0))
    work = Work(zero, zero, jnp.int32(0), jnp.int32(0))
    return AmsCarry(branches, origins, runs, log, work, jnp.int32(0))
