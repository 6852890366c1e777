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

from . import outcomes, stats, trees
from .io import arviz as arviz_io
from .io import registry
from .io.files import UnreadableFileError, check_saved_set, read_npz, replace_folder
from .stats import Estimate

FORMAT = "stabsim.race/1"
# When a finished race warns (``RaceResult.warnings``): the fraction of chains that stopped at step 0,
# the fraction censored at the budget; any diverged chain warns.
WARN_STOPPED_AT_START = 0.5
WARN_CENSORED = 0.1
FILES = frozenset({"result.json", "chains.npz", "trace.nc"})   # what a saved result folder holds


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
    structure: object = field(default=None, repr=False)   # the position's treedef, for a pytree position

    def __post_init__(self):
        """Refuse per-chain arrays that disagree on the number of chains, and codes that are no outcome."""
        n = np.shape(self.outcome)[0] if np.ndim(self.outcome) == 1 else None
        shapes = {"stop_step": np.shape(self.stop_step)[:1],
                  **{f"state.{k}": np.shape(v)[:1] for k, v in self.state.items()},
                  **{f"trace.{k}": np.shape(v)[:1] for k, v in (self.trace or {}).items()}}
        wrong = {k: s for k, s in shapes.items() if s != (n,)}
        if n is None or wrong:
            raise ValueError(f"outcome: {np.shape(self.outcome)} outcomes do not match the per-chain arrays {wrong}")
        if self.trace is not None and any(np.shape(v)[1] != len(self.trace_steps) for v in self.trace.values()):
            raise ValueError("trace: its draws do not match trace_steps")
        if not np.isin(self.outcome, list(self.labels)).all():
            unknown = sorted(set(np.unique(self.outcome).tolist()) - set(self.labels))
            raise ValueError(f"outcome: codes {unknown} are no "
                             f"outcome of targets {list(self.target_names)} (simulator.outcomes)")

    # ---- per-chain views -------------------------------------------------
    @property
    def n_chains(self) -> int:
        return int(self.outcome.size)

    @property
    def hit_step(self) -> np.ndarray:
        """Step of first entry into a target (the target in ``outcome``), -1 if none."""
        return np.where(self.outcome >= 0, self.stop_step, -1)

    @property
    def position(self):
        """Final position of every chain (at its hit, divergence, or ``max_steps``), leading axis = chain.

        An array, or for a pytree position the same pytree with batched leaves (after ``load_result``:
        nested dicts keyed by the leaves' paths).
        """
        return trees.assemble(trees.position_leaves(self.state), self.structure)

    def unravel(self, flat):
        """A flat vector (..., D), as ``jax.flatten_util.ravel_pytree`` orders a position, in the position's
        structure (for an array position: reshaped to its shape)."""
        leaves = trees.position_leaves(self.state)
        shapes = [np.shape(v)[1:] for v in leaves.values()]
        sizes = [int(np.prod(shape)) for shape in shapes]
        flat = np.asarray(flat)
        if flat.shape[-1:] != (sum(sizes),):
            raise ValueError(f"flat must end in {sum(sizes)} entries (the position's size), got shape {flat.shape}")
        parts = np.split(flat, np.cumsum(sizes)[:-1], axis=-1)
        return trees.assemble({name: part.reshape(flat.shape[:-1] + shape)
                               for name, part, shape in zip(leaves, parts, shapes)}, self.structure)

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
    def outcomes(self) -> list[str]:
        """Every outcome a chain can end in, in code order: the targets, then tie, escaped, diverged, censored."""
        return list(self.labels.values())

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

    @property
    def stop_labels(self) -> np.ndarray | None:
        """Per chain, ``race(stop_label=fn)``'s fn(position) at its stop (None without a stop_label)."""
        return self.state.get("stop_label")

    def stop_label_counts(self, outcome: str | None = None, level: float = 0.95) -> list:
        """[(label, count, Estimate of P(label | outcome))], most frequent first, over the chains whose outcome
        is ``outcome`` (a target, "tie", "diverged", "escaped", "censored"; None: every chain). Wilson intervals."""
        if self.stop_labels is None:
            raise ValueError("stop_label_counts: this race has no stop_label (pass race(..., stop_label=fn))")
        labels = self.stop_labels.reshape(self.n_chains, -1)
        rows = labels if outcome is None else labels[self.outcome == self._code(outcome)]
        if rows.shape[0] == 0:
            return []
        unique, counts = np.unique(rows, axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        shape = self.stop_labels.shape[1:]
        return [(unique[i].reshape(shape), int(counts[i]), stats.proportion(int(counts[i]), rows.shape[0], level))
                for i in order]

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

    @property
    def warnings(self) -> list[str]:
        """What makes the estimates mean less than they seem, one sentence each (empty if nothing).

        * more than ``WARN_STOPPED_AT_START`` (50 %) of the chains stopped at step 0: the start lies
          in a target, or a residual is <= eps everywhere (a clamped index, a constant);
        * any chain diverged (non-finite position or residual): it is counted as ``diverged``, never
          as a hit, and every probability is of all chains;
        * more than ``WARN_CENSORED`` (10 %) censored at ``max_steps``: the probabilities are of
          hitting within the budget, and odds between targets compare the chains that finished.
        """
        n, counts, out = self.n_chains, self.counts, []
        at_start = int(np.sum(self.stop_step == 0))
        if at_start > WARN_STOPPED_AT_START * n:
            out.append(f"{at_start} of {n} chains ({at_start / n:.0%}) stopped at step 0: the start lies in a "
                       "target, or a residual is <= eps everywhere (check the residuals)")
        if counts["diverged"]:
            out.append(f"{counts['diverged']} of {n} chains ({counts['diverged'] / n:.1%}) diverged (non-finite "
                       "position or residual); lower the step size")
        if counts["censored"] > WARN_CENSORED * n and not self.config.get("sampling"):    # sim.sample: the plan
            out.append(f"{counts['censored']} of {n} chains ({counts['censored'] / n:.0%}) were censored at "
                       f"max_steps={self.config.get('max_steps', '?')}: the probabilities are of hitting within "
                       "the budget; raise max_steps for unconditional ones")
        return out

    def summary(self) -> str:
        """A plain-text table of counts and probabilities."""
        lines = [f"{'outcome':<12}{'count':>10}  probability [95% Wilson]"]
        for label, count in self.counts.items():
            lines.append(f"{label:<12}{count:>10}  {self.probability(label)}")
        work = self.work
        if work:
            lines.append(f"chain-steps {work['ideal_chain_steps']:.4g} in {work['wall_seconds']:.3g} s "
                         f"(compaction efficiency {work['efficiency']:.3f})")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RaceResult: {self.n_chains} chains, targets {list(self.target_names)}\n{self.summary()}"

    # ---- export and persistence ---------------------------------------------
    def to_inference_data(self, kind: str = "paths", burn_in: float = 0.0, outcome: str | None = None,
                          after_stop: str = "hold"):
        """``az.InferenceData``: draws (posterior; ``kind`` "paths", "final" or "stationary"; a stopped
        chain's later draws repeat its last one, or are NaN with ``after_stop="nan"``; see
        ``simulator.io.arviz.to_inference_data``), per-chain outcomes (sample_stats), targets, attrs."""
        return arviz_io.to_inference_data(self, kind, burn_in, outcome, after_stop)

    def save(self, directory) -> Path:
        """Write the folder ``directory``: ``result.json``, ``chains.npz`` and, if traced, ``trace.nc``.

        The folder is written whole and swapped in (``io.files.replace_folder``): a reader or a crash
        sees the previous save or this one, never a mix, and no file of a previous save survives.
        """
        directory = Path(directory)
        arrays = {"outcome": self.outcome, "stop_step": self.stop_step,
                  **{f"state.{k}": v for k, v in self.state.items()}}
        files = ["chains.npz", "result.json"] + (["trace.nc"] if self.trace is not None else [])
        summary = {
            "format": FORMAT,
            "target_names": list(self.target_names),
            "n_chains": self.n_chains,
            "counts": self.counts,
            "probability": {label: list(self.probability(label)) for label in self.counts},
            "config": self.config,
            "work": self.work,
            "warnings": self.warnings,
            "files": sorted(files),
        }
        text = json.dumps(summary, indent=2)
        with replace_folder(directory, FILES) as tmp:
            with open(tmp / "chains.npz", "wb") as f:
                np.savez_compressed(f, **arrays)
            if self.trace is not None:
                self.to_inference_data(after_stop="nan").to_netcdf(tmp / "trace.nc", engine="h5netcdf")
            (tmp / "result.json").write_text(text)
        return directory


def from_summary(directory: Path, summary: dict) -> "RaceResult":
    """The RaceResult saved in ``directory`` (``io.registry.load_result`` reads the JSON and dispatches
    here): the files must be the ones result.json lists, with consistent counts, chain numbers and
    trace shapes; an UnreadableFileError naming the file otherwise."""
    check_saved_set(directory, summary, ("target_names", "counts", "config", "work"), FILES)
    trace = steps = None
    if (directory / "trace.nc").is_file():
        try:
            trace, steps = arviz_io.read_trace(directory / "trace.nc")
        except Exception as err:   # h5py/netCDF raise many types for a damaged file
            raise UnreadableFileError(f"directory: {directory / 'trace.nc'} is not readable ({type(err).__name__}: "
                             f"{err})") from None
    data = read_npz(directory / "chains.npz", "directory")
    if "outcome" not in data or "stop_step" not in data:
        raise UnreadableFileError(f"directory: {directory / 'chains.npz'} is not readable (it lacks outcome or "
                                  "stop_step)")
    outcome, stop_step = data["outcome"], data["stop_step"]
    state = {k.split(".", 1)[1]: v for k, v in data.items() if k.startswith("state.")}
    try:
        result = RaceResult(tuple(summary["target_names"]), outcome, stop_step, state,
                            summary["config"], summary["work"], trace, steps)
    except ValueError as err:
        raise UnreadableFileError(f"directory: {directory} (chains.npz, trace.nc) is inconsistent: {err}") from None
    if summary.get("n_chains", result.n_chains) != result.n_chains or summary["counts"] != result.counts:
        raise UnreadableFileError(f"directory: {directory / 'result.json'} counts {summary['counts']} do not match "
                         f"{directory / 'chains.npz'} ({result.counts}): the files come from different saves")
    return result


registry.register(FORMAT, from_summary)
load_result = registry.load_result       # sim.load_result reads every kind


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The results of ``sim.race(..., sweep=...)``: one RaceResult per setting, in grid order.

    ``sweep[i]`` is setting ``settings[i]``'s result; iterating gives the results; ``table(name)``
    gives P(name) per setting.
    """

    settings: tuple          # one {name: value} dict per setting
    results: tuple           # RaceResult per setting

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __getitem__(self, index) -> RaceResult:
        return self.results[index]

    def table(self, name: str, level: float = 0.95) -> list[tuple[dict, Estimate]]:
        """[(setting, P(outcome = name) with its Wilson interval)] for every setting."""
        return [(setting, result.probability(name, level)) for setting, result in zip(self.settings, self.results)]

    @property
    def target_names(self) -> tuple:
        return self.results[0].target_names

    @property
    def outcomes(self) -> list[str]:
        return self.results[0].outcomes

    @property
    def warnings(self) -> list[str]:
        """Each setting's warnings, prefixed by the setting."""
        return [f"{setting}: {w}" for setting, result in zip(self.settings, self.results) for w in result.warnings]

    def summary(self) -> str:
        """One line per setting: each target's probability."""
        lines = [f"sweep: {len(self)} settings x {self.results[0].n_chains} chains"]
        for setting, result in zip(self.settings, self.results):
            cells = ", ".join(f"P({name}) = {result.probability(name)}" for name in self.target_names)
            lines.append(f"  {setting}: {cells}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
