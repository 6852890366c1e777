"""stabsim: races of many Markov chains to competing target sets, with error bars.

    import simulator as sim
    result = sim.race(sim.dynamics.random_walk(0.05), [sim.Target(...), ...],
                      start=..., n_chains=10_000, max_steps=100_000, seed=0)

The public names, and nothing else. The subpackages show the architecture:
``engine`` (private: lanes, blocks, host loop, streams, checkpoints, devices),
``dynamics`` (kernels), ``groups`` (matrix groups, balls, Haar sampling),
``stabilizers`` (shapes, stabilizers, tube volumes, hitting laws), ``theory``
(exact formulas, Laplace/Kramers, NUTS) and ``io`` (files, ArviZ, plots).
"""
import warnings as _warnings

from . import boolean, dynamics, groups, outcomes, spaces as space, stats
from .engine.checkpoint import checkpointing
from .engine.multihost import merge_results, process_share
from .engine.programs import clear_program_cache
from .engine.race import RaceWarning, race
from .rare.nested import volume_curve
from .rare.splitting import SplittingWarning, splitting
from .local_learning import LearningCoefficient, learning_coefficient
from .posterior import PosteriorProbability, posterior_probability
from .comparison import Comparison, compare
from .io.registry import load_result
from .result import RaceResult, SweepResult
from .sampling import sample
from .splitting_result import SplittingResult
from .volume_result import VolumeCurve
from .stabilizers import laws, moduli, shapes, volumes
from .stabilizers.algebra import orbit_dimension, stabilizer, stabilizer_dimension
from .stabilizers.volumes import haar_volume, haar_volume_ratio
from .stats import Estimate
from .targets import Target
from .theory import exact, kramers, laplace, nuts
from .theory.kramers import kramers_time
from .theory.laplace import laplace_mass
from .theory.nuts import nuts_occupation
from .version import __version__

# Old names, kept for one release: sim.figures is sim.shapes, sim.predictions is sim.laws,
# sim.reference is sim.nuts.
_RENAMED = {"figures": "shapes", "predictions": "laws", "reference": "nuts"}


def __getattr__(name):
    if name in _RENAMED:
        _warnings.warn(f"sim.{name} is renamed sim.{_RENAMED[name]}; the old name goes in the next release",
                       DeprecationWarning, stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = ["race", "RaceWarning", "clear_program_cache", "splitting", "SplittingWarning", "SplittingResult",
           "volume_curve", "VolumeCurve", "space", "learning_coefficient", "LearningCoefficient",
           "posterior_probability", "PosteriorProbability", "Target", "RaceResult", "SweepResult", "load_result",
           "compare", "Comparison", "sample", "Estimate", "dynamics", "stats",
           "outcomes", "boolean", "laws", "groups", "shapes", "moduli", "volumes", "stabilizer", "stabilizer_dimension",
           "orbit_dimension", "haar_volume", "haar_volume_ratio", "exact", "laplace", "kramers", "nuts",
           "laplace_mass", "kramers_time", "nuts_occupation", "checkpointing", "merge_results", "process_share",
           "__version__"]
