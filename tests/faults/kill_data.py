"""Two results of different sizes, one traced, that test_kills.py saves in turn into one folder."""
import numpy as np

from simulator.result import RaceResult

_rng = np.random.default_rng(0)
A = RaceResult(("f", "h"), _rng.choice([0, 1, -2, -3, -4, -5], 3000), _rng.integers(0, 1000, 3000),
               {"position": _rng.normal(size=(3000, 4))}, {"seed": 0, "max_steps": 1000}, {},
               {"norm": _rng.normal(size=(3000, 11))}, np.arange(0, 1001, 100))
B = RaceResult(("f", "h"), _rng.choice([0, 1, -2, -3, -4, -5], 2000), _rng.integers(0, 1000, 2000),
               {"position": _rng.normal(size=(2000, 4))}, {"seed": 1, "max_steps": 1000}, {})
