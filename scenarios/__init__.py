"""Runnable scenarios, one question each. ``stabsim list`` shows them.

A scenario module defines ``NAME``, ``SUMMARY``, ``SETTINGS`` (the defaults
that ``--set key=value`` may change) and
``run(*, chains, steps, seed, out, progress, precision, **settings) -> dict``,
which writes its results under ``out`` and returns a JSON-able summary.
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
