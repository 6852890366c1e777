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

Where it runs: the iterations of a target's runs are one device program (``rare.nested_program``), many
iterations per dispatch; the host (``NestedDriver``, under ``engine.driver.wake_loop``) wakes about every
``POLL_SECONDS`` for progress, Ctrl-C and checkpoints. A second call with the same residual and space
compiles nothing (``engine.programs``).

Checkpoints: every live point, log X, step scale and counter of the target in progress, and the targets
done, are saved atomically (``engine.checkpoint``) at each wake-up that is due, on Ctrl-C and when a target
ends; a run depends only on (seed, target, run, iteration), so a resumed curve equals an uninterrupted one
bitwise.

Why not BlackJAX's nested sampling: its ``ns`` module (1.6+) runs one live set with a prior given by
``logprior_fn`` and constrains the log-likelihood; a Haar ball and a residual fit that, but it keeps
no per-eps bookkeeping and no independent runs batched in one program, which is where the intervals
come from here; the replacement moves above are about 80 lines.
"""
from __future__ import annotations

import numbers
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from .. import validate
from ..spaces import Space, ball_volume
from ..targets import check_targets
from ..volume_result import VolumeCurve
from ..dynamics.base import data_digest, describe
from ..engine import cache, policy, programs, streams
from ..engine import checkpoint as ckpt
from ..engine.driver import POLL_SECONDS, fetch, wake_loop
from .nested_program import (N_KINDS, N_SCALED, Live, Log, NestedArgs, NestedCarry, Runs, build_nested_program,
                             root_key)

LOG_SIZE = 256   # iterations of one dispatch at most (rows of its log)
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
    """``(moves, evaluate)``: ``build_move``'s move for a batch of points (the factors, sds and ``n_moves``
    shared), and ``evaluate(x) -> (logp, r)`` for a batch; both jitted."""
    one, evaluate = build_move(space, residual, dtype, n_live)
    return jax.jit(jax.vmap(one, (0, 0, 0, 0, 0, 0, None, None, 0, None))), jax.jit(jax.vmap(evaluate))


def build_move(space: Space, residual, dtype, n_live: int):
    """``move(key, x, logp, r, level, shape, factors, sd, scale, n_moves) -> (x, logp, r, accepted, evaluations)``
    for one point with its residual r, its level, shape (the covariance factor ``factors[shape]`` and
    coordinate scales ``sd[shape]`` it uses) and step scales (full, coordinate, stretch); and
    ``evaluate(x) -> (logp, r)``. A NaN residual reads as +inf (outside every level).

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
        r = jnp.asarray(residual(space.unflatten(x)), dtype)
        return jnp.where(jnp.isnan(r), jnp.inf, r)

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
            step_key = jax.random.fold_in(key, i)
            z, kind, j, u_accept, u_angle = _step_draws(step_key, x.shape[0], n_kinds, dtype)
            full = x + scale[0] * (chol @ z[:chol.shape[1]])
            single = x.at[j].add(scale[1] * sd[j] * z[0])
            stretch = x.at[j].multiply(jnp.exp(scale[2] * z[0]))
            proposal = jnp.where(kind == 0, full, jnp.where(kind == 1, single, stretch))
            shrinks = jnp.int32(0)
            if n_kinds == 4:
                t = 2 * jnp.pi * u_angle
                proposal = jnp.where(kind == 3, x * jnp.cos(t) + sigma * z * jnp.sin(t), proposal)
            r_new = r_of(proposal)
            if n_kinds == 4:
                proposal, r_new, shrinks = slice_shrink(jax.random.fold_in(step_key, 1), x, sigma * z, t, proposal,
                                                        r_new, kind == 3, level)
            inside = r_new < level
            lp = jnp.asarray(space.logpdf(proposal), dtype)
            # the stretch x_j -> x_j e^u is a random walk in ln|x_j|: its Hastings factor is |x'_j / x_j| = e^u;
            # the elliptical slice move is exact for the prior, so only the constraint decides
            log_hastings = jnp.where(kind == 2, scale[2] * z[0], 0.0)
            prior_ok = jnp.log(u_accept) < lp - logp + log_hastings
            ok = jnp.where(kind == 3, True, prior_ok) & inside & jnp.isfinite(lp)
            return (jnp.where(ok, proposal, x), jnp.where(ok, lp, logp), jnp.where(ok, r_new, r),
                    accepted.at[kind].add(ok), evaluations + 1 + shrinks)
        init = (x, logp, r, jnp.zeros(N_KINDS, jnp.int32), jnp.int32(0))
        return jax.lax.fori_loop(0, n_moves, body, init)

    return one, lambda x: (jnp.asarray(space.logpdf(x), dtype), r_of(x))


def _step_draws(key, D: int, n_kinds: int, dtype):
    """One move step's randomness from one draw of D + 4 uniforms on (-1, 1): D standard normals
    sqrt(2) erfinv(u) (as ``jax.random.normal`` makes them), the kind, the coordinate j, and two uniforms on
    (0, 1) (acceptance, slice angle). One call instead of five keys and four draws: on 2 CPU cores a step of
    1,024 points took 0.74 ms, 0.56 of them drawing."""
    u = jax.random.uniform(key, (D + 4,), dtype, minval=jnp.nextafter(jnp.asarray(-1.0, dtype), 0), maxval=1.0)
    z = jnp.sqrt(jnp.asarray(2.0, dtype)) * jax.lax.erf_inv(u[:D])
    w = (u[D:] + 1) / 2
    kind = jnp.minimum((w[0] * n_kinds).astype(jnp.int32), n_kinds - 1)
    j = jnp.minimum((w[1] * D).astype(jnp.int32), D - 1)
    return z, kind, j, w[2], w[3]


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
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k < n_live:
        raise ValueError(f"k must be an int with 1 <= k < n_live = {n_live}, got {k!r}")
    n_moves = max(50, 5 * space.dim) if n_moves is None else validate.positive_int("n_moves", n_moves)
    seed = validate.check_seed(seed)
    precision = validate.choice("precision", precision, ("float32", "float64"))
    checkpoint_every = validate.non_negative("checkpoint_every", checkpoint_every)
    identity = {"format": "nested-device-1", "targets": [[t.name, describe(t.residual)] for t in targets],
                "space": space.describe(), "eps": grid.tolist(), "n_live": n_live, "n_runs": n_runs, "k": k,
                "n_moves": n_moves, "seed": seed,
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
        per_target, work, acceptance, compile_seconds = {}, {}, {}, 0.0
        for index, target in enumerate(targets):
            saver = None if folder is None else ckpt.Saver(
                folder, checkpoint_every, digest,
                snapshot=lambda run, _, i=index: finished | run.snapshot("live.") | {"live.index": i})
            runner = NestedDriver(space, target, grid, n_live=n_live, n_runs=n_runs, k=k, n_moves=n_moves,
                                  seed=seed, index=index, dtype=dtype, saver=saver,
                                  bar=None if progress is False else tqdm(
                                      total=n_runs, unit="run", desc=f"volume {target.name}", leave=False,
                                      delay=0 if progress == "always" else 2.0))
            if f"t{index}.log_volume" in finished:
                runner.restore(finished, f"t{index}.")
            elif int(state.get("live.index", -1)) == index:
                runner.restore(state, "live.")
            else:
                runner.start()
            runner.run()
            finished |= runner.snapshot(f"t{index}.")
            if folder is not None:      # a target's finished work is never lost
                ckpt.save(folder, finished, digest, done=index == len(targets) - 1)
            log_volume, iterations, extinct = runner.results()
            per_target[target.name] = log_volume
            work[target.name] = {"evaluations": runner.evaluations, "iterations": iterations.tolist(),
                                 "extinct": extinct.tolist()}
            compile_seconds += runner.compile_seconds
            acceptance[target.name] = runner.acceptance
    config = {"method": "nested sampling (static AMS)", "space": space.describe(), "n_live": n_live, "k": k,
              "n_runs": n_runs, "n_moves": n_moves, "seed": seed, "precision": precision,
              "targets": [t.name for t in targets], "jax_version": jax.__version__,
              "checkpoint": None if folder is None else str(folder)}
    ball = None
    if space.ball is not None:
        ball = ball_volume(space.ball, seed=seed)
    return VolumeCurve(eps=grid, log_volume_runs=per_target, config=config,
                       work={"per_target": work, "wall_seconds": time.perf_counter() - t0,
                             "compile_seconds": compile_seconds},
                       acceptance=acceptance, ball_volume=None if ball is None else tuple(ball))




def _space_key(space: Space):
    """A space in a program's key: the Gaussian and box priors by their parameters (a new
    ``sim.space.gaussian(D)`` compiles nothing), any other by identity."""
    if space.name in ("gaussian", "box"):
        return space.name, space.dim, tuple((k, tuple(np.ravel(v))) for k, v in sorted(space.params.items()))
    return programs.Identity(space)


class NestedDriver:
    """n_runs independent nested-sampling runs of one target: dispatches of the nested program
    (``rare.nested_program``), their acceptance and evaluations from each dispatch's log; progress,
    Ctrl-C and checkpoints act between dispatches (``engine.driver.wake_loop``)."""

    def __init__(self, space, target, grid, *, n_live, n_runs, k, n_moves, seed, index, dtype, saver=None,
                 bar=None):
        self.space, self.grid, self.n, self.R, self.index, self.dtype = space, grid, n_live, n_runs, index, dtype
        self.saver, self.bar, self.target = saver, bar, target
        move, self.evaluate = build_move(space, target.residual, dtype, n_live)
        width = min(n_runs * n_live, policy.capacity(n_runs * k))    # one pass when K = k: at most 1/8 idle
        program = build_nested_program(move, n_kinds=move_kinds(space, n_live), n_runs=n_runs, n_live=n_live,
                                       dim=space.dim, width=width, log_size=LOG_SIZE, dtype=dtype)
        self.key = ("nested", programs.Identity(target.residual), _space_key(space), jnp.dtype(dtype).name,
                    width)
        self.build = lambda: jax.jit(program.run)
        self.args = NestedArgs(np.uint32(seed), np.int32(index), jnp.asarray(grid, dtype), np.int32(k),
                               np.int32(n_moves), np.int32(1))
        self.acceptance = [[] for _ in range(n_runs)]
        self.evaluations = n_runs * n_live
        self.seconds_per_iteration = None
        self.elapsed_before, self.compile_seconds = 0.0, 0.0
        self.carry, self._done = None, None

    def start(self) -> None:
        """Draw each run's first n_live points from the space (a restored runner skips this): one cached
        program, not an eager dispatch (and a first-call compile) per operation; a sampler that draws on
        the host (``Space.traceable`` False) is called before it."""
        if self.space.traceable:
            program, args = (lambda seed, target: self._first_of(self._draws(seed, target))), (
                self.args.seed, self.args.target)
        else:
            program, args = self._first_of, (self._draws(self.args.seed, self.args.target),)
        executable, seconds = programs.compiled((self.key, "start", self.space.traceable),
                                                lambda: jax.jit(program), *args)
        self.compile_seconds += seconds
        self.carry, finite, nan = executable(*args)
        if not bool(finite):
            raise ValueError("space: its sampler drew points where its logpdf is -inf or nan")
        if int(nan):
            warnings.warn(f"volume_curve: target {self.target.name!r}'s residual is NaN at {int(nan)} of "
                          f"{self.R * self.n} prior draws; NaN is read as +inf (outside every eps)", RuntimeWarning,
                          stacklevel=4)

    def _draws(self, seed, target):
        """The R n first points (flat): run r's n_live prior draws from its own key."""
        keys = jax.random.split(jax.random.fold_in(root_key(seed, target), 0), self.R)
        return jnp.concatenate([self.space.sample(key, self.n) for key in keys]).astype(self.dtype)

    def _first_of(self, x):
        """(first carry, every log density finite, NaN residuals) from the first points x."""
        logp, r = jax.vmap(self.evaluate)(x)
        raw = jax.vmap(lambda p: jnp.asarray(self.target.residual(self.space.unflatten(p))))(x)
        return self._first_carry(x, logp, r), jnp.all(jnp.isfinite(logp)), jnp.isnan(raw).sum()

    def _first_carry(self, x, logp, r) -> NestedCarry:
        """The carry before iteration 0, from the R n first points (flat), their log densities and residuals."""
        R, n, G = self.R, self.n, self.grid.size
        live = Live(x.reshape(R, n, self.space.dim), logp.reshape(R, n), r.reshape(R, n))
        runs = Runs(jnp.zeros(R, self.dtype), jnp.full((R, G), jnp.nan, self.dtype),
                    jnp.ones((R, N_SCALED), self.dtype), jnp.zeros(R, bool), jnp.zeros(R, bool),
                    jnp.zeros(R, jnp.int32))
        return NestedCarry(live, runs, self._empty_log(), jnp.int32(0))

    def _empty_log(self) -> Log:
        return Log(jnp.full((LOG_SIZE, self.R), jnp.nan, self.dtype), jnp.zeros((LOG_SIZE, self.R), jnp.int32),
                   jnp.int32(0))

    def run(self) -> None:
        if not self.done:
            wake_loop(self, self._dispatch, lambda: self.done)
        elif self.bar is not None:
            self.bar.close()

    @property
    def done(self) -> bool:
        if self._done is None:
            self._done = bool(np.all(fetch(self.carry.runs.done)))
        return self._done

    def _dispatch(self) -> None:
        seconds = POLL_SECONDS if self.saver is None else min(POLL_SECONDS, self.saver.every)
        budget = 1 if self.seconds_per_iteration is None else seconds / max(self.seconds_per_iteration, 1e-9)
        args = self.args._replace(budget=np.int32(min(LOG_SIZE, max(1, int(budget)))))
        carry = self.carry._replace(log=self.carry.log._replace(used=np.int32(0)))
        executable, compile_seconds = programs.compiled(self.key, self.build, carry, args)
        self.compile_seconds += compile_seconds
        began = time.perf_counter()
        self.carry = executable(carry, args)
        log, done = fetch((self.carry.log, self.carry.runs.done))
        used = int(log.used)
        self.seconds_per_iteration = (time.perf_counter() - began) / max(used, 1)
        for row in range(used):
            for r in np.flatnonzero(~np.isnan(log.acceptance[row])):
                self.acceptance[r].append(float(log.acceptance[row, r]))
        self.evaluations += int(np.asarray(log.evaluations[:used], np.int64).sum())
        self._done = bool(np.all(done))
        if self.bar is not None:
            self.bar.update(int(np.sum(done)) - self.bar.n)

    # -- results and checkpoints ---------------------------------------------------------------
    def results(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per run: ln V at each eps, iterations, extinct (one read of the device)."""
        runs = fetch(self.carry.runs)
        return (np.asarray(runs.log_volume, np.float64), np.asarray(runs.iterations, np.int64),
                np.asarray(runs.extinct))

    def snapshot(self, prefix: str) -> dict:
        """Everything ``run`` needs to continue, as arrays named prefix + field (``restore``)."""
        carry = fetch(self.carry._replace(log=None))
        out = {f"{prefix}carry.{i}": leaf for i, leaf in enumerate(jax.tree.leaves(carry))}
        out[prefix + "log_volume"] = np.asarray(carry.runs.log_volume, np.float64)
        out[prefix + "evaluations"] = np.asarray(self.evaluations)
        out[prefix + "acceptance"] = np.array([a for run in self.acceptance for a in run], np.float64)
        out[prefix + "acceptance_counts"] = np.array([len(run) for run in self.acceptance], np.int64)
        return out

    def restore(self, data: dict, prefix: str) -> None:
        points = self.R * self.n          # a carry of the right structure, its values replaced below
        zeros = jnp.zeros(points, self.dtype)
        parts = self._first_carry(jnp.zeros((points, self.space.dim), self.dtype), zeros, zeros)._replace(log=None)
        leaves = [jnp.asarray(data[f"{prefix}carry.{i}"]) for i in range(len(jax.tree.leaves(parts)))]
        self.carry = jax.tree.unflatten(jax.tree.structure(parts), leaves)._replace(log=self._empty_log())
        self._done = None
        self.evaluations = int(data[prefix + "evaluations"])
        flat, counts = data[prefix + "acceptance"], data[prefix + "acceptance_counts"]
        self.acceptance = [a.tolist() for a in np.split(flat, np.cumsum(counts)[:-1])]

