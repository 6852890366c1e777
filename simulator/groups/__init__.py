"""Matrix groups (lie.py), balls in them (balls.py) and Haar-uniform sampling (sampling.py)."""
from .balls import Ball, frobenius_ball, log_ball
from .lie import GL, SL, SO, Aff, MatrixGroup, O, expm_2x2
from .sampling import exp_jacobian, lebesgue_ball_volume, proposals, sample

__all__ = ["GL", "SL", "SO", "O", "Aff", "MatrixGroup", "Ball", "frobenius_ball", "log_ball",
           "sample", "proposals", "exp_jacobian", "lebesgue_ball_volume", "expm_2x2"]
