"""Local learning coefficient by localized SGLD on the engine (the estimator of devinterp).

    lambda_hat = n beta (E_w[L_n(w)] - L_n(w*)),   beta = 1 / ln n by default (Watanabe's WBIC temperature),

the expectation over the localized tempered posterior p(w) ∝ exp(-n beta L_n(w) - gamma/2 |w - w*|^2)
(Lau, Furman, Wang, Murfet & Wei 2023). Its SGLD, in devinterp's parametrisation,
w <- w - eps/2 (n beta grad L_B(w) + gamma (w - w*)) + N(0, eps), is ``sim.dynamics.sgld`` with
step h = eps n beta / 2, temperature T = 1 / (n beta) and localization gamma / (n beta). Each chain
gives one lambda_hat (its loss averaged over the draws after ``burn_in``); the interval is the Student-t
interval across chains. The localization biases lambda_hat low (for a quadratic loss with Hessian H
the target is n beta tr(H (n beta H + gamma)^-1) / 2, not d/2), and the step size adds an O(eps) bias.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from . import stats
from .dynamics.minibatch import check_data
from .dynamics.sgld import sgld
from .engine.race import RaceWarning
from .sampling import sample
from .stats import Estimate
from .validate import positive, positive_int


@dataclass(frozen=True)
class LearningCoefficient:
    """lambda_hat with its interval across chains, each chain's value, and the settings behind them."""

    estimate: Estimate
    per_chain: np.ndarray
    beta: float
    n: int
    settings: dict

    def summary(self) -> str:
        return (f"learning coefficient: lambda_hat = {self.estimate} ({self.per_chain.size} chains, n = {self.n}, "
                f"beta = {self.beta:.4g})")

    def __repr__(self) -> str:
        return self.summary()


def learning_coefficient(loss, data, w_star, *, n_chains: int = 8, n_steps: int = 2000, step_size: float = 1e-4,
                         localization: float = 100.0, beta: float | None = None, batch_size: int | None = None,
                         burn_in: float = 0.5, seed: int = 0, precision: str = "float32") -> LearningCoefficient:
    """lambda_hat at ``w_star`` (module docstring): ``step_size`` is devinterp's eps, ``localization`` its gamma.

    ``loss(w, batch)`` is the mean loss over a batch (as for ``sim.dynamics.sgd``); ``data`` has examples on
    its leading axis; ``batch_size=None`` uses full-batch gradients.
    """
    n = check_data(data)
    if n < 2:
        raise ValueError(f"data must hold at least 2 examples (beta = 1/ln n), got {n}")
    beta = 1 / math.log(n) if beta is None else positive("beta", beta)
    step_size = positive("step_size", step_size)
    localization = positive("localization", localization)
    n_chains = positive_int("n_chains", n_chains)
    if n_chains < 2:
        raise ValueError(f"n_chains must be >= 2 (the interval comes from the spread across chains), got {n_chains}")
    n_steps = positive_int("n_steps", n_steps)
    if isinstance(burn_in, bool) or not isinstance(burn_in, numbers.Real):
        raise TypeError(f"burn_in must be a number (a fraction in [0, 1)), got {type(burn_in).__name__}")
    if not 0 <= burn_in < 1:
        raise ValueError(f"burn_in must be a fraction in [0, 1), got {burn_in!r}")
    nb = n * beta
    kernel = sgld(loss, data, step_size=step_size * nb / 2, temperature=1 / nb, batch_size=batch_size,
                  localization=localization / nb, center=w_star)
    with warnings.catch_warnings():   # a diverged chain is reported below, as a NaN lambda_hat
        warnings.simplefilter("ignore", RaceWarning)
        try:
            result = sample(kernel, w_star, n_chains=n_chains, n_steps=n_steps, seed=seed, trace_every=1,
                            progress=False, precision=precision, start_batched=False)
        except (ValueError, TypeError) as err:      # the race's start is the user's w_star
            if str(err).startswith("start"):
                raise type(err)("w_star" + str(err)[len("start"):]) from None
            raise
    losses = result.trace["potential"]                         # (chains, n_steps + 1), draw 0 = w*
    start = losses[:, 0]
    kept = losses[:, 1 + int(burn_in * n_steps):]
    per_chain = nb * (kept.mean(axis=1) - start)
    if not np.all(np.isfinite(per_chain)):
        bad = int(np.sum(~np.isfinite(per_chain)))
        warnings.warn(f"learning_coefficient: {bad} of {n_chains} chains diverged (a non-finite loss); "
                      "lambda_hat is NaN: lower step_size or raise localization", RuntimeWarning, stacklevel=2)
    settings = {"n_chains": n_chains, "n_steps": n_steps, "step_size": step_size, "localization": localization,
                "batch_size": batch_size, "burn_in": burn_in, "seed": seed,
                "sgld": {"step_size": step_size * nb / 2, "temperature": 1 / nb, "localization": localization / nb}}
    return LearningCoefficient(stats.mean_interval(per_chain), per_chain, beta, n, settings)
