"""VolumeCurve: per-run ln V(eps) of ``sim.volume_curve`` and the estimates drawn from them.

Each independent run r gives an unbiased estimate V_r(eps) of the prior mass of {r <= eps} at every
eps of the grid (kept as ln V_r). Estimates:

* ``volume(name, eps)``: mean over runs with the Student-t interval across runs.
* ``log_volume[name]``: ln of that mean at every eps; ``band(name)``: its 95 % band from resampling
  whole curves (runs drawn with replacement, B = 2000), so the bands of different eps are correlated
  as the curve is.
* ``ratio(f, h)``: V_f / V_h per eps, interval from the same resampled curves (the two targets' runs
  are independent and resampled apart).
* ``conditional(name, eps, given)``: V(eps) / V(given) of one target, e.g. P_B(f | S) when r ranks the
  fits of S first; the same resampled runs in both, so their shared noise cancels.
* ``spread(name)``: the runs' SD of ln V_r over the SD that perfectly decorrelating moves would give; a
  ratio well above 1 means the replacement points stay near their parents (or cannot cross between
  separate parts of the set): the estimate can then be biased either way (a Gaussian tube in R^10 with 2
  moves per point: spread 4x, ln V 3 too high) and its interval is unreliable (a warning).
* ``exponent(name, fit=(lo, hi))``: least-squares slope of ln V against ln eps over eps in [lo, hi],
  interval from the resampled curves; ``log_correction=True`` fits ln V = a + lambda ln eps +
  (m - 1) ln(-ln eps) and returns (lambda, m - 1).

On disk (``save``, ``sim.load_result``): ``result.json`` (config, work, the volumes) and ``curves.npz``
(the per-run arrays), written whole (``io.files.replace_folder``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import special, stats as st

from . import stats
from .io import registry
from .io.files import UnreadableFileError, check_saved_set, read_npz, replace_folder
from .stats import Estimate

FORMAT = "stabsim.volume_curve/1"
FILES = frozenset({"result.json", "curves.npz"})

N_RESAMPLES = 2000
MIN_ACCEPTANCE = 0.02    # below it the constrained moves barely decorrelate the live points (a warning)
SPREAD_FALSE_ALARM = 1e-3     # the spread warning's false-alarm rate when the moves decorrelate perfectly
MIN_DEPTH = 1.0               # spread is judged where |ln V| >= this (shallower, the final read-off dominates)


@dataclass(frozen=True, eq=False)
class VolumeCurve:
    """Prior volumes V(eps) = mu(r_target <= eps) of ``sim.volume_curve``, one nested-sampling estimate
    per independent run, and the estimates drawn from them (module docstring).

    Attributes:
        eps: the grid, decreasing.
        log_volume_runs: target name -> (runs, eps) ln V_r(eps) (-inf where a run went extinct).
        config: the run's parameters; work: evaluations, iterations, extinct runs per target, wall time.
        acceptance: target name -> per run, the constrained moves' acceptance per iteration.
        ball_volume: the Haar volume of the ball (group-ball spaces), so V times it is absolute.
    """

    eps: np.ndarray
    log_volume_runs: dict                 # name -> (runs, n_eps) ln V_r(eps)
    config: dict = field(default_factory=dict)
    work: dict = field(default_factory=dict)
    acceptance: dict = field(default_factory=dict)   # name -> per run, the moves' acceptance per iteration
    ball_volume: tuple | None = None      # Haar volume of the ball (group_ball spaces): V * it is absolute

    @property
    def target_names(self) -> tuple:
        """The targets, in the order they were given."""
        return tuple(self.log_volume_runs)

    @property
    def outcomes(self) -> list[str]:
        """What has an estimate: each target's volume (as ``names``)."""
        return list(self.log_volume_runs)

    @property
    def names(self) -> list[str]:
        """The targets (as ``target_names``, a list)."""
        return list(self.log_volume_runs)

    @property
    def n_runs(self) -> int:
        return int(next(iter(self.log_volume_runs.values())).shape[0])

    def _runs(self, name) -> np.ndarray:
        if name not in self.log_volume_runs:
            raise ValueError(f"unknown target {name!r}; known: {self.names}")
        return self.log_volume_runs[name]

    def _index(self, eps) -> int:
        hits = np.flatnonzero(np.isclose(self.eps, eps, rtol=1e-9, atol=0))
        if hits.size == 0:
            raise ValueError(f"eps {eps!r} is not on the curve's grid {self.eps.tolist()}")
        return int(hits[0])

    @staticmethod
    def _log_mean(log_runs, axis=0):
        top = np.max(log_runs, axis=axis, keepdims=True)
        safe = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            return np.squeeze(safe + np.log(np.mean(np.exp(log_runs - safe), axis=axis, keepdims=True)), axis)

    @property
    def log_volume(self) -> dict:
        """name -> (n_eps,) ln of the mean over runs of V(eps)."""
        return {name: self._log_mean(runs) for name, runs in self.log_volume_runs.items()}

    def volume(self, name: str, eps: float, level: float = 0.95) -> Estimate:
        """V(eps): mean over runs, Student-t interval (low end clipped at 0)."""
        est, top = stats.mean_interval_from_logs(self._runs(name)[:, self._index(eps)], level)
        return Estimate(*(v * math.exp(top) for v in est)) if top > -math.inf else est

    def _resampled(self, name, seed=0) -> np.ndarray:
        """(N_RESAMPLES, n_eps) ln mean V of whole curves resampled over runs."""
        runs = self._runs(name)
        rng = np.random.default_rng([seed, self.names.index(name)])
        picks = rng.integers(0, runs.shape[0], (N_RESAMPLES, runs.shape[0]))
        return self._log_mean(runs[picks], axis=1)

    def band(self, name: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise percentiles of ln V over resampled whole curves."""
        curves = self._resampled(name)
        return tuple(np.percentile(curves, [50 * (1 - level), 50 * (1 + level)], axis=0))

    def ratio(self, f: str, h: str, level: float = 0.95, eps: float | None = None):
        """V_f(eps) / V_h(eps) at every eps (a list), or at the grid value ``eps`` (one Estimate); intervals
        from resampled curves."""
        self._runs(f), self._runs(h)          # an unknown name: a ValueError naming the known ones
        if eps is not None:
            return self.ratio(f, h, level)[self._index(eps)]
        value = np.exp(self.log_volume[f] - self.log_volume[h])
        diff = self._resampled(f) - self._resampled(h, seed=1)
        with np.errstate(invalid="ignore"):
            low, high = np.exp(np.nanpercentile(diff, [50 * (1 - level), 50 * (1 + level)], axis=0))
        return [Estimate(float(v), float(lo), float(hi)) for v, lo, hi in zip(value, low, high)]

    def conditional(self, name: str, eps: float, given: float, level: float = 0.95) -> Estimate:
        """V(eps) / V(given), eps < given: the prior mass of {r <= eps} within {r <= given}, from the same
        runs (the noise of reaching {r <= given} is shared and cancels), interval from resampled curves."""
        i, j = self._index(eps), self._index(given)
        if not self.eps[i] < self.eps[j]:
            raise ValueError(f"eps ({eps}) must be smaller than given ({given})")
        curves = self._resampled(name)
        diff = curves[:, i] - curves[:, j]
        with np.errstate(invalid="ignore"):
            low, high = np.exp(np.nanpercentile(diff, [50 * (1 - level), 50 * (1 + level)]))
        log_v = self.log_volume[name]
        return Estimate(float(np.exp(log_v[i] - log_v[j])), float(low), float(high))

    def exponent(self, name: str, fit=None, log_correction: bool = False, level: float = 0.95):
        """d ln V / d ln eps over eps in ``fit`` = (lo, hi) (default: the whole grid), an Estimate; with
        ``log_correction``, (lambda, m - 1) from ln V = a + lambda ln eps + (m - 1) ln(-ln eps)."""
        self._runs(name)
        lo, hi = (self.eps.min(), self.eps.max()) if fit is None else sorted(fit)
        keep = (self.eps >= lo * (1 - 1e-12)) & (self.eps <= hi * (1 + 1e-12))
        if keep.sum() < (3 if log_correction else 2):
            raise ValueError(f"fit {fit!r} holds {int(keep.sum())} eps of the grid; need at least "
                             f"{3 if log_correction else 2}")
        if log_correction and np.any(self.eps[keep] >= 1):
            raise ValueError("log_correction: the fit range must lie below eps = 1 (ln(-ln eps) needs eps < 1)")
        x = np.log(self.eps[keep])
        design = np.stack([np.ones_like(x), x] + ([np.log(-x)] if log_correction else []), axis=1)

        def coefficients(curve):
            y = curve[keep]
            if not np.all(np.isfinite(y)):
                return np.full(design.shape[1], np.nan)
            return np.linalg.lstsq(design, y, rcond=None)[0]
        point = coefficients(self.log_volume[name])
        boot = np.array([coefficients(c) for c in self._resampled(name)])
        with np.errstate(invalid="ignore"):
            low, high = np.nanpercentile(boot, [50 * (1 - level), 50 * (1 + level)], axis=0)
        estimates = [Estimate(float(point[i]), float(low[i]), float(high[i])) for i in range(1, design.shape[1])]
        return tuple(estimates) if log_correction else estimates[0]

    def ideal_log_sd(self, name: str) -> np.ndarray:
        """Per eps, the SD of one run's ln V(eps) if every replacement were an independent draw and r continuous.

        Each iteration shrinks X by the (n-k+1)-th smallest of n uniforms, whose logarithm has variance
        psi1(n-k+1) - psi1(n+1) (ln of a Beta(n-k+1, k)); a run takes |ln V| / -ln(1 - k/n) iterations, so
        Var ln V_r = |ln V| (psi1(n-k+1) - psi1(n+1)) / -ln(1 - k/n) (k = 1: |ln V| / n, the classic rate)."""
        n, k = self.config["n_live"], self.config["k"]
        per_unit = (special.polygamma(1, n - k + 1) - special.polygamma(1, n + 1)) / -math.log1p(-k / n)
        return np.sqrt(np.abs(self.log_volume[name]) * per_unit)

    def spread(self, name: str) -> np.ndarray:
        """Per eps, the SD of ln V_r across runs over ``ideal_log_sd``: about 1 when the moves decorrelate
        (R runs: distributed as sqrt(chi2_{R-1} / (R-1))), well above 1 when they do not. NaN where
        |ln V| < MIN_DEPTH or a run is extinct there."""
        runs = self._runs(name)
        ideal = self.ideal_log_sd(name)
        with np.errstate(invalid="ignore"):
            observed = np.std(runs, axis=0, ddof=1)
        deep = np.all(np.isfinite(runs), axis=0) & (np.abs(self.log_volume[name]) >= MIN_DEPTH)
        return np.where(deep, observed / np.where(deep, ideal, 1.0), np.nan)

    def spread_limit(self) -> float:
        """The spread above which ``warnings`` speaks: the 1 - SPREAD_FALSE_ALARM quantile of
        sqrt(chi2_{R-1} / (R-1)) (ln V_r taken as normal, R runs)."""
        dof = next(iter(self.log_volume_runs.values())).shape[0] - 1
        return math.sqrt(st.chi2.ppf(1 - SPREAD_FALSE_ALARM, dof) / dof)

    @property
    def warnings(self) -> list[str]:
        out = []
        if "k" in self.config:
            for name in self.names:
                ratio = self.spread(name)
                judged = np.flatnonzero(np.isfinite(ratio))
                if judged.size and ratio[judged[-1]] > self.spread_limit():
                    e = self.eps[judged[-1]]
                    out.append(f"{name}: at eps {e:.3g} the runs' ln V spread {ratio[judged[-1]]:.1f}x as much as "
                               f"independent replacements would (limit {self.spread_limit():.2f}): the live points "
                               "do not decorrelate, so V can be biased either way and its interval is unreliable; "
                               "use more n_moves, or a residual whose level sets are connected")
        for name, runs in self.acceptance.items():
            low = [min(a) for a in runs if a]
            if low and min(low) < MIN_ACCEPTANCE:
                out.append(f"{name}: the constrained moves' acceptance fell to {min(low):.3f} (< {MIN_ACCEPTANCE}): "
                           "replacement points stay near their parents, so the runs' spread understates nothing "
                           "but grows; use more n_moves or a smoother residual")
        for name, info in self.work.get("per_target", {}).items():
            if any(info["extinct"]):
                out.append(f"{name}: {sum(info['extinct'])} runs went extinct (a plateau of the residual above the "
                           "smallest eps held every live point)")
        return out

    # ---- a few lines, and persistence ----------------------------------------------------------
    def summary(self) -> str:
        """A few lines: per target, V at the largest and smallest eps and the exponent d ln V / d ln eps."""
        first, last = float(self.eps[0]), float(self.eps[-1])
        lines = [f"volume curve: {len(self.names)} targets, {self.n_runs} runs x {self.config.get('n_live')} live "
                 f"points, eps {first:.3g} ... {last:.3g} ({self.eps.size} values)"]
        for name in self.names:
            line = f"  {name}: V({first:.3g}) = {self.volume(name, first)}, V({last:.3g}) = {self.volume(name, last)}"
            if self.eps.size >= 2 and np.all(np.isfinite(self.log_volume[name])):
                line += f"; exponent {self.exponent(name)}"
            lines.append(line)
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def save(self, directory) -> Path:
        """Write ``result.json`` and ``curves.npz`` into ``directory``, swapped in whole (a crash leaves
        the previous save or this one, never a mix)."""
        directory = Path(directory)
        arrays = {"eps": np.asarray(self.eps, np.float64)}
        for i, name in enumerate(self.names):
            arrays[f"log_volume.{i}"] = np.asarray(self.log_volume_runs[name], np.float64)
            runs = self.acceptance.get(name, [])
            arrays[f"acceptance.{i}"] = np.array([a for run in runs for a in run], np.float64)
            arrays[f"acceptance_counts.{i}"] = np.array([len(run) for run in runs], np.int64)
        summary = {"format": FORMAT, "target_names": self.names, "eps": arrays["eps"].tolist(),
                   "n_runs": self.n_runs, "log_volume": {n: self.log_volume[n].tolist() for n in self.names},
                   "ball_volume": None if self.ball_volume is None else list(self.ball_volume),
                   "config": self.config, "work": self.work, "warnings": self.warnings, "files": sorted(FILES)}
        text = json.dumps(summary, indent=2, default=float)
        with replace_folder(directory, FILES) as tmp:
            with open(tmp / "curves.npz", "wb") as f:
                np.savez_compressed(f, **arrays)
            (tmp / "result.json").write_text(text)
        return directory


def from_summary(directory: Path, summary: dict) -> VolumeCurve:
    """The VolumeCurve saved in ``directory`` (``io.registry.load_result`` dispatches here). The files must
    come from one save: the file list, the arrays' shapes against the targets and the grid, and the JSON's
    ln V recomputed from the arrays; an UnreadableFileError naming the file otherwise."""
    json_path, npz_path = directory / "result.json", directory / "curves.npz"
    check_saved_set(directory, summary, ("target_names", "eps", "log_volume", "config", "work"), FILES)
    data = read_npz(npz_path, "directory")
    names = list(summary["target_names"])
    wanted = ["eps"] + [f"{kind}.{i}" for i in range(len(names))
                        for kind in ("log_volume", "acceptance", "acceptance_counts")]
    missing = [key for key in wanted if key not in data]
    if missing:
        raise UnreadableFileError(f"directory: {npz_path} lacks {missing}: the files come from different saves")
    eps = data["eps"]
    if not np.array_equal(eps, np.asarray(summary["eps"], np.float64)):
        raise UnreadableFileError(f"directory: {npz_path}'s eps grid is not {json_path}'s: the files come from "
                                  "different saves")
    runs, acceptance = {}, {}
    for i, name in enumerate(names):
        log_v = data[f"log_volume.{i}"]
        if log_v.ndim != 2 or log_v.shape[1] != eps.size:
            raise UnreadableFileError(f"directory: {npz_path} holds ln V of shape {log_v.shape} for {name!r}, "
                                      f"not (runs, {eps.size}): the files come from different saves")
        runs[name] = log_v
        flat, counts = data[f"acceptance.{i}"], data[f"acceptance_counts.{i}"]
        acceptance[name] = [a.tolist() for a in np.split(flat, np.cumsum(counts)[:-1])] if counts.size else []
    ball = summary.get("ball_volume")
    curve = VolumeCurve(eps=eps, log_volume_runs=runs, config=summary["config"], work=summary["work"],
                        acceptance=acceptance, ball_volume=None if ball is None else tuple(ball))
    for name, saved in summary["log_volume"].items():
        saved = np.asarray([-np.inf if v is None else v for v in saved], np.float64)
        if name not in runs or not np.allclose(curve.log_volume[name], saved, rtol=1e-9, atol=0, equal_nan=True):
            raise UnreadableFileError(f"directory: {json_path}'s ln V of {name!r} is not the one {npz_path} gives: "
                                      "the files come from different saves")
    return curve


registry.register(FORMAT, from_summary)
