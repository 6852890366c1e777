"""Runnable scenarios, one question each. ``stabsim list`` shows them.

A scenario module defines ``NAME``, ``SUMMARY``, ``Settings`` (a frozen
dataclass of typed settings with defaults, checked in ``__post_init__``; see
``common.Settings``; ``--set key=value`` changes them),
``run(settings, *, chains, steps, seed, out, progress, precision) -> dict``,
which writes its results under ``out`` and returns a JSON-able summary, and
``render(summary, out)``, which rebuilds report.md and the plots from a saved run.
The CLI finds them through the ``stabsim.scenarios`` entry points.
"""
import importlib
import pkgutil


def available() -> dict:
    """Scenario name -> module, for every module in this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found[module.NAME] = module
    return dict(sorted(found.items()))
