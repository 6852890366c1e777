"""SplittingResult: the per-run estimates of ``sim.splitting`` and the intervals drawn from them.

Each run r gives an estimate p_r(o) of every outcome o (kept as ln p_r(o), so that 1e-300 does
not underflow); the runs are independent and each p_r is unbiased for the targets
(``simulator.rare.splitting``). ``probability(o)`` is the mean over runs with the Student-t
interval across them; ``ratio(a, b)`` is mean p(a) / mean p(b) with the paired delta-method
interval (``stats.ratio_of_means``). On disk: ``result.json`` (config, estimates, work) and
``runs.npz`` (the per-run arrays), written whole (``io.files.replace_folder``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import outcomes, stats
from .io import registry
from .io.files import UnreadableFileError, check_saved_set, read_npz, replace_folder
from .stats import Estimate

FORMAT = "stabsim.splitting/1"
FILES = frozenset({"result.json", "runs.npz"})
# A target's mean "rests on few runs" below this share of non-zero runs or above this share of the sum
# in one run. Measured on star graphs (tests/engine/test_splitting_coverage.py; experiments of 20 runs x 200
# replicas, k = 10): with one shared score the rarer target had 17-30 % zero runs (45-100 %, median 70 %,
# non-zero per experiment) and its t interval covered 219 of 240 experiments (0.91); split per target,
# every run was non-zero, no run above 19 % of a sum, and it covered 224/240 (0.93).
MIN_NONZERO_SHARE = 0.9
MAX_RUN_SHARE = 0.3
RUN_ARRAYS = ("log_estimate", "iterations", "extinct", "stopped_early", "log_weight", "levels", "killed")


def outcome_columns(n_targets: int) -> list[int]:
    """Outcome codes in column order: the targets, then tie, failure, escaped, diverged, censored."""
    return list(range(n_targets)) + [outcomes.TIE, outcomes.FAILURE, outcomes.ESCAPED, outcomes.DIVERGED,
                                     outcomes.CENSORED]


@dataclass(frozen=True, eq=False)
class SplittingResult:
    """Outcome probabilities of ``sim.splitting``, one estimate per independent run.

    Attributes:
        target_names: target labels.
        runs: per-run arrays: ``log_estimate`` (runs, outcomes) ln of each run's estimate (-inf for 0),
            ``iterations``, ``extinct`` (every replica killed at once: estimate 0), ``stopped_early``
            (reached ``max_iterations``), ``log_weight`` (ln prod (1 - K_q/n)), ``levels`` (runs,
            iterations) the levels Z_q and ``killed`` the K_q, NaN-padded.
        config: the run's parameters; work: chain-steps simulated and replayed, lane-steps, wall time.
    """

    target_names: tuple
    runs: dict
    config: dict = field(default_factory=dict)
    work: dict = field(default_factory=dict)

    @property
    def outcomes(self) -> list[str]:
        """Outcome labels in column order: the targets, then tie, failure, escaped, diverged, censored."""
        return self.names

    @property
    def names(self) -> list[str]:
        """Outcome labels in column order (as ``outcomes``)."""
        label = outcomes.labels(self.target_names, failure=True)
        return [label[c] for c in outcome_columns(len(self.target_names))]

    @property
    def n_runs(self) -> int:
        return int(self.runs["log_estimate"].shape[0])

    def _column(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"unknown outcome {name!r}; known: {self.names}")
        return self.names.index(name)

    def per_run(self, name: str) -> np.ndarray:
        """Each run's estimate of P(name) (0.0 where it underflows float64: use ``log_per_run``)."""
        return np.exp(self.log_per_run(name))

    def log_per_run(self, name: str) -> np.ndarray:
        return self.runs["log_estimate"][:, self._column(name)]

    def probability(self, name: str, level: float = 0.95) -> Estimate:
        """Mean of the runs' estimates with the Student-t interval across runs (low end clipped at 0).

        Computed on the runs' estimates scaled by their largest, so it stays exact below 1e-300."""
        est, top = stats.mean_interval_from_logs(self.log_per_run(name), level)
        scale = math.exp(top) if top > -700 else 0.0
        return Estimate(*(v * scale for v in est))

    def log10_probability(self, name: str, level: float = 0.95) -> Estimate:
        """log10 of ``probability`` (value and ends), exact where P underflows float64."""
        est, top = stats.mean_interval_from_logs(self.log_per_run(name), level)
        shift = top / math.log(10)
        return Estimate(*(math.log10(v) + shift if v > 0 else -math.inf for v in est))

    def ratio(self, a: str, b: str, level: float = 0.95) -> Estimate:
        """Odds P(a first) / P(b first): ratio of the run means, paired delta-method t interval."""
        la, lb = self.log_per_run(a), self.log_per_run(b)
        top = max(np.max(la), np.max(lb))
        if top == -np.inf:
            return Estimate(math.nan, math.nan, math.nan)
        return stats.ratio_of_means(np.exp(la - top), np.exp(lb - top), level)

    def relative_error(self, name: str) -> float:
        """Standard error of ``probability(name)`` over its value: sd across runs / (sqrt(runs) mean)."""
        x = np.exp(self.log_per_run(name) - np.max(self.log_per_run(name)))
        return float(np.std(x, ddof=1) / (math.sqrt(x.size) * x.mean())) if x.mean() > 0 else math.nan

    def resolution(self) -> float:
        """The smallest mean a target seen once could have: one replica ending in it at the deepest level
        of one run, mean over runs of W / n (W the last weight above 0), divided by the runs. A target no run
        reached is below about this (a scale, not a confidence bound: the runs' estimates are not Bernoulli
        draws)."""
        n = self.config.get("n_replicas") or 1
        killed = np.nan_to_num(np.asarray(self.runs["killed"], float), nan=0.0)
        with np.errstate(divide="ignore"):
            log_w = np.cumsum(np.log1p(-killed / n), axis=1)    # ln W after each kill; -inf once extinct
        log_w = np.where(np.isfinite(log_w), log_w, 0.0).min(axis=1, initial=0.0)   # the last W > 0
        return float(np.mean(np.exp(log_w)) / n / self.n_runs)

    def sparse_targets(self) -> dict:
        """{target: (share of runs with a non-zero estimate, largest run's share of the sum)} for the
        targets whose mean rests on few runs: fewer than ``MIN_NONZERO_SHARE`` of the runs non-zero, or one
        run above ``MAX_RUN_SHARE`` of the sum (targets that no run reached are left out)."""
        out = {}
        for name in self.target_names:
            log_x = self.log_per_run(name)
            if np.max(log_x) == -np.inf:
                continue
            x = np.exp(log_x - np.max(log_x))
            nonzero, largest = float(np.mean(x > 0)), float(x.max() / x.sum())
            if nonzero < MIN_NONZERO_SHARE or largest > MAX_RUN_SHARE:
                out[name] = (nonzero, largest)
        return out

    @property
    def warnings(self) -> list[str]:
        out = []
        for name, (nonzero, largest) in self.sparse_targets().items():
            advice = ("use more runs or replicas, or a score nearer its committor" if self.config.get("per_target")
                      else "split for it with its own score (score={name: fn, ...}) or use more runs")
            out.append(f"P({name}) rests on few runs ({100 * nonzero:.0f} % of {self.n_runs} runs non-zero, the "
                       f"largest {100 * largest:.0f} % of the sum): its t interval under-covers (measured: 0.91 for "
                       f"0.95 nominal); {advice}")
        if self.runs["stopped_early"].any():
            out.append(f"{int(self.runs['stopped_early'].sum())} of {self.n_runs} runs stopped at max_iterations "
                       "before the level reached the targets: their estimates are not unbiased")
        extinct = int(self.runs["extinct"].sum())
        if extinct > self.n_runs // 2:
            out.append(f"{extinct} of {self.n_runs} runs went extinct (every replica at one level): the score "
                       "has plateaus or the targets are not reachable; the interval is unreliable")
        return out

    def summary(self) -> str:
        lines = [f"splitting: {self.n_runs} runs x {self.config.get('n_replicas')} replicas, "
                 f"k = {self.config.get('k')}, {self.work.get('iterations', 0)} iterations in all"]
        for name in self.names:
            p = self.probability(name)
            if p.value > 0:
                lines.append(f"  P({name}) = {p}")
            elif name in self.target_names:
                lines.append(f"  P({name}): no run reached it; one replica there would have read "
                             f"{self.resolution():.2g}")
        lines.append(f"  work: {self.work.get('chain_steps', 0) + self.work.get('replay_steps', 0):,} chain-steps "
                     f"({100 * self.work.get('replay_fraction', 0):.1f} % replays"
                     + (f"; {self.work['replay_mismatches']} replays ended at the survivor's maximum, rounded "
                        "differently in another batch width" if self.work.get("replay_mismatches") else "") + ")")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def save(self, directory) -> Path:
        """Write ``result.json`` and ``runs.npz`` into ``directory``, swapped in whole."""
        directory = Path(directory)
        summary = {"format": FORMAT, "target_names": list(self.target_names), "n_runs": self.n_runs,
                   "probability": {name: list(self.probability(name)) for name in self.names},
                   "config": self.config, "work": self.work, "warnings": self.warnings,
                   "files": sorted(FILES)}
        text = json.dumps(summary, indent=2, default=float)
        with replace_folder(directory, FILES) as tmp:
            with open(tmp / "runs.npz", "wb") as f:
                np.savez_compressed(f, **{k: np.asarray(self.runs[k]) for k in RUN_ARRAYS})
            (tmp / "result.json").write_text(text)
        return directory


def from_summary(directory: Path, summary: dict) -> SplittingResult:
    """The SplittingResult saved in ``directory`` (``io.registry.load_result`` reads the JSON and dispatches here).

    The two files must come from one save: the file list, the outcome columns against the target names,
    the run count, and the JSON's probabilities recomputed from the arrays (a ``runs.npz`` of another
    save with the same shape gave P = 0.0068 beside the JSON's 0.0104)."""
    json_path, npz_path = directory / "result.json", directory / "runs.npz"
    check_saved_set(directory, summary, ("target_names", "n_runs", "config", "work", "probability"), FILES)
    data = read_npz(npz_path, "directory")
    missing = [k for k in RUN_ARRAYS if k not in data]
    if missing:
        raise UnreadableFileError(f"directory: {npz_path} lacks {missing}; it is not a complete saved result")
    names = tuple(summary["target_names"])
    columns = len(outcome_columns(len(names)))
    if data["log_estimate"].ndim != 2 or data["log_estimate"].shape[1] != columns:
        raise UnreadableFileError(f"directory: {npz_path} holds {data['log_estimate'].shape} estimates, but "
                                  f"{json_path}'s {len(names)} targets need {columns} outcome columns: the files come "
                                  "from different saves")
    result = SplittingResult(names, data, summary["config"], summary["work"])
    if result.n_runs != summary.get("n_runs"):
        raise UnreadableFileError(f"directory: {json_path} says {summary.get('n_runs')} runs, "
                         f"{npz_path} holds {result.n_runs}: the files come from different saves")
    for name, saved in summary["probability"].items():
        if name in result.names and not np.allclose(list(result.probability(name)), saved, rtol=1e-9, atol=0):
            raise UnreadableFileError(f"directory: {json_path} says P({name}) = {saved[0]:.6g}, {npz_path} gives "
                             f"{result.probability(name).value:.6g}: the files come from different saves")
    return result


registry.register(FORMAT, from_summary)


def combine_per_target(parts: dict, config: dict) -> SplittingResult:
    """One result from splits run once per target (``sim.splitting(score={name: fn})``): target j's
    column from the split whose top level it was; every other outcome the mean of the splits' (each
    unbiased, so the mean is). Run r of each split is run r of the combined result. Per-run diagnostics
    are combined: iterations summed, extinct and stopped_early if in any split, log_weight the smallest,
    levels and killed side by side; ``work`` sums the splits' and keeps each under ``per_target``."""
    first = next(iter(parts.values()))
    names = first.names
    stacked = np.stack([part.runs["log_estimate"] for part in parts.values()])
    log_estimate = np.logaddexp.reduce(stacked, axis=0) - math.log(len(parts))
    for name, part in parts.items():
        column = names.index(name)
        log_estimate[:, column] = part.runs["log_estimate"][:, column]
    runs = {"log_estimate": log_estimate,
            "iterations": sum(part.runs["iterations"] for part in parts.values()),
            "extinct": np.any([part.runs["extinct"] for part in parts.values()], axis=0),
            "stopped_early": np.any([part.runs["stopped_early"] for part in parts.values()], axis=0),
            "log_weight": np.min([part.runs["log_weight"] for part in parts.values()], axis=0),
            "levels": np.concatenate([part.runs["levels"] for part in parts.values()], axis=1),
            "killed": np.concatenate([part.runs["killed"] for part in parts.values()], axis=1)}
    numbers = [key for key, value in first.work.items() if isinstance(value, (int, float)) and key != "replay_fraction"]
    work = {key: sum(part.work[key] for part in parts.values()) for key in numbers}
    total = work.get("chain_steps", 0) + work.get("replay_steps", 0)
    work["replay_fraction"] = work.get("replay_steps", 0) / total if total else 0.0
    work["per_target"] = {name: part.work for name, part in parts.items()}
    return SplittingResult(first.target_names, runs, config, work)
