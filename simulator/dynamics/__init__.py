"""Dynamics: kernels ``(init, step)`` over one chain's state; the engine vmaps them."""
from .base import Kernel
from .confine import confine
from .group_langevin import GroupMALAState, group_langevin, group_mala
from .group_walk import GroupWalkState, entry_walk, group_walk
from .langevin import LangevinState, langevin
from .lattice_walk import LatticeWalkState, lattice_walk
from .mala import MALAState, mala
from .minibatch import effective_temperature
from .optax_kernel import SGDState, sgd
from .random_walk import RandomWalkState, random_walk
from .sgld import SGLDState, sgld

__all__ = ["Kernel", "random_walk", "RandomWalkState", "lattice_walk", "LatticeWalkState", "langevin", "LangevinState",
           "mala", "MALAState", "group_walk", "entry_walk", "confine", "GroupWalkState",
           "group_langevin", "group_mala", "GroupMALAState", "sgd", "SGDState", "sgld",
           "SGLDState", "effective_temperature"]
