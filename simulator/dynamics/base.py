"""The kernel interface shared by all dynamics.

A kernel is a pair of pure functions over one chain (BlackJAX/Optax style):

    init(position) -> state          # state: a NamedTuple with a ``position`` field
    step(key, state) -> state        # one transition, key a typed PRNG key

plus metadata the engine and the reports use. ``noise_variance`` is the
per-coordinate variance of the Gaussian increment of one step (used by the
Brownian-bridge crossing correction; None where it does not apply). A state with an ``n_accepted`` field
reports a Metropolis acceptance rate. ``potential``, where the dynamics have one, is
what traces record as the potential (or full-data loss).
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable, NamedTuple

import jax
import numpy as np


class Kernel(NamedTuple):
    init: Callable[[jax.Array], NamedTuple]
    step: Callable[[jax.Array, NamedTuple], NamedTuple]
    name: str
    params: dict
    noise_variance: float | None
    potential: Callable | None = None   # V(position) (the full-data loss for sgd/sgld), traced as "potential"


def describe(fn) -> str:
    """A readable name for a user function, for result metadata and the checkpoint identity.

    Its qualified name, else its repr without memory addresses (an address differs in every
    process, and would make a checkpoint impossible to resume).
    """
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name if isinstance(name, str) else re.sub(r" at 0x[0-9a-fA-F]+", "", repr(fn))


def data_digest(data) -> str:
    """sha256 (16 hex digits) of the data's leaves (dtype, shape, bytes): with ``describe``, it names what a
    kernel or a volume curve uses, so runs on other data have another checkpoint identity (``engine.checkpoint``)."""
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(data):
        leaf = np.ascontiguousarray(leaf)
        h.update(f"{leaf.dtype}{leaf.shape}".encode() + leaf.tobytes())
    return h.hexdigest()[:16]


def check_kernel(kernel) -> Kernel:
    """``kernel`` itself, or a TypeError unless it is a ``sim.dynamics`` kernel."""
    if not isinstance(kernel, Kernel):
        raise TypeError("kernel must be a sim.dynamics kernel (e.g. sim.dynamics.random_walk(0.1)), "
                        f"got {type(kernel).__name__}")
    return kernel
