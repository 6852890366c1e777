"""RaceConfig: the settings of one race, in plain values (saved as ``RaceResult.config``).

Two subsets are derived from the field metadata, so that one list decides each:

* ``IDENTITY``: what makes two races the same run, hashed (with the start
  positions' bytes) into the checkpoint identity. Batch, block size,
  compaction and devices are left out: they change speed, never results.
* ``SHARED``: what the shares of one multi-host run must agree on
  (``merge_results``): the identity less the chain range and the start.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .checkpoint import identity_digest


def _identity(shared: bool = True):
    return field(metadata={"identity": True, "shared": shared})


@dataclass(frozen=True)
class RaceConfig:
    kernel: dict = _identity()              # {"name": ..., **parameters}
    targets: tuple = _identity()            # ({"name", "eps", "distance"}, ...)
    start: object = _identity(shared=False)  # "batched", or the shared start position as nested lists
    n_chains: int = _identity(shared=False)
    first_chain: int = _identity(shared=False)
    max_steps: int = _identity()
    seed: int = _identity()
    bridge: bool = _identity()
    precision: str = _identity()
    domain: object = _identity()
    trace_every: int | None = _identity()
    observables: tuple | None = _identity()
    stop_label: str | None = _identity()     # the label function's name, or None
    sweep: dict | None = _identity()        # {name: values per setting}, or None
    block_size: int = 0
    batch_size: int = 0
    compaction: object = "auto"
    noise_variance: float | None = None
    jax_version: str = ""
    device: str = ""
    n_devices: int = 1
    checkpoint: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready: tuples become lists (as they come back from result.json)."""
        out = dataclasses.asdict(self)
        out["targets"] = [dict(t) for t in self.targets]
        out["observables"] = None if self.observables is None else list(self.observables)
        return out

    def identity_hash(self, start) -> str:
        """sha256 of the identity fields and the start positions' bytes (16 hex digits); ``start`` is an
        array or a pytree of arrays (its leaves' bytes in order)."""
        return identity_digest({key: value for key, value in self.as_dict().items() if key in IDENTITY}, start)


IDENTITY = tuple(f.name for f in dataclasses.fields(RaceConfig) if f.metadata.get("identity"))
SHARED = tuple(f.name for f in dataclasses.fields(RaceConfig) if f.metadata.get("shared"))
