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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats as st

from . import stats
from .stats import Estimate

N_RESAMPLES = 2000
MIN_ACCEPTANCE = 0.02    # below it the constrained moves barely decorrelate the live points (a warning)
SPREAD_FALSE_ALARM = 1e-3     # the spread warning's false-alarm rate when the moves decorrelate perfectly
MIN_DEPTH = 1.0               # spread is judged where |ln V| >= this (shallower, the final read-off dominates)


@dataclass(frozen=True, eq=False)
class VolumeCurve:
    eps: np.ndarray
    log_volume_runs: dict                 # name -> (runs, n_eps) ln V_r(eps)
    config: dict = field(default_factory=dict)
    work: dict = field(default_factory=dict)
    acceptance: dict = field(default_factory=dict)   # name -> per run, the moves' acceptance per iteration
    ball_volume: tuple | None = None      # Haar volume of the ball (group_ball spaces): V * it is absolute

    @property
    def names(self) -> list[str]:
        return list(self.log_volume_runs)

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

    def ratio(self, f: str, h: str, level: float = 0.95) -> list[Estimate]:
        """V_f(eps) / V_h(eps) at every eps, intervals from resampled curves."""
        self._runs(f), self._runs(h)          # an unknown name: a ValueError naming the known ones
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
