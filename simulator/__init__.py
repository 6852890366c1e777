"""stabsim: races of many Markov chains to competing target sets, with error bars.

    import simulator as sim
    result = sim.race(sim.dynamics.random_walk(0.05), [sim.Target(...), ...],
                      start=..., n_chains=10_000, max_steps=100_000, seed=0)
"""
from . import dynamics, exact, figures, groups, laplace, outcomes, predictions, reference, stats, volumes
from .checkpoint import checkpointing
from .engine import race
from .multihost import merge_results, process_share
from .laplace import kramers_time, laplace_mass
from .reference import nuts_occupation
from .result import RaceResult, load_result
from .stats import Estimate
from .stabilizers import orbit_dimension, stabilizer, stabilizer_dimension
from .targets import Target
from .volumes import haar_volume, haar_volume_ratio

__version__ = "0.1.0"

__all__ = ["race", "Target", "RaceResult", "load_result", "Estimate", "dynamics", "stats",
           "outcomes", "predictions", "groups", "figures", "volumes", "stabilizer", "stabilizer_dimension",
           "orbit_dimension", "haar_volume", "haar_volume_ratio", "exact", "laplace", "reference",
           "laplace_mass", "kramers_time", "nuts_occupation", "checkpointing", "merge_results", "process_share", "__version__"]
