"""The moduli map R^4 -> plane segments (section 5.2): the swept regions of generalized edges, their
kinds, outlines against dense sweeps, and stabilizer dimensions upstairs (GL(4)) and downstairs (GL(2))."""
import numpy as np
import pytest

import simulator as sim
from simulator import groups

EXAMPLES = {   # the paper's three shapes, from endpoints chosen here; (P, Q) in R^4 = (a_x, a_y, b_x, b_y)
    "trapezoid": ([-1.0, 0, 1, 0], [-0.5, 1, 0.5, 1]),       # parallel segments
    "triangle": ([0.0, 1, -1, 0], [0.0, 1, 1, 0]),           # a shared endpoint, the apex (0, 1)
    "butterfly": ([-1.0, 1, 1, -1], [-1.0, -1, 1, 1]),       # every segment passes through the waist (0, 0)
    "quadrilateral": ([-1.0, 0, 1, 0], [-1.0, 1, 1, 2]),     # lines all through (-3, 0), outside the segments
}


def _inside_convex(points, vertices, tol=1e-9):
    """Points inside the convex polygon (either orientation)."""
    v, w = vertices, np.roll(vertices, -1, axis=0)
    cross = (w[:, 0] - v[:, 0]) * (points[:, None, 1] - v[:, 1]) - (w[:, 1] - v[:, 1]) * (points[:, None, 0] - v[:, 0])
    return np.all(cross >= -tol, axis=1) | np.all(cross <= tol, axis=1)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_swept_region_is_its_outline(kind):
    P, Q = EXAMPLES[kind]
    assert sim.moduli.sweep_kind(P, Q) == kind
    dense = sim.moduli.sweep([P, Q], 201, 201)
    parts = sim.moduli.outline(P, Q)
    inside = np.any([_inside_convex(dense, part) for part in parts], axis=0)
    assert inside.all()                                      # the sweep stays in the outline...
    for part in parts:                                       # ...and reaches every vertex of it
        assert np.min(np.linalg.norm(dense[:, None] - part[None], axis=-1), axis=0).max() < 1e-9
    # ...and fills it: the area of the outline equals the sweep's area on a grid (cells of side 0.02)
    area = sum(0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))) for p in parts)
    cells = np.unique(np.floor(sim.moduli.sweep([P, Q], 801, 801) / 0.02), axis=0)
    assert abs(len(cells) * 0.02 ** 2 - area) <= 0.02 * 4 * 4 + 0.02 * area   # perimeter cells of side 0.02


def test_a_sweep_whose_lines_envelope_a_curve_is_refused():
    P, Q = [-1.0, 0, 1, 0], [-1.0, 1, 2, 2]
    assert sim.moduli.sweep_kind(P, Q) == "curved"
    with pytest.raises(ValueError, match="envelope"):
        sim.moduli.outline(P, Q)
    with pytest.raises(ValueError, match="last axis of length 4"):
        sim.moduli.segments([1.0, 2.0, 3.0])


@pytest.mark.parametrize("kind, vertices", [("trapezoid", 4), ("triangle", 3), ("butterfly", 5)])
def test_dimensions_upstairs_and_downstairs(kind, vertices):
    # Upstairs, the generalized edge [P, Q] of R^4 (P, Q independent): X P = X Q = 0, dim 16 - 8 = 8 in GL(4);
    # a generalized triangle [P, Q, R] (three independent points): 16 - 12 = 4. Downstairs, the swept region's
    # vertices span the plane and each is fixed: dim 0 in GL(2), whatever the shape.
    P, Q = EXAMPLES[kind]
    assert sim.stabilizer_dimension(groups.GL(4), sim.shapes.polygon([P, Q])) == 8
    R = np.array([0.3, -0.7, 0.2, 0.9])
    assert sim.stabilizer_dimension(groups.GL(4), sim.shapes.polygon([P, Q, R])) == 4
    assert sim.moduli.vertex_count(P, Q) == vertices
    assert sim.stabilizer_dimension(groups.GL(2), sim.moduli.downstairs(P, Q)) == 0
