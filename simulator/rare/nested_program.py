"""The nested-sampling program: many iterations of every run of one target in one device dispatch.

Run r holds n live points (``Live``, run axis first). One call of ``run(carry, args)`` is a
``lax.while_loop`` over iterations; each iteration, for every run not yet done (``rare.nested`` has
the estimator and its sources):

1. Z = the k-th largest residual (a sort per run); every eps in [Z, Z_prev) still open gets
   ln V(eps) = ln X + ln(#{r <= eps} / n); a run with Z <= min eps records the rest and is done;
2. every point with r >= Z is killed (K of them, ties included); all n killed: the run is extinct,
   its V is 0 below Z; otherwise ln X += ln(1 - K / n);
3. the survivors are put in a random order and split in two halves; each victim copies a survivor
   drawn uniformly and moves ``n_moves`` constrained steps with the shape (``half_shape``) of the
   half its parent is not in, keyed by (seed, target, iteration, lane), so the chunking never
   changes a point;
4. each run's step scales move toward acceptance 0.25.

The victims move in passes of ``width`` lanes (about n_runs * k): one pass when K = k, more on a
plateau. ln X and ln V are kept on the device in the run's precision (float32: an absolute error
of about 1e-6 in ln V after a few hundred iterations, far under the spread across runs). The
iteration's acceptance per run goes into a log (``Log``) that the host reads after the dispatch;
the dispatch returns when every run is done, when the log is full or after ``budget`` iterations.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ..engine.program import in_passes

TARGET_ACCEPTANCE = 0.25
N_KINDS = 4      # full, coordinate, stretch and (Gaussian priors, D > n_live) elliptical slice moves
N_SCALED = 3     # the kinds with a step scale adapted toward TARGET_ACCEPTANCE (full, coordinate, stretch)


class Live(NamedTuple):
    x: jax.Array          # (R, n, D) points
    logp: jax.Array       # (R, n) prior log density
    r: jax.Array          # (R, n) residual (NaN read as +inf)


class Runs(NamedTuple):
    log_x: jax.Array       # (R,) ln X, the prior mass above the current level
    log_volume: jax.Array  # (R, G) ln V(eps), NaN until recorded
    scale: jax.Array       # (R, N_SCALED) step scales (full, coordinate, stretch)
    done: jax.Array        # (R,) bool
    extinct: jax.Array     # (R,) bool: every live point killed at once
    iterations: jax.Array  # (R,) int32


class Log(NamedTuple):
    acceptance: jax.Array   # (cap, R): accepted moves / moves tried; NaN for a run that did not move
    evaluations: jax.Array  # (cap, R) int32: residual evaluations (slice shrinks included)
    used: jax.Array         # int32: rows of this dispatch


class NestedCarry(NamedTuple):
    live: Live
    runs: Runs
    log: Log
    iteration: jax.Array    # int32: q, the same for every run


class NestedArgs(NamedTuple):
    seed: jax.Array       # uint32
    target: jax.Array     # int32: the target's index (its runs' streams)
    grid: jax.Array       # (G,) eps, decreasing
    k: jax.Array          # int32
    n_moves: jax.Array    # int32
    budget: jax.Array     # int32: iterations of this dispatch at most


def root_key(seed, target):
    """The target's stream: every draw of its runs is ``fold_in`` of this key."""
    return jax.random.fold_in(jax.random.key(seed), target)


def half_shape(x, members, ridge_scale):
    """The move shape fitted to the ``members`` of one half of a run's survivors: a factor L with
    L L^T = their covariance, and their coordinate sds.

    More members than dimensions: the Cholesky factor (D x D, with a ridge ``ridge_scale`` x mean
    variance). Otherwise the centred members, L = (x_i - mean)^T / sqrt(n_h - 1) with zero columns: the
    same covariance at rank n_h (a network with D = 2001 and 200 live points skips a D^3 factorisation).
    Fewer than two members: unit sds and no full move."""
    n, D = x.shape
    m = min(D, n)
    n_h = members.sum()
    weight = members.astype(x.dtype)
    centred = (x - (weight @ x) / jnp.maximum(n_h, 1)) * weight[:, None]
    var = jnp.sum(centred ** 2, axis=0) / jnp.maximum(n_h - 1, 1)
    ridge = ridge_scale * var.sum() / D
    sd = jnp.where(n_h >= 2, jnp.sqrt(var + ridge), 1.0)
    first = jnp.argsort(~members, stable=True)[:m]       # the members first (all of them when n_h <= m)
    low_rank = centred[first].T / jnp.sqrt(jnp.maximum(n_h - 1, 1))
    if n > D:       # n_h > D is possible: the full-rank factor
        cov = centred.T @ centred / jnp.maximum(n_h - 1, 1) + ridge * jnp.eye(D, dtype=x.dtype)
        low_rank = jnp.where(n_h > D, jnp.linalg.cholesky(cov), low_rank)
    return jnp.where(n_h >= 2, low_rank, 0.0), sd


def levels(live: Live, runs: Runs, args: NestedArgs):
    """Z per run, the recorded volumes, the killed points and the runs' new state (steps 1 and 2)."""
    R, n = live.r.shape
    Z = jnp.take(jnp.sort(live.r, axis=1), n - args.k, axis=1)
    active = ~runs.done
    finish = active & (Z <= args.grid[-1])
    counts = (live.r[:, :, None] <= args.grid).sum(axis=1)
    write = (jnp.isnan(runs.log_volume) & active[:, None]
             & (finish[:, None] | (args.grid[None, :] >= Z[:, None])))
    log_volume = jnp.where(write, runs.log_x[:, None] + jnp.log(counts / n), runs.log_volume)
    going = active & ~finish
    killed = going[:, None] & (live.r >= Z[:, None])
    K = killed.sum(axis=1, dtype=jnp.int32)
    extinct = going & (K == n)
    log_volume = jnp.where(extinct[:, None] & jnp.isnan(log_volume), -jnp.inf, log_volume)
    moving = going & ~extinct
    runs = runs._replace(log_x=jnp.where(moving, runs.log_x + jnp.log1p(-K / n), runs.log_x),
                         log_volume=log_volume, done=runs.done | finish | extinct, extinct=runs.extinct | extinct,
                         iterations=runs.iterations + going)
    return Z, killed, K, moving, runs


def survivors(keys, killed, K):
    """Per run (``keys``: one per run): the survivors in a random order, split in halves (the first
    ceil(S / 2), the rest); for every point a parent drawn uniformly among the survivors, and the half
    whose shape it moves with (the one its parent is not in). Returns (parent, shape_half, half)."""
    R, n = killed.shape
    S = n - K

    def one(key, killed, S):
        k1, k2 = jax.random.split(key)
        order = jnp.argsort(killed + jax.random.uniform(k1, (n,)))      # survivors first, shuffled
        rank = jnp.zeros(n, jnp.int32).at[order].set(jnp.arange(n, dtype=jnp.int32))
        h0 = (S + 1) // 2
        pick = jax.random.randint(k2, (n,), 0, jnp.maximum(S, 1))
        return order[pick], (pick < h0).astype(jnp.int32), (rank >= h0).astype(jnp.int32)
    return jax.vmap(one)(keys, killed, S)


class NestedProgram(NamedTuple):
    run: Callable         # (carry, args) -> carry: iterations until done, log full or budget spent


def build_nested_program(moves: Callable, *, n_kinds: int, n_runs: int, n_live: int, dim: int, width: int,
                         log_size: int, dtype) -> NestedProgram:
    """``moves(key, x, logp, r, level, shape, factors, sds, scale, n_moves)``: ``nested.build_moves``'s
    move of one point."""
    R, n, D, L = n_runs, n_live, dim, n_runs * n_live
    batch = jax.vmap(moves, (0, 0, 0, 0, 0, 0, None, None, 0, None))
    ridge_scale = 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-6
    shapes = jax.vmap(jax.vmap(half_shape, (None, 0, None)), (0, 0, None))

    def move_victims(live: Live, todo, parent, shape, Z, factors, sd, scale, key, args):
        """Each lane in ``todo`` takes a copy of its parent moved inside {r < Z}, ``width`` at a time.
        Returns the live points, accepted moves per run and kind, and evaluations per run."""
        flat = Live(live.x.reshape(L, D), live.logp.reshape(L), live.r.reshape(L))

        def body(state, index, valid):
            flat, accepted, evaluations = state
            run = index // n
            source = run * n + parent[index]
            keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(index)
            x, logp, r, ok, used = batch(keys, flat.x[source], flat.logp[source], flat.r[source], Z[run],
                                         2 * run + shape[index], factors, sd, scale[run], args.n_moves)
            rows, owner = jnp.where(valid, index, L), jnp.where(valid, run, R)
            flat = Live(flat.x.at[rows].set(x, mode="drop"), flat.logp.at[rows].set(logp, mode="drop"),
                        flat.r.at[rows].set(r, mode="drop"))
            return flat, accepted.at[owner].add(ok, mode="drop"), evaluations.at[owner].add(used, mode="drop")

        init = (flat, jnp.zeros((R, N_KINDS), jnp.int32), jnp.zeros(R, jnp.int32))
        flat, accepted, evaluations = in_passes(todo, width, body, init)
        return Live(flat.x.reshape(R, n, D), flat.logp.reshape(R, n), flat.r.reshape(R, n)), accepted, evaluations

    def iterate(carry: NestedCarry, args: NestedArgs) -> NestedCarry:
        live = carry.live
        Z, killed, K, moving, runs = levels(live, carry.runs, args)
        step_key = jax.random.fold_in(root_key(args.seed, args.target), carry.iteration + 1)
        run_keys = jax.vmap(lambda r: jax.random.fold_in(jax.random.fold_in(step_key, 0), r))(jnp.arange(R))
        parent, shape, half = survivors(run_keys, killed, K)
        members = jnp.stack([~killed & (half == h) for h in (0, 1)], axis=1)          # (R, 2, n)
        factors, sd = shapes(live.x, members, ridge_scale)
        m = factors.shape[-1]
        todo = (killed & moving[:, None]).reshape(L)
        live, accepted, used = move_victims(live, todo, parent.reshape(L), shape.reshape(L), Z,
                                            factors.reshape(2 * R, D, m), sd.reshape(2 * R, D), runs.scale,
                                            jax.random.fold_in(step_key, 1), args)
        tried = jnp.maximum(K, 1) * args.n_moves
        rates = accepted[:, :N_SCALED] / jnp.maximum(K, 1)[:, None] / (args.n_moves / n_kinds)
        adapted = runs.scale * jnp.exp(jnp.clip(rates - TARGET_ACCEPTANCE, -0.5, 0.5) * 2)
        runs = runs._replace(scale=jnp.where(moving[:, None], adapted, runs.scale))
        log = carry.log
        log = Log(log.acceptance.at[log.used].set(jnp.where(moving, accepted.sum(axis=1) / tried, jnp.nan)),
                  log.evaluations.at[log.used].set(used), log.used + 1)
        return NestedCarry(live, runs, log, carry.iteration + 1)

    def run(carry: NestedCarry, args: NestedArgs) -> NestedCarry:
        def cond(c):
            return ~c.runs.done.all() & (c.log.used < jnp.minimum(args.budget, log_size))
        return jax.lax.while_loop(cond, lambda c: iterate(c, args), carry)

    return NestedProgram(run)
