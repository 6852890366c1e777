"""Sweeps: one race per setting of a parameter grid, all in one compiled program.

``race(factory, targets, start, sweep={"temperature": [0.02, 0.1, 0.5]}, ...)`` calls
``factory(temperature=value)`` for every setting (with concrete values first, to
check them, then inside the compiled block with the value of each lane's setting),
so the values are arguments of the block, not compiled-in constants. The key
``eps`` sets the tolerance of every target. Several keys make a grid (their
Cartesian product, in key order).

Chains are tagged by setting: the race runs ``n_settings * n_chains`` chains, chain
``s * n_chains + i`` being chain ``i`` of setting ``s``. Chain i draws the same
random stream in every setting (it depends on (seed, i) only), so a setting's
result equals a plain race with that setting's values, and differences between
settings are measured with common random numbers (lower variance than
independent races; the settings' estimates are therefore correlated).
"""
from __future__ import annotations

import itertools
from typing import Callable, NamedTuple

import numpy as np

from ..dynamics.base import Kernel, check_kernel, describe


class SweepSpec(NamedTuple):
    factory: Callable | None     # kernel factory (None: the kernel is fixed, only eps is swept)
    settings: tuple              # one {name: value} dict per setting
    kernels: tuple               # the concrete kernel of every setting (checked, for the config)
    kernel_table: dict           # factory argument -> (n_settings,) values
    eps_table: np.ndarray        # (n_settings, n_targets)

    @property
    def size(self) -> int:
        return len(self.settings)


def check(sweep, kernel, targets) -> SweepSpec:
    """The sweep's settings, with every value checked by building its kernel; no sweep is one setting."""
    eps = np.array([[t.eps for t in targets]])
    if sweep is None:
        return SweepSpec(None, ({},), (check_kernel(kernel),), {}, eps)
    if not isinstance(sweep, dict) or not sweep:
        raise TypeError(f"sweep must be a non-empty dict {{name: [values]}}, got {type(sweep).__name__}")
    grid = {}
    for name, values in sweep.items():
        if not isinstance(name, str):
            raise TypeError(f"sweep: names must be strings, got {name!r}")
        try:
            values = np.asarray(values, dtype=float) if not isinstance(values, str) else np.array([])
        except (TypeError, ValueError):
            values = np.array([])          # refused just below, naming the setting
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"sweep[{name!r}] must be a non-empty 1-D list of finite numbers, got {sweep[name]!r}")
        grid[name] = values
    settings = tuple(dict(zip(grid, combo)) for combo in itertools.product(*(v.tolist() for v in grid.values())))
    kernel_names = [name for name in grid if name != "eps"]
    if isinstance(kernel, Kernel):
        if kernel_names:
            raise TypeError(f"sweep over {kernel_names} needs kernel to be a factory, e.g. "
                            f"lambda {', '.join(kernel_names)}: sim.dynamics.langevin(V, ...), not a built kernel")
        factory = None
    elif callable(kernel):
        factory = kernel
    else:
        raise TypeError(f"kernel must be a sim.dynamics kernel or, with sweep, a factory of one; "
                        f"got {type(kernel).__name__}")
    if "eps" in grid and np.any(grid["eps"] < 0):
        raise ValueError(f"sweep['eps'] must be >= 0, got {grid['eps'].tolist()}")
    kernels = []
    for setting in settings:
        arguments = {k: v for k, v in setting.items() if k != "eps"}
        if factory is None:
            kernels.append(kernel)
            continue
        try:
            built = factory(**arguments)
        except (TypeError, ValueError) as err:
            raise type(err)(f"sweep setting {arguments}: {err}") from None
        kernels.append(check_kernel(built))
    if len({k.name for k in kernels}) != 1:
        raise ValueError("sweep: the factory must build the same kind of kernel for every setting")
    table = {name: np.array([s[name] for s in settings]) for name in kernel_names}
    eps_table = np.array([[s.get("eps", t.eps) for t in targets] for s in settings])
    return SweepSpec(factory, settings, tuple(kernels), table, eps_table)


def describe_kernel(spec: SweepSpec) -> dict:
    """The kernel entry of the sweep's configuration: the fixed kernel, or the factory and its kind."""
    first = spec.kernels[0]
    if spec.factory is None:
        return {"name": first.name, **first.params}
    return {"name": first.name, "factory": describe(spec.factory)}
