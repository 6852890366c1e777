"""Runs that span processes (hosts): each races its share of chain indices; the shares merge.

A chain depends only on (seed, global chain index), so a run split over P
processes gives exactly the chains of a single run:

    import jax, simulator as sim
    jax.distributed.initialize()                 # on every host (coordinator address from the env)
    first, n_local = sim.process_share(n_chains)  # this process's contiguous block of chain indices
    part = sim.race(kernel, targets, start, n_chains=n_local, first_chain=first, ...)
    part.save(f"{shared}/part-{jax.process_index()}")
    # then, on one process, once every part is saved:
    result = sim.merge_results([sim.load_result(p) for p in sorted(parts)])

Within a process, ``race(devices=None)`` already spreads the lanes over its local
devices. (Only the share arithmetic and the merge are tested here: the CI
machine has one process and no accelerator.)
"""
from __future__ import annotations

import jax
import numpy as np

from ..result import RaceResult
from .config import SHARED


def process_share(n_chains: int, process_index: int | None = None, process_count: int | None = None):
    """(first_chain, n_local): the contiguous block of ``n_chains`` that process ``process_index`` races."""
    index = jax.process_index() if process_index is None else int(process_index)
    count = jax.process_count() if process_count is None else int(process_count)
    if not 0 <= index < count:
        raise ValueError(f"process_index must be in [0, {count}), got {index}")
    base, extra = divmod(int(n_chains), count)
    first = index * base + min(index, extra)
    return first, base + (1 if index < extra else 0)


def merge_results(parts) -> RaceResult:
    """One RaceResult from shares of one run (same settings and shared start, contiguous ``first_chain``
    blocks). Batched starts differ between shares by design (each holds its own rows); a shared start
    must be the same position in every share."""
    if isinstance(parts, RaceResult) or not isinstance(parts, (list, tuple)):
        raise TypeError(f"parts must be a list of RaceResults, got {type(parts).__name__}")
    wrong = [type(p).__name__ for p in parts if not isinstance(p, RaceResult)]
    if wrong:
        raise TypeError(f"parts must be RaceResults (shares of one race), got {wrong[0]}")
    parts = sorted(parts, key=lambda r: r.config.get("first_chain", 0))
    if not parts:
        raise ValueError("parts must hold at least one RaceResult")
    head = parts[0]
    expected = head.config.get("first_chain", 0)
    for part in parts:
        for key in SHARED:
            if part.config.get(key) != head.config.get(key):
                raise ValueError(f"parts differ in {key!r}: they are not shares of one run")
        if (part.config.get("start") == "batched") != (head.config.get("start") == "batched") or (
                head.config.get("start") != "batched" and part.config.get("start") != head.config.get("start")):
            raise ValueError("parts differ in 'start': they are not shares of one run")
        if part.config.get("first_chain", 0) != expected:
            raise ValueError(f"parts are not contiguous: expected first_chain {expected}, "
                             f"got {part.config.get('first_chain', 0)}")
        expected += part.n_chains
    config = {**head.config, "n_chains": sum(p.n_chains for p in parts), "n_parts": len(parts)}
    work = {key: sum(p.work.get(key, 0) for p in parts) for key in ("ideal_chain_steps", "lane_steps")}
    work["efficiency"] = work["ideal_chain_steps"] / work["lane_steps"] if work["lane_steps"] else float("nan")
    work["wall_seconds"] = max(p.work.get("wall_seconds", 0.0) for p in parts)
    trace = None if head.trace is None else {k: np.concatenate([p.trace[k] for p in parts]) for k in head.trace}
    return RaceResult(head.target_names, np.concatenate([p.outcome for p in parts]),
                      np.concatenate([p.stop_step for p in parts]),
                      {k: np.concatenate([p.state[k] for p in parts]) for k in head.state}, config, work,
                      trace, head.trace_steps)
