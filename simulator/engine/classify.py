"""What one step means: the residuals of a position and its outcome code.

Shared by the race's block and the splitting's branches, so that both read a
step the same way. Priority: diverged (a non-finite position or residual),
then escaped (hits count inside the domain only), then tie, then a hit.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..outcomes import DIVERGED, ESCAPED, RUNNING, TIE


def residual_function(targets, dtype):
    """``position -> (n_targets,)`` residuals in ``dtype``."""
    def residuals(x):
        return jnp.stack([jnp.asarray(t.residual(x), dtype) for t in targets])
    return residuals


def classifier(domain=None):
    """``classify(position, residuals, entered) -> int32 code`` (``simulator.outcomes``)."""
    def classify(position, r, entered):
        finite = jnp.all(jnp.isfinite(r))
        for leaf in jax.tree.leaves(position):
            finite &= jnp.all(jnp.isfinite(leaf))
        n_entered = jnp.sum(entered)
        code = jnp.where(n_entered > 1, TIE, jnp.where(n_entered == 1, jnp.argmax(entered), RUNNING))
        if domain is not None:
            code = jnp.where(domain(position), code, ESCAPED)
        return jnp.where(finite, code, DIVERGED).astype(jnp.int32)
    return classify
