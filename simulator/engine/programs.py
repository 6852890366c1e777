"""The program cache: a second call with the same structure compiles nothing.

A compiled program is keyed by its *structure*: the user's functions by identity (as
``jax.jit`` caches them: the kernel or kernel factory, the targets' residuals, the
domain, observables, the stop label), the flags that change the traced code (bridge,
precision, trace layout), the devices, and the abstract signature of its arguments
(shapes, dtypes, lane width, buffer capacity). Values are arguments and never enter
the key: seed, start, first chain, chain count (within its ``policy.capacity``),
max_steps, eps and a sweep's parameters.

The cache holds at most ``MAX_PROGRAMS`` compiled programs, least recently used out
first, and with them references to the functions in their keys (so an identity is
never reused while cached). ``sim.clear_program_cache()`` empties it, freeing those
functions and the data they close over. JAX's persistent cache (``engine.cache``)
keeps compiled code across processes as before; this cache saves the tracing and
lowering inside one process as well.
"""
from __future__ import annotations

import collections
import time

import jax
import numpy as np

MAX_PROGRAMS = 64

_compiled: collections.OrderedDict = collections.OrderedDict()


class Identity:
    """Hashes and compares ``obj`` by identity (``is``), holding a reference to it."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, Identity) and other.obj is self.obj

    def __repr__(self):
        return f"Identity({getattr(self.obj, '__qualname__', type(self.obj).__name__)})"


def signature(args) -> tuple:
    """The abstract signature of ``args``: tree structure, and each leaf's shape and dtype (where each
    lives is fixed by the devices, which are part of the key)."""
    leaves, tree = jax.tree.flatten(args)
    return tree, tuple((np.shape(leaf), np.dtype(leaf.dtype)) for leaf in leaves)


def cached(key, *args, static=()) -> bool:
    """Whether ``compiled(key, ..., *args, static=static)`` would find its program compiled (``args`` may
    be ``jax.ShapeDtypeStruct``)."""
    return (key, static, signature(args)) in _compiled


def compiled(key, build, *args, static=()):
    """``(executable, seconds)``: the program ``build()`` compiled for ``args``, from the cache when its
    key (``key``, ``static``, the signature of ``args``) was compiled before (seconds 0.0)."""
    full = (key, static, signature(args))
    if full in _compiled:
        _compiled.move_to_end(full)
        return _compiled[full], 0.0
    began = time.perf_counter()
    executable = build().lower(*args, *static).compile()
    seconds = time.perf_counter() - began
    _compiled[full] = executable
    while len(_compiled) > MAX_PROGRAMS:
        _compiled.popitem(last=False)
    return executable, seconds


def clear_program_cache() -> None:
    """Forget every compiled program (and the user functions their keys hold); the next call compiles."""
    _compiled.clear()


def size() -> int:
    """Compiled programs held now."""
    return len(_compiled)
