"""A race's odds beside a volume curve's ratio: the Paul & Venkatasubramanian claim, in one call.

``compare(result, curve, a, b, eps)`` puts P(a first) / P(b first) of a race (``RaceResult.ratio``, an
exact conditional interval) beside V_a(eps) / V_b(eps) of a volume curve (``VolumeCurve.ratio``, from
resampled curves) and their z on the log scale, z = (ln odds - ln ratio) / sqrt(se_odds^2 + se_ratio^2),
each se from its own 95 % interval (``stats.log_z``). |z| < 2 means the race does not tell the two apart.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from . import stats
from .result import RaceResult
from .stats import Estimate
from .volume_result import VolumeCurve


class Comparison(NamedTuple):
    """Odds of a race and the volume ratio that predicts them, at one eps."""

    a: str
    b: str
    eps: float
    odds: Estimate           # P(a first) / P(b first), from the race
    volume_ratio: Estimate   # V_a(eps) / V_b(eps), from the curve
    z: float                 # ln odds - ln volume_ratio over their combined standard error

    def summary(self) -> str:
        return (f"{self.a} / {self.b} at eps {self.eps:g}: odds {self.odds}, volume ratio {self.volume_ratio}, "
                f"z = {self.z:+.2f}")

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Both intervals on a log axis (odds above, volume ratio below), on ``ax`` or a new Figure's
        (``ax.figure.savefig(path)`` writes it); returns the Axes."""
        if ax is None:
            from matplotlib.figure import Figure
            ax = Figure(figsize=(5, 2.2), layout="constrained").subplots()
        for y, (label, est) in enumerate((("volume ratio", self.volume_ratio), ("race odds", self.odds))):
            if est.value > 0:
                ax.errorbar([est.value], [y], xerr=[[est.value - max(est.low, 1e-300)], [est.high - est.value]],
                            fmt="o", capsize=4)
        ax.set_xscale("log")
        ax.set_yticks([0, 1], ["volume ratio", "race odds"])
        ax.set_xlabel(f"{self.a} / {self.b}")
        ax.set_title(f"eps {self.eps:g}: z = {self.z:+.2f}")
        return ax


def compare(result, curve, a: str, b: str, eps: float) -> Comparison:
    """The race's odds P(a first) / P(b first) beside the curve's V_a(eps) / V_b(eps), with their z.

    ``result``: a ``RaceResult`` whose targets include ``a`` and ``b``; ``curve``: a ``VolumeCurve`` of
    the same names, with ``eps`` (the race's tolerance) on its grid."""
    if not isinstance(result, RaceResult):
        raise TypeError(f"result must be a RaceResult, got {type(result).__name__}")
    if not isinstance(curve, VolumeCurve):
        raise TypeError(f"curve must be a VolumeCurve, got {type(curve).__name__}")
    raced = {t.get("name"): t.get("eps") for t in result.config.get("targets", [])}
    for name in (a, b):
        if name in raced and raced[name] is not None and not math.isclose(raced[name], eps, rel_tol=1e-9):
            raise ValueError(f"eps: the race's target {name!r} has eps {raced[name]!r}, not {eps!r}: its odds "
                             "and the volume ratio at eps would be of different sets")
    odds = result.ratio(a, b)
    ratio = curve.ratio(a, b, eps=eps)
    return Comparison(a, b, float(eps), Estimate(*map(float, odds)), ratio, stats.log_z(odds, ratio))
