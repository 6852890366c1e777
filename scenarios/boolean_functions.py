"""Boolean functions of a real network: which functions does the parameter prior favour, and does SGD find them?

Question. Valle-Pérez, Camargo & Louis (ICLR 2019) sampled the parameters of a 7-40-40-1 ReLU network on
all 128 inputs of 7 Boolean variables: the probability P(f) of each function follows roughly a Zipf law,
P ∝ 1/rank, and falls with its Lempel-Ziv complexity K_LZ. That is the volume side of the paper's claim
in a real network: the prior mass of {theta : f_theta = f}.

Stages here:
1. Exact warm-up: a perceptron without bias, Gaussian weights, on {0,1}^7: t = #inputs mapped to 1 has
   P(t) = 2^-7 for every t (Mingard et al. 2019), a chi-square check of the counting code.
2. Prior volumes: ``prior_samples`` draws of the 7-40-40-1 network (W ~ N(0, sigma_w^2 / fan_in),
   b ~ N(0, sigma_b^2), sigma_w = sigma_b = 1 as in Valle-Pérez et al.), each a 128-bit function
   (``simulator.boolean``). Rank plot with the Zipf line, P(f) against K_LZ, the mass of the top 10 and
   top 1000 functions (chosen on one half of the samples, measured on the other, so the choice does not
   inflate them; Wilson intervals) and the Zipf exponent (ranks from one half, P from the other).
3. SGD against the target: a training set S of ``train_size`` of the 128 inputs
   (seeded), three targets of rising K_LZ (x1; the majority of x1, x2, x3; seeded random bits), and for
   each optimizer and batch size a race of ``sgd_chains`` chains from prior draws, trained on the binary
   cross-entropy and each stopped at its first step with zero training error (censored at
   ``sgd_steps``); the race's stop label is the function on the 64 test inputs. Reported: P_SGD(f|S) of
   the most frequent test functions (Wilson), how many distinct ones, and the mean test error
   (Student-t). A random target's test bits are fair coins independent of S, so any learner's expected
   test error is exactly 1/2.
4. P_B(f|S) next to P_SGD(f|S) (the other half of 3): for the ``pb_functions`` test functions found most often
   at the SGD stops (pooled over a target's races), P_B(f|S) = mu(fits S and f on T) / mu(fits S) under the
   prior, from one nested-sampling volume curve each (``sim.posterior_probability``; rejection would need
   1 / P(fit S) ~ 2e5 draws per fit for x1). Reported: both with intervals, the least-squares slope and R^2
   of ln P_SGD on ln P_B per optimizer and batch size, and the fraction within a factor 10. Mingard et al.
   (JMLR 2021) find P_SGD tracking P_B, with P_B from a Gaussian-process approximation.
5. Below the sampling floor (``floor_functions``, off by default: 25-45 min per function): P_B(f|S) of the
   test functions found exactly once among a target's pooled SGD stops, most test errors first, where
   rejection sees nothing (for x1's, P_B(f|S) mu(fits S) measured 2e-15 to 3e-12 at 400 moves), each at 200
   and 400 moves: a value passes the doubling check where the two agree (``doubling_check``). Next to it,
   1 / fits, which is not their P_SGD: they are chosen because they were seen once (``found_once``).

Run alone: ``python scenarios/boolean_functions.py --set quick=true``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import stats as st

import simulator as sim
from simulator import boolean, cli, stats
from simulator.io.plots import figure, save

from scenarios import common
from scenarios.common import check_values, finish, finite_or_none, fmt_interval, setting, write_report

NAME = "boolean-functions"
SUMMARY = "Prior probabilities of the Boolean functions of a 7-40-40-1 ReLU network: Zipf law and LZ complexity"
WIDTHS = (7, 40, 40, 1)
N_BITS = 2 ** WIDTHS[0]
SINGLETON_SAMPLE = 5000      # functions seen once whose K_LZ is computed for the complexity plot
LEARNING_RATES = {"adam": 0.01, "sgd": 0.1}
TOP_FUNCTIONS = 20           # test functions per race kept with their counts
FOUND_ONCE = 10              # test functions found once per target kept for the floor stage


def targets(seed: int) -> dict:
    """name -> 128-bit truth table: three targets of rising Lempel-Ziv complexity."""
    x = boolean.inputs(WIDTHS[0]).astype(np.uint8)
    return {"x1": x[:, 0], "majority(x1,x2,x3)": (x[:, :3].sum(axis=1) >= 2).astype(np.uint8),
            "random": np.random.default_rng([seed, 17]).integers(0, 2, N_BITS).astype(np.uint8)}


def split(train_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, test) input indices: a seeded random subset S of train_size inputs and the rest."""
    train = np.sort(np.random.default_rng([seed, 29]).choice(N_BITS, train_size, replace=False))
    return train, np.setdiff1d(np.arange(N_BITS), train)


@dataclass(frozen=True)
class Settings(common.Settings):
    prior_samples: int = setting(2_000_000, "network draws of the prior stage (measured 22,500 draws/s on 2 cores: 1e7 in about 7.5 min)")
    perceptron_samples: int = setting(1_000_000, "perceptron draws of the warm-up")
    sigma_w: float = setting(1.0, "weight scale: W ~ N(0, sigma_w^2 / fan_in)")
    sigma_b: float = setting(1.0, "bias scale: b ~ N(0, sigma_b^2)")
    sgd_chains: int = setting(3000, "SGD chains per (target, optimizer, batch size) race (10,000: about 20 min on 2 cores)")
    sgd_steps: int = setting(5000, "SGD step budget (chains not fitting S by then are censored)")
    train_size: int = setting(64, "inputs in the training set S (the rest are the test inputs)")
    optimizers: tuple[str, ...] = setting(("adam", "sgd"), "optax optimizers: adam (lr 0.01) and/or sgd (lr 0.1)")
    batch_sizes: tuple[int, ...] = setting((8, 64), "minibatch sizes (drawn with replacement from S)")
    pb_targets: tuple[str, ...] = setting(("x1", "majority(x1,x2,x3)"), "targets whose P_B(f|S) is measured")
    pb_functions: int = setting(1, "test functions per target with a P_B(f|S): the most frequent at the SGD stops, "
                                   "pooled over the target's races (0: no P_B stage; the results folder uses 3)")
    pb_runs: int = setting(4, "independent nested-sampling runs per P_B (its interval comes from their spread; "
                              "the results folder uses 8)")
    pb_live: int = setting(50, "live points per nested-sampling run")
    pb_moves: int = setting(100, "constrained moves per replacement point (a P_B of 3e-3 read 4.8e-3 at 100, "
                                    "3.0e-3 at 400 and 9.2e-4, with a spread warning, at 40)")
    floor_targets: tuple[str, ...] = setting(("x1",), "targets whose rarest SGD test functions get a P_B(f|S) (the floor stage)")
    floor_functions: int = setting(0, "test functions per floor target: found once at the SGD stops, most test errors "
                                      "first (0: no floor stage; each took 25-45 min at 200 and 400 moves on 2 cores)")
    floor_moves: tuple[int, ...] = setting((200, 400), "constrained moves per replacement point in the floor stage, "
                                           "increasing; each function is measured at every count (same run seed), "
                                           "and its value passes the doubling check only where the last two agree")

    # quick: P_B with 25 moves is a smoke test of the stage (its spread warns when the runs disagree)
    QUICK: ClassVar[dict] = {"prior_samples": 200_000, "perceptron_samples": 2 ** 17, "sgd_chains": 500,
                             "batch_sizes": (64,), "pb_targets": ("x1",), "pb_functions": 1, "pb_runs": 4,
                             "pb_moves": 25}

    def check(self):
        for name in ("prior_samples", "perceptron_samples", "sigma_w", "sigma_b", "sgd_chains", "sgd_steps"):
            check_values(name, (getattr(self, name),), low=0)
        check_values("optimizers", self.optimizers, allowed=tuple(LEARNING_RATES))
        check_values("batch_sizes", self.batch_sizes, low=0)
        check_values("pb_targets", self.pb_targets, allowed=tuple(targets(0)), at_least=0)
        check_values("pb_functions", (self.pb_functions,), low=-1)
        check_values("floor_targets", self.floor_targets, allowed=tuple(targets(0)), at_least=0)
        check_values("floor_functions", (self.floor_functions,), low=-1)
        for name in ("pb_runs", "pb_live", "pb_moves"):
            check_values(name, (getattr(self, name),), low=1)
        check_values("floor_moves", self.floor_moves, low=0)
        if any(b <= a for a, b in zip(self.floor_moves, self.floor_moves[1:])):
            raise ValueError(f"setting floor_moves must increase (e.g. 200,400), got {self.floor_moves!r}")
        if not 2 <= self.train_size <= N_BITS - 2:
            raise ValueError(f"setting train_size must be in [2, {N_BITS - 2}], got {self.train_size}")
        if self.prior_samples < 2000:
            raise ValueError("setting prior_samples must be >= 2000 (the top-1000 mass needs two halves)")


def warm_up(settings: Settings, seed: int) -> dict:
    t = boolean.perceptron_counts(jax.random.key(seed), 7, settings.perceptron_samples)
    counts = np.bincount(t, minlength=N_BITS)
    n = counts.sum()
    z = (counts - n / N_BITS) / math.sqrt(n / N_BITS * (1 - 1 / N_BITS))
    return {"samples": int(n), "chi_square_p": float(st.chisquare(counts).pvalue), "max_abs_z": float(np.abs(z).max()),
            "p_t": (counts / n).tolist()}


def split_ranks(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Functions ranked on the first half of the draws, measured on the second: (the first half's counts in
    rank order, the first-half rank of each second-half draw, -1 where the first half never saw it). So the
    ranking's selection does not inflate what is measured."""
    half = len(codes) // 2
    top, counts_a = boolean.count(codes[:half])
    index = {tuple(c): i for i, c in enumerate(top.tolist())}
    return counts_a, np.array([index.get(tuple(c), -1) for c in codes[half:].tolist()], np.int64)


def top_mass(ranks_b: np.ndarray, k: int) -> stats.Estimate:
    """Mass of the k most frequent functions of the first half, measured on the second half (Wilson)."""
    return stats.proportion(int(np.sum((ranks_b >= 0) & (ranks_b < k))), len(ranks_b))


def zipf_exponent(counts_a: np.ndarray, ranks_b: np.ndarray, low: int = 3, min_count: int = 5) -> dict:
    """Slope of ln P against ln rank (Zipf: -1) over ranks low.. while the first half counts >= min_count.

    Ranks from the first half, P from the second (``split_ranks``); weighted least squares with Poisson
    weights (var ln P ~ 1 / count), normal 95 % interval."""
    high = int(np.sum(counts_a >= min_count))
    if high < low + 2:
        return {"slope": [math.nan] * 3, "ranks": [low, high]}
    counts_b = np.bincount(ranks_b[(ranks_b >= 0) & (ranks_b < high)], minlength=high).astype(float)
    ranks = np.arange(1, high + 1)[low - 1:]
    k = counts_b[low - 1:]
    ok = k > 0
    x, y, w = np.log(ranks[ok]), np.log(k[ok] / len(ranks_b)), k[ok]
    xm = np.sum(w * x) / w.sum()
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * y) / sxx
    se = 1 / math.sqrt(sxx)
    return {"slope": list(stats.normal_interval(slope, se)), "ranks": [low, high]}


def prior(settings: Settings, seed: int) -> dict:
    t0 = time.perf_counter()
    codes = boolean.mlp_functions(jax.random.key(seed + 1), settings.prior_samples, WIDTHS, settings.sigma_w,
                                  settings.sigma_b)
    seconds = time.perf_counter() - t0
    unique, counts = boolean.count(codes)
    n = len(codes)
    counts_a, ranks_b = split_ranks(codes)
    rng = np.random.default_rng(seed)
    seen_twice = np.flatnonzero(counts >= 2)
    once = np.flatnonzero(counts == 1)
    picked = np.concatenate([seen_twice, rng.choice(once, min(SINGLETON_SAMPLE, once.size), replace=False)])
    complexity = [boolean.lz_complexity(boolean.decode(unique[i], N_BITS)) for i in picked]
    top = [{"rank": r + 1, "code": [hex(int(w)) for w in unique[r]], "p": list(stats.proportion(int(counts[r]), n)),
            "lz": boolean.lz_complexity(boolean.decode(unique[r], N_BITS)),
            "ones": int(boolean.decode(unique[r], N_BITS).sum())} for r in range(min(10, len(counts)))]
    return {"samples": n, "seconds": seconds, "samples_per_second": n / seconds, "distinct": int(len(counts)),
            "seen_once": int(once.size), "count_runs": count_runs(counts), "top": top,
            "top10_mass": list(top_mass(ranks_b, 10)), "top1000_mass": list(top_mass(ranks_b, 1000)),
            "zipf": zipf_exponent(counts_a, ranks_b), "complexity": {"count": counts[picked].tolist(), "lz": complexity,
                                                          "singletons_sampled": int(min(SINGLETON_SAMPLE, once.size))}}


def sgd_race(truth, train, test, optimizer: str, batch_size: int, settings: Settings, seed: int, progress):
    """Chains from prior draws trained on S, each stopped at its first zero-training-error step; the stop
    label is the function on the test inputs (``boolean.pack_bits``)."""
    sample, unravel = boolean.mlp_flat(WIDTHS, settings.sigma_w, settings.sigma_b)
    X = boolean.inputs(WIDTHS[0])
    x_train, y_train, x_test = jnp.asarray(X[train]), jnp.asarray(truth[train], jnp.float32), jnp.asarray(X[test])

    def cross_entropy(theta, batch):
        xb, yb = batch
        return jnp.mean(optax.sigmoid_binary_cross_entropy(boolean.mlp_logits(unravel(theta), xb), yb))

    def training_misfit(theta):
        return boolean.misfit_count(boolean.mlp_logits(unravel(theta), x_train), y_train)

    def test_function(theta):
        return boolean.pack_bits(boolean.mlp_logits(unravel(theta), x_test) > 0)

    make = {"adam": optax.adam, "sgd": optax.sgd}[optimizer]
    kernel = sim.dynamics.sgd(cross_entropy, (x_train, y_train), make(LEARNING_RATES[optimizer]), batch_size)
    starts = sample(jax.random.key(seed + 2), settings.sgd_chains)
    return sim.race(kernel, [sim.Target("fit", training_misfit, 0.0)], starts, n_chains=settings.sgd_chains,
                    max_steps=settings.sgd_steps, seed=seed, stop_label=test_function, progress=progress)


def fit_codes(result) -> np.ndarray:
    """The test functions (codes) at the stops of the chains that fit S."""
    return boolean.words32_to_codes(result.stop_labels[result.outcome == 0])


def sgd_summary(result, codes: np.ndarray, truth_test: np.ndarray) -> dict:
    """Counts by outcome, stop steps, P_SGD(f|S) of the top test functions and the mean test error of the fits
    (codes: ``fit_codes(result)``)."""
    fit = result.outcome == 0
    unique, counts = boolean.count(codes)
    bits = boolean.decode(unique, truth_test.size)
    errors = np.mean(boolean.decode(codes, truth_test.size) != truth_test, axis=1)
    n_fit = int(fit.sum())
    return {"counts": result.counts, "chains": result.n_chains, "median_stop_step": float(np.median(result.stop_step[fit]))
            if n_fit else math.nan, "distinct": int(len(counts)), "test_error": list(stats.mean_interval(errors)),
            "p_target": list(stats.proportion(int(sum(c for b, c in zip(bits, counts) if np.array_equal(b, truth_test))),
                                              n_fit)) if n_fit else [math.nan] * 3,
            "top": [{"code": [hex(int(w)) for w in unique[i]], "count": int(counts[i]),
                     "p_sgd": list(stats.proportion(int(counts[i]), n_fit)),
                     "test_error": float(np.mean(bits[i] != truth_test))} for i in range(min(TOP_FUNCTIONS, len(counts)))]}


def sgd_stage(settings: Settings, seed: int, progress) -> dict:
    train, test = split(settings.train_size, seed)
    out = {"train": train.tolist(), "learning_rates": LEARNING_RATES, "targets": []}
    for name, truth in targets(seed).items():
        entry = {"name": name, "lz": boolean.lz_complexity(truth), "races": []}
        codes = []
        for optimizer in settings.optimizers:
            for batch_size in settings.batch_sizes:
                t0 = time.perf_counter()
                result = sgd_race(truth, train, test, optimizer, int(batch_size), settings, seed, progress)
                seconds = time.perf_counter() - t0
                codes.append(fit_codes(result))
                entry["races"].append({"optimizer": optimizer, "batch_size": int(batch_size), "seconds": seconds,
                                       **sgd_summary(result, codes[-1], truth[test])})
        entry["found_once"] = found_once(np.concatenate(codes), truth[test], FOUND_ONCE)
        out["targets"].append(entry)
    return out


def found_once(codes: np.ndarray, truth_test: np.ndarray, k: int) -> dict:
    """The k test functions found exactly once among the pooled stops, most test errors first (ties by code):
    the rarest functions SGD reaches, and how many were seen once (N_1). Chosen because their count is 1, their
    P_SGD is not 1 / fits: that holds for a function named before the races. Good-Turing: the functions never
    seen hold about N_1 / fits of SGD's stops, a tail the seen-once functions are drawn from."""
    unique, counts = boolean.count(codes)
    errors = np.sum(boolean.decode(unique, truth_test.size) != truth_test, axis=1)
    once = np.flatnonzero(counts == 1)
    chosen = once[np.argsort(-errors[once], kind="stable")][:k]
    return {"fits": int(len(codes)), "seen_once": int(once.size),
            "functions": [{"code": [hex(int(w)) for w in unique[i]], "test_errors": int(errors[i])} for i in chosen]}


def pooled_top(races, k: int) -> list[list[str]]:
    """The k test functions (hex codes) most often found at the stops, counts pooled over the races' top lists."""
    pooled = {}
    for r in races:
        for f in r["top"]:
            pooled[tuple(f["code"])] = pooled.get(tuple(f["code"]), 0) + f["count"]
    return [list(c) for c, _ in sorted(pooled.items(), key=lambda item: (-item[1], item[0]))[:k]]


def p_sgd_of(race, code) -> list | None:
    """P_SGD(f|S) of a test function in a race (Wilson), None where it is not among the race's top functions."""
    return next((f["p_sgd"] for f in race["top"] if f["code"] == code), None)


def pb_stage(sgd: dict, settings: Settings, seed: int, progress) -> dict:
    """P_B(f|S) (``sim.posterior_probability``) of the most frequent SGD test functions, next to P_SGD(f|S)."""
    rows = []
    for t in (t for t in sgd["targets"] if t["name"] in settings.pb_targets):
        for code in pooled_top(t["races"], settings.pb_functions):
            row = measure_pb(t["name"], code, settings, settings.pb_moves, seed, seed + len(rows), progress)
            rows.append(row | {"p_sgd": {f"{r['optimizer']}/{r['batch_size']}": p_sgd_of(r, code) for r in t["races"]}})
    configs = [f"{r['optimizer']}/{r['batch_size']}" for r in sgd["targets"][0]["races"]]
    return {"functions": rows, "agreement": {c: agreement(rows, c) for c in configs},
            "settings": {"n_runs": settings.pb_runs, "n_live": settings.pb_live, "n_moves": settings.pb_moves}}


def measure_pb(target: str, code: list[str], settings: Settings, n_moves: int, seed: int, run_seed: int,
               progress) -> dict:
    """P_B(f|S) of one test function (hex code) of a target (``sim.posterior_probability`` with seed run_seed),
    with its diagnostics; seed is the scenario's (S and the targets)."""
    train, test = split(settings.train_size, seed)
    truth = targets(seed)[target]
    X = boolean.inputs(WIDTHS[0])
    bits = boolean.decode(np.array([int(w, 16) for w in code], np.uint64), test.size)
    t0 = time.perf_counter()
    pb = sim.posterior_probability(WIDTHS, X[train], truth[train], X[test], bits, sigma_w=settings.sigma_w,
                                   sigma_b=settings.sigma_b, n_live=settings.pb_live, n_runs=settings.pb_runs,
                                   n_moves=n_moves, seed=run_seed, progress=progress)
    return {"target": target, "code": code, "test_errors": int(np.sum(bits != truth[test])), "p_b": list(pb.p),
            "fit_volume": list(pb.fit_volume), "seconds": time.perf_counter() - t0,
            "extinct_runs": int(sum(pb.curve.work["per_target"]["f"]["extinct"])),
            "spread": finite_or_none(pb.curve.spread("f")[-1]), "spread_limit": pb.curve.spread_limit()}


def floor_stage(sgd: dict, settings: Settings, seed: int, progress) -> dict:
    """Below the sampling floor: P_B(f|S) of the test functions SGD found once, most test errors first
    (``found_once``), next to 1 / fits (Wilson; an upper-biased P_SGD, see ``found_once``). Each is measured
    at every count of ``floor_moves`` with one run seed (the same first live points, then other moves); the row
    holds the last, the others are under "fewer_moves" (``doubling_check``)."""
    rows = []
    for t in (t for t in sgd["targets"] if t["name"] in settings.floor_targets):
        fits = t["found_once"]["fits"]
        for f in t["found_once"]["functions"][:settings.floor_functions]:
            run_seed = seed + 100 + len(rows)
            *fewer, row = (measure_pb(t["name"], f["code"], settings, m, seed, run_seed, progress) | {"n_moves": m}
                           for m in settings.floor_moves)
            rows.append(row | {"fits": fits, "seen_once": t["found_once"]["seen_once"],
                               "one_over_fits": list(stats.proportion(1, fits)),
                               "fewer_moves": [{k: r[k] for k in CHECK_KEYS} for r in fewer]})
    return {"functions": rows, "settings": {"n_runs": settings.pb_runs, "n_live": settings.pb_live,
                                            "n_moves": list(settings.floor_moves)}}


CHECK_KEYS = ("n_moves", "p_b", "spread", "spread_limit", "seconds", "extinct_runs")


def doubling_check(row) -> bool | None:
    """Whether a floor value passes the doubling check: its runs' spread within the limit and its 95 % interval
    overlapping the one at the previous move count (None: measured at one count only, so not checked). Nested
    sampling that mixes too slowly reads rare volumes low with a spread near 1 (``sim.posterior_probability``),
    so agreement between move counts is the check that catches it; overlapping intervals is a weak form of it."""
    failures = check_failures(row)
    return None if failures is None else not failures


def check_failures(row) -> list[str] | None:
    """Why a floor value fails the doubling check ([]: it passes; None: one move count, not checked)."""
    if not row.get("fewer_moves"):
        return None
    previous = row["fewer_moves"][-1]["p_b"]
    apart = previous[2] < row["p_b"][1] or row["p_b"][2] < previous[1]
    return [w for w, bad in (("intervals apart", apart), ("spread above its limit", spread_warns(row))) if bad]


def check_words(row) -> str:
    """The doubling check in words: "agrees", or why it fails, or "not checked"."""
    failures = check_failures(row)
    if failures is None:
        return "not checked"
    return "fails: " + " and ".join(failures) if failures else "agrees"


def agreement(rows, config: str) -> dict:
    """ln P_SGD against ln P_B over the functions with both: least-squares slope (95 % t interval), R^2, and the
    fraction within a factor 10 (Wilson). The fit ignores the points' own errors (shown in the plot)."""
    pairs = np.array([(r["p_b"][0], r["p_sgd"][config][0]) for r in rows
                      if r["p_sgd"].get(config) is not None and r["p_b"][0] > 0])
    n = len(pairs)
    out = {"n": n, "within_10x": list(stats.proportion(int(np.sum(np.abs(np.log10(pairs[:, 1] / pairs[:, 0])) <= 1)), n))
           if n else [math.nan] * 3}
    if n >= 3 and np.ptp(np.log(pairs[:, 0])) > 0:
        fit = st.linregress(np.log(pairs[:, 0]), np.log(pairs[:, 1]))
        half = st.t.ppf(0.975, n - 2) * fit.stderr
        out |= {"slope": [float(fit.slope), float(fit.slope - half), float(fit.slope + half)],
                "r_squared": float(fit.rvalue ** 2)}
    else:
        out |= {"slope": [math.nan] * 3, "r_squared": math.nan}
    return out


def count_runs(counts) -> list[list[int]]:
    """Descending counts as [count, how many functions have it] pairs (the rank plot, compactly)."""
    values, multiplicity = np.unique(np.asarray(counts), return_counts=True)
    return [[int(v), int(m)] for v, m in zip(values[::-1], multiplicity[::-1])]


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True, precision="float32") -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"scenario": NAME, "seed": seed, "settings": settings.as_dict(), "widths": list(WIDTHS),
               "warm_up": warm_up(settings, seed), "prior": prior(settings, seed),
               "sgd": sgd_stage(settings, seed, progress)}
    summary["pb"] = pb_stage(summary["sgd"], settings, seed, progress)
    summary["floor"] = floor_stage(summary["sgd"], settings, seed, progress)
    summary["verdict"] = verdict(summary)
    return finish(out, summary, {}, render)


def verdict(summary: dict) -> str:
    w, p = summary["warm_up"], summary["prior"]
    zipf = p["zipf"]["slope"]
    return (f"Warm-up: the perceptron's P(t) is uniform (chi-square p = {w['chi_square_p']:.3g}, max |z| = "
            f"{w['max_abs_z']:.2f} over 128 values). Prior: {p['distinct']:,} distinct functions in {p['samples']:,} "
            f"draws ({p['seen_once']:,} seen once); the top 10 hold {fmt_interval(p['top10_mass'])} of the mass and "
            f"the top 1000 {fmt_interval(p['top1000_mass'])}; ln P falls with ln rank at slope "
            f"{fmt_interval(zipf)} over ranks {p['zipf']['ranks'][0]}..{p['zipf']['ranks'][1]} (Zipf: -1; Valle-Pérez "
            f"et al. 2019, Fig. 1, 1e8 samples), and "
            f"the most probable functions have the lowest K_LZ (the two constants: {p['top'][0]['lz']:.1f}). "
            + sgd_verdict(summary["sgd"]) + " " + pb_verdict(summary["pb"]) + floor_verdict(summary["floor"]))


def pb_verdict(pb: dict) -> str:
    if not pb["functions"]:
        return "P_B(f|S) was not measured (pb_functions = 0)."
    fits = "; ".join(f"{c}: slope {fmt_interval(a['slope'])}, R^2 {a['r_squared']:.2f}, within 10x "
                     f"{fmt_interval(a['within_10x'])} of {a['n']}" for c, a in pb["agreement"].items())
    lowest = min(pb["functions"], key=lambda r: r["p_b"][0])
    return (f"P_SGD(f|S) against P_B(f|S) over the {len(pb['functions'])} most frequent test functions (ln-ln least "
            f"squares; Mingard et al. 2021 find that P_SGD \"correlates remarkably well\" with P_B, there from a Gaussian-"
            f"process approximation, here the network's own prior mass): {fits}. Smallest P_B measured: "
            f"{fmt_interval(lowest['p_b'])} ({lowest['target']}, {lowest['test_errors']} test errors).")


def floor_verdict(floor: dict) -> str:
    rows = floor["functions"]
    if not rows:
        return ""
    below = [r for r in rows if r["p_b"][2] < 1e-9 and doubling_check(r)]
    cells = "; ".join(f"{r['test_errors']} test errors: P_B {fmt_interval(r['p_b'])} at {row_moves(r, floor)} moves "
                      f"(doubling check {check_words(r)})" for r in rows)
    return (f" Below the sampling floor, for {len(rows)} test functions SGD found once ({rows[0]['target']}; "
            f"1 / fits = {one_over_fits(rows[0])[0]:.2g}, an upper-biased P_SGD for functions chosen as seen once): {cells}; "
            f"{len(below)} of {len(rows)} have P_B below 1e-9 with their whole interval and pass the doubling check.")


def floor_counts(floor: dict) -> list[int]:
    """The floor stage's move counts (folders saved before the doubling check have one, as an int)."""
    moves = floor["settings"]["n_moves"]
    return moves if isinstance(moves, list) else [moves]


def one_over_fits(row) -> list:
    """1 / fits (Wilson) of a floor row; folders saved before it was named so hold it as "p_sgd"."""
    return row["one_over_fits"] if "one_over_fits" in row else row["p_sgd"]


def row_moves(row, floor: dict) -> int:
    return row.get("n_moves", floor_counts(floor)[-1])


def spread_warns(row) -> bool:
    return row.get("spread") is not None and row["spread"] > row["spread_limit"]


def sgd_verdict(sgd: dict) -> str:
    parts = []
    for t in sgd["targets"]:
        errors = ", ".join(f"{r['optimizer']}/{r['batch_size']} {fmt_interval(r['test_error'])}" for r in t["races"])
        parts.append(f"{t['name']} (K_LZ {t['lz']:.1f}): {errors}")
    censored, diverged = (sum(r["counts"][k] for t in sgd["targets"] for r in t["races"]) for k in ("censored", "diverged"))
    ordered = sorted(sgd["targets"], key=lambda t: t["lz"])
    rises = all(a["races"][i]["test_error"][2] < b["races"][i]["test_error"][1]     # intervals apart, in order
                for a, b in zip(ordered, ordered[1:]) for i in range(len(a["races"])))
    trend = "rises with the target's complexity (every step, intervals apart)" if rises else \
        "does not rise with the target's complexity at every step"
    return ("SGD stopped at zero training error on S (|S| = " + str(len(sgd["train"])) + f"): mean test error {trend}, "
            + "; ".join(parts) + f" ({censored} chains censored and {diverged} diverged in all; "
            "a random target's exact expectation is 1/2).")


def render(summary: dict, out) -> None:
    plot(summary, Path(out) / "prior.png")
    plot_sgd(summary["sgd"], Path(out) / "sgd.png")
    if summary["pb"]["functions"] or summary["floor"]["functions"]:
        plot_pb(summary["pb"], summary["floor"], Path(out) / "pb.png")
    write_report(out, report(summary))


def report(summary: dict) -> str:
    p = summary["prior"]
    lines = common.report_head(NAME, SUMMARY, __doc__) + [
             f"Network {'-'.join(map(str, summary['widths']))}, sigma_w = {summary['settings']['sigma_w']}, "
             f"sigma_b = {summary['settings']['sigma_b']}; {p['samples']:,} draws in {p['seconds']:.0f} s "
             f"({p['samples_per_second']:,.0f} samples/s, each a forward pass over the 128 inputs).", "",
             "## Most probable functions", "", "| rank | P(f) [95 %] | K_LZ | inputs mapped to 1 | code (two 64-bit words) |",
             "|---|---|---|---|---|"]
    for t in p["top"]:
        lines.append(f"| {t['rank']} | {fmt_interval(t['p'])} | {t['lz']:.1f} | {t['ones']} | {' '.join(t['code'])} |")
    lines += ["", "![prior](prior.png)", "", "## SGD stopped at zero training error", "",
              f"Training set S: {len(summary['sgd']['train'])} of the 128 inputs; learning rates "
              f"{summary['sgd']['learning_rates']}; binary cross-entropy; chains from prior draws.", "",
              "| target | K_LZ | optimizer | batch | fit / censored / diverged | median stop step | distinct test functions | "
              "P_SGD(target on the test inputs) | mean test error [95 %] | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in summary["sgd"]["targets"]:
        for r in t["races"]:
            lines.append(f"| {t['name']} | {t['lz']:.1f} | {r['optimizer']} | {r['batch_size']} | {r['counts']['fit']} / "
                         f"{r['counts']['censored']} / {r['counts']['diverged']} | {r['median_stop_step']:.0f} | {r['distinct']} | "
                         f"{fmt_interval(r['p_target'])} | {fmt_interval(r['test_error'])} | {r['seconds']:.0f} |")
    lines += ["", "![sgd](sgd.png)", ""] + pb_report(summary["pb"]) + floor_report(summary["floor"]) + [
              "## Verdict", "", summary["verdict"], "",
              "Not yet: a line-by-line comparison with the papers' figures.", ""]
    return "\n".join(lines)


def pb_report(pb: dict) -> list[str]:
    if not pb["functions"]:
        return []
    configs = list(pb["agreement"])
    lines = ["## P_B(f|S) next to P_SGD(f|S)", "",
             f"P_B(f|S) = mu(fits S and f on the test inputs) / mu(fits S) from one nested-sampling curve per function "
             f"(`sim.posterior_probability`: {pb['settings']['n_runs']} runs x {pb['settings']['n_live']} live points x "
             f"{pb['settings']['n_moves']} moves; interval from resampling runs). P_SGD: Wilson; '—' where the function "
             "is not among a race's 20 most frequent. Spread: the runs' SD of ln V at the smallest residual over the "
             "SD independent replacements give (about 1 when the moves decorrelate; `VolumeCurve.spread`).", "",
             "| target | test function (hex) | test errors | P_B(f\\|S) [95 %] | mu(fits S) | " + " | ".join(
                 f"P_SGD {c}" for c in configs) + " | extinct runs | spread (limit) | seconds |", "|---" * (8 + len(configs)) + "|"]
    for r in pb["functions"]:
        lines.append(f"| {r['target']} | {' '.join(r['code'])} | {r['test_errors']} | {fmt_interval(r['p_b'])} | "
                     f"{fmt_interval(r['fit_volume'])} | " + " | ".join(fmt_interval(r["p_sgd"][c]) for c in configs)
                     + f" | {r['extinct_runs']} | {spread_cell(r)} | {r['seconds']:.0f} |")
    lines += ["", "| optimizer/batch | functions | slope of ln P_SGD on ln P_B [95 %] | R^2 | within 10x [95 %] |",
              "|---|---|---|---|---|"]
    for c, a in pb["agreement"].items():
        lines.append(f"| {c} | {a['n']} | {fmt_interval(a['slope'])} | {a['r_squared']:.2f} | "
                     f"{fmt_interval(a['within_10x'])} |")
    return lines + ["", "![pb](pb.png)", ""]


def floor_report(floor: dict) -> list[str]:
    if not floor["functions"]:
        return []
    lines = ["## Below the sampling floor", "",
             f"The test functions found exactly once among all of a target's SGD stops, most test errors first: "
             f"P_B(f|S) as above ({floor['settings']['n_runs']} runs x {floor['settings']['n_live']} live points x "
             f"{' and '.join(map(str, floor_counts(floor)))} moves, one run seed). A value passes the doubling "
             "check where its spread is within the limit and its interval overlaps the one at the previous move "
             "count. Rejection "
             "would need about 1 / (mu(fits S) P_B) prior draws to see one.", "",
             "Next to it, 1 / (fits pooled over the races) with its Wilson interval, which is P_SGD(f|S) only for a "
             "function named before the races: these were chosen because they were seen once, so their P_SGD may "
             "be far lower (selection). Good-Turing: the functions never seen hold about N_1 / fits of SGD's stops "
             "(N_1 the functions seen once), a tail these are drawn from: "
             + (", ".join(sorted({f"{r['target']} {r['seen_once']:,} / {r['fits']:,} = {r['seen_once'] / r['fits']:.3f}"
                                  for r in floor["functions"] if "seen_once" in r})) or "not saved in this folder") + ".",
             "",
             "| target | test function (hex) | test errors | P_B(f\\|S) [95 %] | moves | fewer moves | doubling check | "
             "mu(fits S) | 1 / fits [95 %] | (1 / fits) / P_B | extinct runs | spread (limit) | seconds |",
             "|---" * 13 + "|"]
    for r in floor["functions"]:
        ratio = f"{one_over_fits(r)[0] / r['p_b'][0]:.1e}" if r["p_b"][0] > 0 else "—"
        fewer = "; ".join(f"{fmt_interval(f['p_b'])} at {f['n_moves']}, spread {spread_cell(f)}"
                          for f in r.get("fewer_moves", [])) or "—"
        lines.append(f"| {r['target']} | {' '.join(r['code'])} | {r['test_errors']} | {fmt_interval(r['p_b'])} | "
                     f"{row_moves(r, floor)} | {fewer} | {check_words(r)} | {fmt_interval(r['fit_volume'])} | "
                     f"{fmt_interval(one_over_fits(r))} | {ratio} | {r['extinct_runs']} | {spread_cell(r)} | "
                     f"{r['seconds']:.0f} |")
    return lines + [""]


def spread_cell(row) -> str:
    return "—" if row.get("spread") is None else f"{row['spread']:.1f} ({row['spread_limit']:.2f})"


def plot(summary: dict, path) -> None:
    p = summary["prior"]
    n = p["samples"]
    fig, (a, b) = figure(1, 2, figsize=(10, 4))
    counts = np.repeat(*np.array(p["count_runs"]).T)
    ranks = np.arange(1, counts.size + 1)
    a.loglog(ranks, counts / n, ".", ms=2, label="measured")
    zipf = p["zipf"]["ranks"][0]
    if counts.size >= zipf:
        a.loglog(ranks, counts[zipf - 1] / n * zipf / ranks, "k--", lw=1, label=f"Zipf, 1/rank (through rank {zipf})")
    a.axhline(1 / n, color="0.6", lw=0.8, label="sampling floor 1/N")
    a.set(xlabel="rank", ylabel="P(f)", title="rank plot")
    a.legend(fontsize=7)
    c = p["complexity"]
    b.semilogy(c["lz"], np.array(c["count"]) / n, ".", ms=3, alpha=0.5)
    b.set(xlabel="K_LZ (Lempel-Ziv complexity)", ylabel="P(f)",
          title=f"P(f) vs complexity\n(f seen twice or more, and {c['singletons_sampled']} seen once)")
    save(fig, path)


def plot_sgd(sgd: dict, path) -> None:
    fig, (a, b) = figure(1, 2, figsize=(10, 4))
    configs = [(r["optimizer"], r["batch_size"]) for r in sgd["targets"][0]["races"]]
    for i, (optimizer, batch) in enumerate(configs):
        lz = np.array([t["lz"] for t in sgd["targets"]]) + (i - len(configs) / 2) * 1.5
        e = np.array([t["races"][i]["test_error"] for t in sgd["targets"]])
        a.errorbar(lz, e[:, 0], yerr=[e[:, 0] - e[:, 1], e[:, 2] - e[:, 0]], fmt="o-", ms=4, capsize=2,
                   label=f"{optimizer}, batch {batch}")
    a.axhline(0.5, color="0.6", lw=0.8, ls="--", label="chance")
    a.set(xlabel="K_LZ of the target", ylabel="mean test error", title="generalization against complexity")
    a.legend(fontsize=7)
    for t in sgd["targets"]:
        top = t["races"][0]["top"]
        p = np.array([f["p_sgd"] for f in top])
        ranks = np.arange(1, len(top) + 1)
        b.errorbar(ranks, p[:, 0], yerr=[p[:, 0] - p[:, 1], p[:, 2] - p[:, 0]], fmt=".-", capsize=2,
                   label=f"{t['name']} (K_LZ {t['lz']:.0f})")
    b.set(xscale="log", yscale="log", xlabel="rank of the test function", ylabel="P_SGD(f | S)",
          title=f"test functions at the stop ({configs[0][0]}, batch {configs[0][1]})")
    b.legend(fontsize=7)
    save(fig, path)


def plot_pb(pb: dict, floor: dict, path) -> None:
    fig, ax = figure(1, 1, figsize=(5.5, 5))
    series = [(config, [(r["p_b"], r["p_sgd"][config]) for r in pb["functions"] if r["p_sgd"].get(config) is not None])
              for config in pb["agreement"]]
    series.append(("found once: 1 / fits (upper-biased)", [(r["p_b"], one_over_fits(r)) for r in floor["functions"]]))
    for i, (label, pts) in enumerate(series):
        if not pts:
            continue
        b, g = (np.array([p[k] for p in pts]) for k in (0, 1))
        ax.errorbar(b[:, 0], g[:, 0], xerr=[b[:, 0] - b[:, 1], b[:, 2] - b[:, 0]],
                    yerr=[g[:, 0] - g[:, 1], g[:, 2] - g[:, 0]], fmt="os^vD"[i % 5], ms=4, capsize=2, label=label)
    # axes from the central values (a warned estimate's lower bound can sit e^100 below them; its bar runs off)
    rows = pb["functions"] + floor["functions"]
    lo = min([r["p_b"][0] / 100 for r in rows if r["p_b"][0] > 0] + [1e-4])
    line = np.array([lo, 1.0])
    ax.plot(line, line, "k-", lw=0.8, label="P_SGD = P_B")
    ax.plot(line, 10 * line, "k:", lw=0.8, label="10x")
    ax.plot(line, line / 10, "k:", lw=0.8)
    p_sgd = [p[1][1] for _, pts in series for p in pts if p[1][1] > 0]
    ax.set(xscale="log", yscale="log", xlabel="P_B(f | S) (nested sampling)", ylabel="P_SGD(f | S)",
           title="SGD against the prior's posterior", xlim=(lo, 2), ylim=(min(p_sgd + [lo]) / 10, 2))
    ax.legend(fontsize=7)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)
