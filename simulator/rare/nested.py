"""Volume curves V(eps) = mu(r <= eps) by nested sampling: adaptive multilevel splitting on a static variable.

Estimator (Cérou, Del Moral, Furon & Guyader 2012, "Sequential Monte Carlo for rare event
estimation"; the static case of generalized AMS, Bréhier et al. 2016). A run holds n live points
drawn from the prior. Iteration q: Z_q = the k-th largest residual among them; for every eps in
[Z_q, Z_{q-1}) record V(eps) = X_{q-1} #{live with r <= eps}/n; kill every point with r >= Z_q
(K_q of them, ties included: plateaus such as r = 0 never stall); X_q = X_{q-1} (1 - K_q/n), kept as a
logarithm; replace each killed point by a copy of a uniformly chosen survivor moved by
``n_moves`` Metropolis steps that leave the prior restricted to {r < Z_q} invariant. A run stops once
Z_q <= min eps, where the remaining eps are read from the live points. All K_q = n (every live
point on one plateau) ends the run: its V is 0 below that level, counted as ``extinct``.

Moves. Constrained sets are thin and curved (tubes around stabilizers, neighbourhoods of zero-loss
manifolds), so an isotropic step would have to be as small as the tube's width. Each step is one of:
x' = x + s L z with L L^T the covariance of half of the run's surviving live points (the set's own shape, as
in MultiNest/dynesty; the half the clone's parent is not in, so that the proposal does not depend on the
moved point; L is the centred points themselves when they are no more than D); a move of one coordinate; a
stretch of one coordinate; and, under a Gaussian prior with D > n_live, an elliptical slice move
(Murray, Adams & MacKay 2010): a point on the ellipse x cos t + sigma xi sin t, which N(0, sigma^2 I) leaves
invariant, t shrunk toward 0 until r < Z_q, so only the constraint decides, its step does not shrink with D,
and it needs no step size. Without a prior-preserving move a tube of codimension 6 in D = 300 (100 live
points, 200 moves) came out 30x too large at V = 1e-3 (the prior's 294 free directions forced the other
steps small). The other kinds' scales are adapted per run and kind toward acceptance 0.25; accepted with
probability min(1, pi(x')/pi(x)) (times the Hastings factor) when r(x') < Z_q. The acceptance of every iteration is
kept; a run whose acceptance falls below ``MIN_ACCEPTANCE`` is reported (``VolumeCurve.warnings``), and so is
a spread of ln V across runs well above what independent replacements give (``VolumeCurve.spread``): the
clones stay near their parents and the estimate can be biased.

Checkpoints: every live point, log X, step scale and counter of the target in progress, and the targets
done, are saved atomically (``engine.checkpoint``); a run depends only on (seed, target, run, iteration), so a
resumed curve equals an uninterrupted one bitwise.

Why not BlackJAX's nested sampling: its ``ns`` module (1.6+) runs one live set with a prior given by
``logprior_fn`` and constrains the log-likelihood; a Haar ball and a residual fit that, but it keeps
no per-eps bookkeeping and no independent runs batched in one program, which is where the intervals
come from here; the replacement moves above are about 80 lines.
"""
from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..spaces import Space, ball_volume
from ..targets import check_targets
from ..volume_curve import VolumeCurve
from ..dynamics.base import data_digest, describe
from ..engine import cache, policy, streams
from ..engine import checkpoint as ckpt

TARGET_ACCEPTANCE = 0.25
N_KINDS = 4      # full, coordinate, stretch and (Gaussian priors, D > n_live) elliptical slice moves
N_SCALED = 3     # the kinds with a step scale adapted toward TARGET_ACCEPTANCE (full, coordinate, stretch)
# An elliptical slice step that finds no point inside in 50 shrinks stays put (each shrink narrows the bracket
# by a uniform factor, e^-1 in geometric mean). Thin sets need them: capped at 10, a P_B of 3e-3 on the 7-40-40-1
# network read 1.2e-3 [7.5e-4, 1.7e-3] at 100 moves, against 4.8e-3 [2.4e-3, 7.5e-3] capped at 50.
MAX_SHRINKS = 50


def move_kinds(space: Space, n_live: int) -> int:
    """How many move kinds a run uses: the elliptical slice move needs a Gaussian prior N(0, sigma^2 I), and is
    used where D > n_live (the survivors' covariance is low rank). In D = 10 (400 live points) its pCN
    predecessor halved the benchmark's gain at V = 1e-8 (3,640x against 6,670x plain Monte Carlo), so the
    low-dimensional moves stay as they were."""
    return 4 if space.name == "gaussian" and space.dim > n_live else 3


def build_moves(space: Space, residual, dtype, n_live: int):
    """``moves(key, x, logp, r, level, shape, factors, sd, scale, n_moves) -> (x, logp, r, accepted, evaluations)``
    for a batch of points, each with its residual r, its own level, shape (the covariance factor
    ``factors[shape]`` and coordinate scales ``sd[shape]`` it uses) and step scales (full, coordinate, stretch).

    Each step is, equally often, a full move x + s_full L z, a move of one random
    coordinate j by s_coord sd_j z, a stretch of one coordinate x_j e^(s_stretch z), or (``move_kinds``)
    an elliptical slice move. Sets that are
    unions of thin slabs, such as the neighbourhoods of normal crossings, let single coordinates move
    where a full move is refused; in them a coordinate spans many scales (|w_2| from eps to 1 when
    |w_1 w_2| <= eps), which additive steps of one size cross only slowly and the stretch crosses in
    a few steps.

    Elliptical slice (Murray, Adams & MacKay 2010, "Elliptical slice sampling"): with nu = sigma xi, points
    x cos t + nu sin t lie on an ellipse through x that N(0, sigma^2 I) leaves invariant; t starts uniform on
    [0, 2 pi) and its bracket shrinks toward 0 (which is x) until r < level. No step size: the first point
    tried is an independent-looking prior draw, and the bracket shrinks only as far as the set is thin. It
    replaced pCN (x' = sqrt(1 - b^2) x + b nu with b adapted), whose single step size mixed too slowly on a
    2001-parameter network: the hinge residual's V(1e-3) read 5.4e-5, 7.5e-5 and 1.05e-4 at 100, 400 and
    1600 moves against rejection's 1.24e-4 [1.04e-4, 1.47e-4]; elliptical slice at 100 moves 1.15e-4
    [8.5e-5, 1.46e-4].
    ``evaluations`` counts the residual evaluations, shrinks included."""

    def r_of(x):
        return jnp.asarray(residual(space.unflatten(x)), dtype)

    n_kinds = move_kinds(space, n_live)
    sigma = space.params["sigma"] if n_kinds == 4 else 1.0

    def slice_shrink(key, x, nu, t, candidate, r, active, level):
        """Shrink the angle bracket [t - 2 pi, t] toward 0 until the ellipse's point is inside (or give up)."""
        def cond(c):
            return active & (c[4] >= level) & (c[5] < MAX_SHRINKS)

        def body(c):
            t, lo, hi, _, _, n = c
            lo, hi = jnp.where(t < 0, t, lo), jnp.where(t < 0, hi, t)
            t = lo + (hi - lo) * jax.random.uniform(jax.random.fold_in(key, n), (), dtype)
            candidate = x * jnp.cos(t) + nu * jnp.sin(t)
            return t, lo, hi, candidate, r_of(candidate), n + 1
        _, _, _, candidate, r, n = jax.lax.while_loop(cond, body, (t, t - 2 * jnp.pi, t, candidate, r, jnp.int32(0)))
        return candidate, r, n

    def one(key, x, logp, r, level, shape, factors, sds, scale, n_moves):
        chol, sd = factors[shape], sds[shape]

        def body(i, carry):
            x, logp, r, accepted, evaluations = carry
            k1, k2, k3, k4, k5 = jax.random.split(jax.random.fold_in(key, i), 5)
            z = jax.random.normal(k1, x.shape, dtype)     # one draw per step: each kind uses its part
            kind = jax.random.randint(k3, (), 0, n_kinds)
            j = jax.random.randint(k4, (), 0, x.shape[0])
            full = x + scale[0] * (chol @ z[:chol.shape[1]])
            single = x.at[j].add(scale[1] * sd[j] * z[0])
            stretch = x.at[j].multiply(jnp.exp(scale[2] * z[0]))
            proposal = jnp.where(kind == 0, full, jnp.where(kind == 1, single, stretch))
            shrinks = jnp.int32(0)
            if n_kinds == 4:
                t = 2 * jnp.pi * jax.random.uniform(k5, (), dtype)
                proposal = jnp.where(kind == 3, x * jnp.cos(t) + sigma * z * jnp.sin(t), proposal)
            r_new = r_of(proposal)
            if n_kinds == 4:
                proposal, r_new, shrinks = slice_shrink(k5, x, sigma * z, t, proposal, r_new, kind == 3, level)
            inside = r_new < level
            lp = jnp.asarray(space.logpdf(proposal), dtype)
            # the stretch x_j -> x_j e^u is a random walk in ln|x_j|: its Hastings factor is |x'_j / x_j| = e^u;
            # the elliptical slice move is exact for the prior, so only the constraint decides
            log_hastings = jnp.where(kind == 2, scale[2] * z[0], 0.0)
            prior_ok = jnp.log(jax.random.uniform(k2, (), dtype)) < lp - logp + log_hastings
            ok = jnp.where(kind == 3, True, prior_ok) & inside & jnp.isfinite(lp)
            return (jnp.where(ok, proposal, x), jnp.where(ok, lp, logp), jnp.where(ok, r_new, r),
                    accepted.at[kind].add(ok), evaluations + 1 + shrinks)
        init = (x, logp, r, jnp.zeros(N_KINDS, jnp.int32), jnp.int32(0))
        return jax.lax.fori_loop(0, n_moves, body, init)

    batch = jax.vmap(one, (0, 0, 0, 0, 0, 0, None, None, 0, None))
    evaluate = jax.vmap(lambda x: (jnp.asarray(space.logpdf(x), dtype), r_of(x)))
    return jax.jit(batch), jax.jit(evaluate)


def _check_eps(eps) -> np.ndarray:
    try:
        grid = np.asarray(eps, float)
    except (TypeError, ValueError):
        raise TypeError(f"eps must be a sequence of numbers, got {type(eps).__name__}") from None
    if grid.ndim != 1 or grid.size < 1:
        raise ValueError(f"eps must be a 1-D sequence of tolerances, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    if np.any(np.diff(grid) >= 0):
        raise ValueError("eps must be strictly decreasing (the curve runs from large to small tolerances)")
    return grid


def volume_curve(targets, space: Space, eps, *, n_live: int = 1000, n_runs: int = 10, k: int | None = None,
                 n_moves: int | None = None, seed: int = 0, precision: str = "float64", progress: bool | None = None,
                 depends_on=None, checkpoint=None, resume: bool = False, checkpoint_every: float = 60.0):
    """ln V(eps) = ln mu(r_target <= eps) under ``space``'s prior, for every target and eps, by nested sampling.

    Args:
        targets: ``sim.Target`` list (their own eps are ignored; ``eps`` is used).
        space: ``sim.space.gaussian / box / prior / group_ball``.
        eps: strictly decreasing tolerances > 0 (e.g. ``np.geomspace(1e-1, 1e-6, 26)``).
        n_live: live points per run (>= 2); k: points killed per iteration at least (default n_live // 10).
        n_runs: independent runs (>= 2); intervals come from their spread.
        n_moves: constrained Metropolis steps per replacement point (default max(50, 5 D): measured on
            Gaussian tubes, 50 steps left a +20 % bias at D = 50 that 250 removed).

    Returns:
        A ``VolumeCurve``.
    """
    targets = check_targets(targets)
    if not isinstance(space, Space):
        raise TypeError(f"space must be a sim.space (gaussian, box, prior, group_ball), got {type(space).__name__}")
    grid = _check_eps(eps)
    n_live = validate.positive_int("n_live", n_live)
    if n_live < 2:
        raise ValueError(f"n_live must be >= 2, got {n_live}")
    n_runs = validate.positive_int("n_runs", n_runs)
    if n_runs < 2:
        raise ValueError(f"n_runs must be >= 2 (intervals come from the spread across runs), got {n_runs}")
    if k is None:
        k = max(1, n_live // 10)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n_live:
        raise ValueError(f"k must be an int with 1 <= k < n_live = {n_live}, got {k!r}")
    n_moves = max(50, 5 * space.dim) if n_moves is None else validate.positive_int("n_moves", n_moves)
    seed = validate.check_seed(seed)
    precision = validate.choice("precision", precision, ("float32", "float64"))
    checkpoint_every = validate.non_negative("checkpoint_every", checkpoint_every)
    identity = {"targets": [[t.name, describe(t.residual)] for t in targets], "space": space.describe(),
                "eps": grid.tolist(), "n_live": n_live, "n_runs": n_runs, "k": k, "n_moves": n_moves, "seed": seed,
                "precision": precision, "depends_on": None if depends_on is None else data_digest(depends_on)}
    digest = ckpt.identity_digest(identity)
    folder, resume = ckpt.resolve(checkpoint, resume, digest)
    saved = ckpt.prepare_folder(folder, resume, digest, checkpoint is not None) if folder is not None else False
    cache.enable_persistent_cache()
    with streams.numerics(precision):
        dtype = jnp.dtype(precision)
        position = jax.ShapeDtypeStruct(space.shape or (space.dim,), dtype)
        for t in targets:   # a space whose points do not fit the residual is named
            validate.check_predicate(f"space (dimension {space.dim}) with target {t.name!r}'s residual", t.residual,
                                     position)
        try:   # two points, eagerly: a sampler may run on the host (a group ball's rejection sampler)
            drawn = np.asarray(space.sample(jax.random.key(0), 2))
        except Exception as err:
            raise ValueError(f"space: its sampler fails: {type(err).__name__}: {err}") from err
        if getattr(drawn, "shape", None) != (2, space.dim):
            raise ValueError(f"space: sample(key, n) must return shape (n, {space.dim}), got "
                             f"{getattr(drawn, 'shape', drawn)}")
        t0 = time.perf_counter()
        state = ckpt.load(folder) if saved else {}
        finished = {key: value for key, value in state.items() if key.startswith("t")}   # targets done
        per_target, work, acceptance = {}, {}, {}
        for index, target in enumerate(targets):
            runner = _NestedRuns(space, target.residual, grid, n_live, n_runs, k, n_moves, seed, index, dtype)
            if f"t{index}.log_volume" in finished:
                runner.restore(finished, f"t{index}.")
            elif int(state.get("live.index", -1)) == index:
                runner.restore(state, "live.")
            else:
                runner.start()
            saver = None if folder is None else ckpt.Saver(
                folder, checkpoint_every, digest,
                snapshot=lambda run, _, i=index: finished | run.snapshot("live.") | {"live.index": i})
            runner.run(progress, target.name, saver)
            finished |= runner.snapshot(f"t{index}.")
            per_target[target.name] = runner.log_volume
            work[target.name] = {"evaluations": runner.evaluations, "iterations": runner.iterations.tolist(),
                                 "extinct": runner.extinct.tolist()}
            acceptance[target.name] = runner.acceptance
        if folder is not None:
            ckpt.save(folder, finished, digest, done=True)
    config = {"method": "nested sampling (static AMS)", "space": space.describe(), "n_live": n_live, "k": k,
              "n_runs": n_runs, "n_moves": n_moves, "seed": seed, "precision": precision,
              "targets": [t.name for t in targets], "jax_version": jax.__version__,
              "checkpoint": None if folder is None else str(folder)}
    ball = None
    if space.ball is not None:
        ball = ball_volume(space.ball, seed=seed)
    return VolumeCurve(eps=grid, log_volume_runs=per_target, config=config,
                       work={"per_target": work, "wall_seconds": time.perf_counter() - t0},
                       acceptance=acceptance, ball_volume=None if ball is None else tuple(ball))


class _NestedRuns:
    """n_runs independent nested-sampling runs of one target, their live points in one batch."""

    def __init__(self, space, residual, grid, n_live, n_runs, k, n_moves, seed, index, dtype):
        self.space, self.grid, self.n, self.R, self.k, self.n_moves = space, grid, n_live, n_runs, k, n_moves
        self.seed, self.index, self.dtype = seed, index, dtype
        self.moves, self.evaluate = build_moves(space, residual, dtype, n_live)
        self.n_kinds = move_kinds(space, n_live)
        self.root = jax.random.fold_in(jax.random.key(seed), index)
        self.log_x = np.zeros(n_runs)
        self.scale = np.full((n_runs, N_SCALED), 1.0)   # (full, coordinate, stretch) step scales
        self.log_volume = np.full((n_runs, grid.size), np.nan)
        self.done = np.zeros(n_runs, bool)
        self.extinct = np.zeros(n_runs, bool)
        self.iterations = np.zeros(n_runs, np.int64)
        self.evaluations = n_runs * n_live
        self.acceptance = [[] for _ in range(n_runs)]
        self.q = 0                # iterations of the batch of runs

    def start(self) -> None:
        """Draw each run's first n_live points from the space (a restored runner skips this)."""
        keys = jax.random.split(jax.random.fold_in(self.root, 0), self.R)
        x = jnp.concatenate([self.space.sample(key, self.n) for key in keys]).astype(self.dtype)
        logp, r = self.evaluate(x)
        self.x = np.array(x).reshape(self.R, self.n, self.space.dim)
        self.logp = np.array(logp, np.float64).reshape(self.R, self.n)
        self.r = np.array(r, np.float64).reshape(self.R, self.n)
        if not np.all(np.isfinite(self.logp)):
            raise ValueError("space: its sampler drew points where its logpdf is -inf or nan")

    STATE = ("x", "logp", "r", "log_x", "scale", "log_volume", "done", "extinct", "iterations", "evaluations", "q")

    def snapshot(self, prefix: str) -> dict:
        """Everything ``run`` needs to continue, as arrays named prefix + field (``restore``)."""
        out = {prefix + name: np.asarray(getattr(self, name)) for name in self.STATE}
        out[prefix + "acceptance"] = np.array([a for run in self.acceptance for a in run], np.float64)
        out[prefix + "acceptance_counts"] = np.array([len(run) for run in self.acceptance], np.int64)
        return out

    def restore(self, data: dict, prefix: str) -> None:
        for name in self.STATE:
            value = data[prefix + name]
            setattr(self, name, value.copy() if value.ndim else value.item())
        flat, counts = data[prefix + "acceptance"], data[prefix + "acceptance_counts"]
        self.acceptance = [a.tolist() for a in np.split(flat, np.cumsum(counts)[:-1])]

    def _record(self, r, below: np.ndarray):
        """V(eps) for the eps flagged in ``below`` from run r's live points: X #{r <= eps}/n."""
        counts = (self.r[r][:, None] <= self.grid[None, below]).sum(axis=0)
        with np.errstate(divide="ignore"):
            self.log_volume[r, below] = self.log_x[r] + np.log(counts / self.n)

    def run(self, progress, name, saver=None):
        while not self.done.all():
            q = self.q
            clones, parents, levels, runs, shapes, halves = [], [], [], [], [], {}
            for r in np.flatnonzero(~self.done):
                Z = np.partition(self.r[r], self.n - self.k)[self.n - self.k]     # k-th largest
                open_ = np.isnan(self.log_volume[r])
                if Z <= self.grid[-1]:
                    self._record(r, open_)
                    self.done[r] = True
                    continue
                self._record(r, open_ & (self.grid >= Z))
                killed = self.r[r] >= Z
                K = int(killed.sum())
                self.iterations[r] += 1
                if K == self.n:
                    self.log_volume[r, np.isnan(self.log_volume[r])] = -np.inf
                    self.extinct[r] = self.done[r] = True
                    continue
                self.log_x[r] += math.log1p(-K / self.n)
                survivors = np.random.default_rng([self.seed, self.index, r, q]).permutation(np.flatnonzero(~killed))
                rng = np.random.default_rng([self.seed, self.index, r, q, 1])
                halves[r] = np.array_split(survivors, 2)
                victims = np.flatnonzero(killed)
                pick = rng.integers(0, survivors.size, K)
                clones.append(victims)
                parents.append(survivors[pick])
                shapes.append(2 * r + (pick < halves[r][0].size))    # a parent in half 0 moves with half 1's shape
                levels.append(np.full(K, Z))
                runs.append(np.full(K, r))
            if clones:
                self._replace(q, np.concatenate(clones), np.concatenate(parents), np.concatenate(levels),
                              np.concatenate(runs), np.concatenate(shapes), halves)
            self.q = q + 1
            if saver is not None:
                saver.maybe_save(self, 0.0)

    def _factors(self, halves):
        """Per run r, two move shapes: shape 2r + h from the points of half h of its survivors, a factor L with
        L L^T = their covariance and their coordinate sds.

        A point moves with the shape of the half its parent is not in, so the proposal does not depend on the
        point being moved and the moves leave the constrained prior invariant. A shape fitted to all survivors
        (the parent among them) biased V high: +5 % at 50 moves and +15 % at 25 on a Gaussian tube at V = 1e-8.
        More points than dimensions: the Cholesky factor (D x D, lightly regularised). Otherwise the centred
        points themselves, L = (x_i - mean)^T / sqrt(n_h - 1) padded with zero columns: the same covariance at
        rank n_h instead of D (a network with D = 2001 and 200 live points moves 10x less data, and skips a
        D^3 factorisation)."""
        D = self.space.dim
        factors = np.zeros((2 * self.R, D, min(D, self.n)))
        sd = np.ones((2 * self.R, D))
        for r, parts in halves.items():
            for h, members in enumerate(parts):
                pts = self.x[r][members]
                n_h = pts.shape[0]
                if n_h < 2:       # one point: unit scales, and no full move
                    continue
                centred = pts - pts.mean(axis=0)
                var = np.sum(centred ** 2, axis=0) / (n_h - 1)
                ridge = 1e-12 * var.sum() / D
                sd[2 * r + h] = np.sqrt(var + ridge)
                if n_h > D:
                    cov = centred.T @ centred / (n_h - 1) + ridge * np.eye(D)
                    factors[2 * r + h] = np.linalg.cholesky(cov + 1e-300 * np.eye(D))
                else:
                    factors[2 * r + h, :, :n_h] = centred.T / math.sqrt(n_h - 1)
        return factors, sd

    def _replace(self, q, victims, parents, levels, runs, shapes, halves):
        """Copies of the parents moved inside {r < level} with the shapes ``shapes``, written over the victims."""
        factors, sd = self._factors(halves)
        m = victims.size
        width = policy.compacted_width(m)
        pad = width - m

        def padded(a):
            return np.concatenate([a, np.repeat(a[:1], pad, 0)]) if pad else a
        x0 = padded(self.x[runs, parents])
        keys = jax.random.split(jax.random.fold_in(self.root, q + 1), width)
        x, logp, r_new, accepted, used = self.moves(
            keys, jnp.asarray(x0, self.dtype), jnp.asarray(padded(self.logp[runs, parents]), self.dtype),
            jnp.asarray(padded(self.r[runs, parents]), self.dtype), jnp.asarray(padded(levels), self.dtype),
            jnp.asarray(padded(shapes)), jnp.asarray(factors, self.dtype), jnp.asarray(sd, self.dtype),
            jnp.asarray(padded(self.scale[runs]), self.dtype), self.n_moves)
        x, logp, r_new, accepted, used = (np.asarray(a)[:m] for a in (x, logp, r_new, accepted, used))
        self.x[runs, victims] = x
        self.logp[runs, victims] = logp
        self.r[runs, victims] = r_new
        self.evaluations += int(used.sum())
        for r in np.unique(runs):
            mine = accepted[runs == r]
            self.acceptance[r].append(float(mine.sum() / (mine.shape[0] * self.n_moves)))
            rates = mine[:, :N_SCALED].mean(axis=0) / (self.n_moves / self.n_kinds)   # each kind equally often
            self.scale[r] *= np.exp(np.clip(rates - TARGET_ACCEPTANCE, -0.5, 0.5) * 2)
