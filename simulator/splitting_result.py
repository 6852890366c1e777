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
from .io.files import UnreadableFileError, check_saved_set, read_npz, replace_folder
from .stats import Estimate

FORMAT = "stabsim.splitting/1"
FILES = frozenset({"result.json", "runs.npz"})
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
    def names(self) -> list[str]:
        """Outcome labels in column order."""
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

    @property
    def warnings(self) -> list[str]:
        out = []
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
        lines.append(f"  work: {self.work.get('chain_steps', 0) + self.work.get('replay_steps', 0):,} chain-steps "
                     f"({100 * self.work.get('replay_fraction', 0):.1f} % replays"
                     + (f"; {self.work['replay_mismatches']} replays ended at the survivor's maximum, rounded "
                        "differently in another batch width" if self.work.get("replay_mismatches") else "") + ")")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

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
    """The SplittingResult saved in ``directory`` (``result.load_result`` reads the JSON and dispatches here).

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
        raise UnreadableFileError(f"directory: {npz_path} holds {data['log_estimate'].shape} estimates, but {json_path}'s "
                         f"{len(names)} targets need {columns} outcome columns: the files come from different saves")
    result = SplittingResult(names, data, summary["config"], summary["work"])
    if result.n_runs != summary.get("n_runs"):
        raise UnreadableFileError(f"directory: {json_path} says {summary.get('n_runs')} runs, "
                         f"{npz_path} holds {result.n_runs}: the files come from different saves")
    for name, saved in summary["probability"].items():
        if name in result.names and not np.allclose(list(result.probability(name)), saved, rtol=1e-9, atol=0):
            raise UnreadableFileError(f"directory: {json_path} says P({name}) = {saved[0]:.6g}, {npz_path} gives "
                             f"{result.probability(name).value:.6g}: the files come from different saves")
    return result
