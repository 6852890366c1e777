"""Dynamics: kernels ``(init, step)`` over one chain's state; the engine vmaps them."""
from .base import Kernel
from .langevin import LangevinState, langevin
from .mala import MALAState, mala
from .random_walk import RandomWalkState, random_walk

__all__ = ["Kernel", "random_walk", "RandomWalkState", "langevin", "LangevinState",
           "mala", "MALAState"]
