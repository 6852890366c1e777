"""Pytree positions: dotted leaf names, and nested dicts rebuilt from them.

A position may be one array or a pytree of arrays (a dict of weights, a
NamedTuple, Flax or Equinox parameters). Results, traces and checkpoints name
its leaves by their paths, ``W1`` or ``layers.0.kernel``, in ``jax.tree.leaves``
order (which is also the order of ``jax.flatten_util.ravel_pytree``).
"""
from __future__ import annotations

import jax


def _key(entry) -> str:
    for attribute in ("name", "key", "idx"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    return str(entry)


def leaf_names(tree) -> list[str]:
    """Dotted path of every leaf, e.g. ``opt_state.0.mu`` (``""`` for a tree that is one array)."""
    return [".".join(_key(k) for k in path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def named_leaves(tree) -> dict:
    """{dotted path: leaf}, in leaf order."""
    return dict(zip(leaf_names(tree), jax.tree.leaves(tree)))


def nest(flat: dict) -> dict:
    """Nested dicts from ``{dotted path: value}``: {"a.b": 1, "a.c": 2} -> {"a": {"b": 1, "c": 2}}."""
    out: dict = {}
    for name, value in flat.items():
        *parents, last = name.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def position_leaves(state: dict) -> dict:
    """The position's entries of a flattened kernel state: ``{"": array}`` for an array position
    (state key ``position``), else ``{leaf path: array}`` (state keys ``position.<path>``)."""
    if "position" in state:
        return {"": state["position"]}
    return {k[len("position."):]: v for k, v in state.items() if k.startswith("position.")}


def assemble(leaves: dict, structure=None):
    """The position from ``position_leaves``-style entries: the array itself, the pytree of ``structure``
    (a treedef), or nested dicts by path when the structure is unknown (a loaded result)."""
    if list(leaves) == [""]:
        return leaves[""]
    if structure is not None:
        return jax.tree.unflatten(structure, list(leaves.values()))
    return nest(leaves)
