"""Matrix groups, balls in them and Haar-uniform sampling (see lie.py and balls.py)."""
from .balls import Ball, exp_jacobian, frobenius_ball, lebesgue_ball_volume, log_ball, proposals, sample
from .lie import GL, SL, SO, Aff, MatrixGroup, O, expm_2x2

MatrixGroup.sample = lambda self, ball, n, seed=0: sample(_checked(self, ball), n, seed)


def _checked(group, ball):
    if ball.group is not group and ball.group.name != group.name:
        raise ValueError(f"ball is in {ball.group.name}, not in {group.name}")
    return ball


__all__ = ["GL", "SL", "SO", "O", "Aff", "MatrixGroup", "Ball", "frobenius_ball", "log_ball",
           "sample", "proposals", "exp_jacobian", "lebesgue_ball_volume", "expm_2x2"]
