"""Reference sampler: stationary occupation of target sets under exp(-V/T), by NUTS.

A race measures *first hits*: where a chain arrives first. The Gibbs measure
exp(-V/T) measures *where a chain sits* in the long run. This module answers
the second question independently of stabsim's own kernels: numpyro's NUTS
(Hoffman & Gelman 2014) driven by ``potential_fn = V / T`` samples exp(-V/T),
and the occupation of target k is the fraction of draws with
residual_k <= eps_k.

Uncertainty: draws are autocorrelated, so the interval is Wilson's with the
effective sample size of the indicator (ArviZ's bulk ESS) in place of n.
ESS and R-hat of the indicator and of every coordinate come with it; R-hat
well above 1.01 means the chains disagree (for example, they did not cross a
barrier) and the occupation must not be trusted.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..stats import Estimate, wilson_interval
from ..targets import check_targets
from ..validate import positive


class Occupation(NamedTuple):
    fraction: dict            # target name -> Estimate (Wilson with n = ESS)
    ess: dict                 # target name -> bulk ESS of the indicator
    rhat: dict                # target name -> R-hat of the indicator; "theta" -> max over coordinates
    inference_data: object    # az.InferenceData: posterior theta (chain, draw, dim) and indicators


def nuts_occupation(potential, targets, init, *, temperature: float = 1.0, num_warmup: int = 500,
                    num_samples: int = 2000, seed: int = 0, level: float = 0.95) -> Occupation:
    """Occupation of each target under exp(-V/T) from NUTS chains started at the rows of ``init``.

    Args:
        potential: V, a scalar function of one position (D,).
        targets: ``sim.Target`` list (residual <= eps is "inside").
        init: (n_chains, D) starting points, one NUTS chain each (vectorised).
    """
    import arviz as az
    from numpyro.infer import MCMC, NUTS

    targets = check_targets(targets)
    temperature = positive("temperature", temperature)
    init = np.asarray(init, float)
    if init.ndim != 2 or init.shape[0] < 2:
        raise ValueError(f"init must have shape (n_chains >= 2, D), got {init.shape}")
    mcmc = MCMC(NUTS(potential_fn=lambda x: potential(x) / temperature), num_warmup=num_warmup,
                num_samples=num_samples, num_chains=init.shape[0], chain_method="vectorized",
                progress_bar=False)
    mcmc.run(jax.random.key(seed), init_params=jnp.asarray(init))
    theta = np.asarray(mcmc.get_samples(group_by_chain=True))          # (chains, draws, D)
    flat = theta.reshape(-1, theta.shape[-1])
    inside = {t.name: np.asarray(jax.vmap(t.residual)(jnp.asarray(flat)) <= t.eps)
              .reshape(theta.shape[:2]).astype(float) for t in targets}
    idata = az.from_dict(posterior={"theta": theta, **{f"in_{k}": v for k, v in inside.items()}},
                         dims={"theta": ["dim"]},
                         attrs={"sampler": "numpyro NUTS", "temperature": temperature})
    ess = az.ess(idata, method="bulk")
    rhat = az.rhat(idata)
    fraction, ess_out, rhat_out = {}, {}, {}
    for name, ind in inside.items():
        n_eff = float(ess[f"in_{name}"]) if ind.std() > 0 else float(ind.size)
        p, low, high = wilson_interval(ind.mean() * n_eff, n_eff, level)
        fraction[name] = Estimate(float(ind.mean()), float(low), float(high))
        ess_out[name] = n_eff
        rhat_out[name] = float(rhat[f"in_{name}"]) if ind.std() > 0 else 1.0
    rhat_out["theta"] = float(np.max(rhat["theta"].values))
    return Occupation(fraction, ess_out, rhat_out, idata)
