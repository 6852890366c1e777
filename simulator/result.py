"""RaceResult: per-chain outcomes of a race and the estimates drawn from them.

A result is plain data (numpy arrays and a config dict), so a saved and
reloaded result answers every question exactly as the original does.
On disk a result is a folder: ``result.json`` (config, counts, estimates,
human-readable), ``chains.npz`` (the per-chain arrays) and, for a traced race,
``trace.nc`` (ArviZ InferenceData as netCDF, ``simulator.io.arviz``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import outcomes, stats
from .io import arviz as arviz_io
from .io.files import atomic_write
from .stats import Estimate

FORMAT = "stabsim.race/1"


@dataclass(frozen=True, eq=False)
class RaceResult:
    """Outcomes of ``sim.race``.

    Attributes:
        target_names: target labels; target k has outcome code k.
        outcome: per-chain outcome code (``simulator.outcomes``).
        stop_step: per-chain step at which the chain stopped (hit, tie or
            divergence step; ``max_steps`` for censored chains).
        state: final kernel state of every chain, field name -> array.
        config: the race's parameters, versions and device.
        work: chain-steps needed (``ideal_chain_steps``), lane-steps computed,
            their ratio ``efficiency``, wall time, blocks, batch sizes.
        trace: observable -> (n_chains, n_draws[, ...]) array recorded at ``trace_steps``
            (``race(trace_every=K)``; NaN after a chain stopped), or None.
    """

    target_names: tuple
    outcome: np.ndarray
    stop_step: np.ndarray
    state: dict
    config: dict = field(default_factory=dict)
    work: dict = field(default_factory=dict)
    trace: dict | None = None
    trace_steps: np.ndarray | None = None

    # ---- per-chain views -------------------------------------------------
    @property
    def n_chains(self) -> int:
        return int(self.outcome.size)

    @property
    def hit_step(self) -> np.ndarray:
        """Step of first entry into a target (the target in ``outcome``), -1 if none."""
        return np.where(self.outcome >= 0, self.stop_step, -1)

    @property
    def position(self) -> np.ndarray:
        """Final position of every chain (at its hit, divergence, or ``max_steps``)."""
        return self.state["position"]

    @property
    def labels(self) -> dict:
        return outcomes.labels(self.target_names)

    def _code(self, name: str) -> int:
        codes = {label: code for code, label in self.labels.items()}
        if name not in codes:
            raise ValueError(f"name must be one of {list(codes)}, got {name!r}")
        return codes[name]

    # ---- estimates ---------------------------------------------------------
    @property
    def counts(self) -> dict:
        """Chains per outcome: every target, then tie, diverged, censored (always all keys)."""
        return {label: int(np.sum(self.outcome == code)) for code, label in self.labels.items()}

    def probability(self, name: str, level: float = 0.95) -> Estimate:
        """P(outcome = name) with a Wilson interval."""
        return stats.proportion(int(np.sum(self.outcome == self._code(name))), self.n_chains, level)

    def ratio(self, a: str, b: str, level: float = 0.95) -> Estimate:
        """P(a first) / P(b first), with the conditional Clopper-Pearson interval (``simulator.stats``)."""
        counts = self.counts
        self._code(a), self._code(b)
        return stats.ratio(counts[a], counts[b], level)

    def cumulative_incidence(self, name: str, steps=None, level: float = 0.95):
        """F(t) = P(outcome = name and stop step <= t) over ``steps`` (default: every event step)."""
        code = self._code(name)
        return stats.cumulative_incidence(self.stop_step[self.outcome == code], self.n_chains, steps, level)

    def hitting_time(self, name: str, quantiles=(0.1, 0.5, 0.9), level: float = 0.95):
        """Mean and quantiles of the stop step among chains with outcome ``name``.

        This is conditional on ending in ``name`` within the budget.
        """
        code = self._code(name)
        return stats.hitting_summary(self.stop_step[self.outcome == code], quantiles, level)

    @property
    def acceptance_rate(self):
        """Per-chain Metropolis acceptance rate (kernels with ``n_accepted``), else None."""
        if "n_accepted" not in self.state:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.state["n_accepted"] / self.stop_step

    def acceptance(self, level: float = 0.95):
        """Mean per-chain acceptance rate with a t-interval across chains, else None."""
        rate = self.acceptance_rate
        return None if rate is None else stats.mean_interval(rate[self.stop_step > 0], level)

    def summary(self) -> str:
        """A plain-text table of counts and probabilities."""
        lines = [f"{'outcome':<12}{'count':>10}  probability [95% Wilson]"]
        for label, count in self.counts.items():
            lines.append(f"{label:<12}{count:>10}  {self.probability(label)}")
        work = self.work
        if work:
            lines.append(f"chain-steps {work['ideal_chain_steps']:.4g} in {work['wall_seconds']:.3g} s "
                         f"(compaction efficiency {work['efficiency']:.3f})")
        return "\n".join(lines)

    # ---- export and persistence ---------------------------------------------
    def to_inference_data(self):
        """``az.InferenceData``: traces (posterior), per-chain outcomes (sample_stats), targets, attrs."""
        return arviz_io.to_inference_data(self)

    def save(self, directory) -> Path:
        """Write ``result.json``, ``chains.npz`` and, if traced, ``trace.nc`` (each atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"outcome": self.outcome, "stop_step": self.stop_step,
                  **{f"state.{k}": v for k, v in self.state.items()}}
        atomic_write(directory / "chains.npz", lambda f: np.savez_compressed(f, **arrays))
        summary = {
            "format": FORMAT,
            "target_names": list(self.target_names),
            "counts": self.counts,
            "probability": {label: list(self.probability(label)) for label in self.counts},
            "config": self.config,
            "work": self.work,
        }
        text = json.dumps(summary, indent=2)
        if self.trace is not None:
            arviz_io.write_netcdf(self.to_inference_data(), directory / "trace.nc")
        atomic_write(directory / "result.json", lambda f: f.write(text.encode()))   # last: marks a complete save
        return directory


def load_result(directory) -> RaceResult:
    """Read a result written by ``RaceResult.save``."""
    directory = Path(directory)
    path = directory / "result.json"
    if not path.is_file():
        raise FileNotFoundError(f"directory: no result.json in {directory}")
    summary = json.loads(path.read_text())
    if summary.get("format") != FORMAT:
        raise ValueError(f"directory: {path} has format {summary.get('format')!r}, expected {FORMAT!r}")
    trace = steps = None
    if (directory / "trace.nc").is_file():
        trace, steps = arviz_io.read_trace(directory / "trace.nc")
    with np.load(directory / "chains.npz") as data:
        state = {k.split(".", 1)[1]: data[k] for k in data.files if k.startswith("state.")}
        return RaceResult(tuple(summary["target_names"]), data["outcome"], data["stop_step"], state,
                          summary["config"], summary["work"], trace, steps)
