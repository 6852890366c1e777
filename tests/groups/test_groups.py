"""Matrix groups: algebras, exp, Haar densities, invariance of measures and walks."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import simulator as sim
from simulator import groups
from simulator.stabilizers import volumes


@pytest.mark.parametrize("group, dim", [(groups.GL(2), 4), (groups.SL(2), 3), (groups.SO(3), 3),
                                        (groups.O(2), 1), (groups.Aff(2), 6), (groups.GL(3), 9)])
def test_dimension_and_orthonormal_basis(group, dim):
    assert group.dim == dim
    flat = group.basis.reshape(dim, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(dim), atol=1e-12)


def test_expm_2x2_matches_scipy_for_every_type():
    rng = np.random.default_rng(0)
    cases = [rng.standard_normal((2, 2)) for _ in range(20)]
    cases += [np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0, -2.0], [2.0, 0.0]]),
              np.array([[1.0, 0.0], [0.0, -1.0]]), np.zeros((2, 2)), np.array([[1e-5, 2e-5], [0, 0]])]
    with jax.enable_x64(True):
        for X in cases:
            np.testing.assert_allclose(np.asarray(groups.expm_2x2(jnp.asarray(X, jnp.float64))),
                                       scipy.linalg.expm(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("group", [groups.SL(2), groups.SO(3), groups.SL(3), groups.Aff(2)])
def test_exp_of_the_algebra_stays_in_the_group(group):
    c = np.random.default_rng(1).standard_normal((10, group.dim)) * 0.7
    g = np.asarray(group.exp(group.algebra(jnp.asarray(c, jnp.float32))))
    assert np.all(group.contains(g, tol=1e-4))


def test_exp_jacobian_known_forms():
    """gl(2): prod [sinh(d/2)/(d/2)]^2 over eigenvalue differences; so(3): [sin(t/2)/(t/2)]^2."""
    G = groups.GL(2)
    c = np.random.default_rng(2).standard_normal((50, 4))
    ev = np.linalg.eigvals(np.einsum("ni,iab->nab", c, G.basis))
    d = ev[:, 0] - ev[:, 1]
    np.testing.assert_allclose(groups.exp_jacobian(G, c), np.abs((np.sinh(d / 2) / (d / 2)) ** 2), rtol=1e-9)
    S = groups.SO(3)
    c = np.random.default_rng(3).standard_normal((50, 3))
    theta = np.linalg.norm(c, axis=1) / math.sqrt(2)   # |X|_F = |c| = sqrt(2) * angle
    np.testing.assert_allclose(groups.exp_jacobian(S, c), (np.sin(theta / 2) / (theta / 2)) ** 2, rtol=1e-9)


def test_samples_lie_in_the_ball_and_the_group():
    G = groups.GL(2)
    center = np.array([[1.2, 0.2], [0.1, 0.9]])
    ball = groups.frobenius_ball(G, 0.5, center=center)
    g = G.sample(ball, 2_000, seed=0)
    assert g.shape == (2_000, 2, 2)
    assert np.all(np.linalg.norm(np.linalg.inv(center) @ g - np.eye(2), axis=(1, 2)) <= 0.5 + 1e-12)
    s = groups.SO(3).sample(groups.log_ball(groups.SO(3), 1.0), 500, seed=1)
    assert np.all(groups.SO(3).contains(s, tol=1e-5))


def _translate_volume(group, side, g, radius=0.3, n=400_000, seed=0):
    """mu({h : ||h g^-1 - I|| <= r}) (right translate) or {||g^-1 h - I|| <= r} (left), by MC."""
    g_inv = jnp.asarray(np.linalg.inv(g), jnp.float32)
    eye = jnp.eye(group.size)
    if side == "left":
        residual = lambda h: jnp.linalg.norm(g_inv @ h - eye)  # noqa: E731
    else:
        residual = lambda h: jnp.linalg.norm(h @ g_inv - eye)  # noqa: E731
    cover = groups.frobenius_ball(group, 0.9, center=g)        # contains both translates here
    target = sim.Target("translate", residual, eps=radius)
    return volumes.tube_volumes(cover, [target], [radius], n, seed)["volume"]["translate"][0]


def _se(estimate):
    return (estimate.high - estimate.low) / (2 * 1.96)


@pytest.mark.parametrize("group, g, right_factor", [
    (groups.GL(2), np.array([[1.3, 0.2], [0.1, 0.8]]), 1.0),
    # Aff(2), left Haar: mu(A g) = mu(A) / |det A_g|  (modular function)
    (groups.Aff(2), np.array([[1.5, 0.2, 0.1], [0.1, 1.3, -0.2], [0, 0, 1]]), 1 / abs(1.5 * 1.3 - 0.02)),
])
def test_haar_measure_of_translates(group, g, right_factor):
    """Left translates keep the left Haar volume; right translates too, unless not unimodular.

    Tolerance: 4 combined standard errors of the two Monte Carlo estimates.
    """
    base = _translate_volume(group, "left", np.eye(group.size), seed=1)
    for side, factor in [("left", 1.0), ("right", right_factor)]:
        moved = _translate_volume(group, side, g, seed=2)
        tol = 4 * math.hypot(_se(base) * factor, _se(moved))
        assert abs(moved.value - factor * base.value) <= tol, (side, moved, base, factor)
    if right_factor != 1.0:   # and the factor is resolved: equality would fail
        moved = _translate_volume(group, "right", g, seed=3)
        assert abs(moved.value - base.value) > 4 * math.hypot(_se(base), _se(moved))


def test_group_walk_keeps_haar_measure_and_the_entry_walk_does_not():
    """Start 120k chains Haar-uniform in the ball ||g - I|| <= 0.9 and take 30 steps of
    size 0.03 (spread ~0.16, so the outer edge is 2.8 spreads from the inner ball).
    The number of chains in the inner ball ||g - I|| <= 0.45 is compared with the same
    count in an independent Haar sample: two Poisson-like counts, z = (a - b)/sqrt(a + b).
    The group walk keeps Haar measure: |z| < 3.5. The entry walk is Lebesgue-invariant and
    flows toward det ~ 1 (the heat equation gives a ~16% rise here, z ~ 10): z > 6."""
    G = groups.GL(2)
    n = 120_000
    start = G.sample(groups.frobenius_ball(G, 0.9), n, seed=10)
    reference = G.sample(groups.frobenius_ball(G, 0.9), n, seed=11)

    def inner_count(g):
        return int((np.linalg.norm(g - np.eye(2), axis=(1, 2)) <= 0.45).sum())

    never = [sim.Target("never", lambda g: 1.0 + 0.0 * jnp.sum(g))]
    z = {}
    for name, kernel in [("group", sim.dynamics.group_walk(G, 0.03)), ("entry", sim.dynamics.entry_walk(None, 0.03))]:
        end = sim.race(kernel, never, start, n_chains=n, max_steps=30, seed=5, progress=False).position
        a, b = inner_count(end), inner_count(reference)
        z[name] = (a - b) / math.sqrt(a + b)
    assert abs(z["group"]) < 3.5, z
    assert z["entry"] > 6, z


def test_ball_refuses_bad_radius_and_center():
    G = groups.GL(2)
    with pytest.raises(ValueError, match="radius"):
        groups.frobenius_ball(G, 1.5)
    with pytest.raises(ValueError, match="center"):
        groups.frobenius_ball(G, 0.5, center=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="n must"):
        groups.GL(0)


def _final_positions(kernel, start, n, steps, seed=0):
    never = [sim.Target("never", lambda g: 1.0 + 0.0 * jnp.sum(g))]
    return sim.race(kernel, never, start, n_chains=n, max_steps=steps, seed=seed, progress=False)


@pytest.mark.parametrize("kind, step_size, bias", [("mala", 0.5, 0.0), ("langevin", 0.02, 0.02)])
def test_group_langevin_targets_von_mises_on_so2(kind, step_size, bias):
    """V(g) = -kappa g_00 = -kappa cos(theta) on SO(2): exp(-V) dHaar is von Mises, so
    E cos(theta) = I1(kappa) / I0(kappa). Tolerance: 4 standard errors of the mean over
    independent chains, plus for the unadjusted scheme an O(h) bias allowance of 0.02."""
    import scipy.special
    G, kappa, n = groups.SO(2), 2.0, 4000
    potential = lambda g: -kappa * g[0, 0]  # noqa: E731
    make = sim.dynamics.group_mala if kind == "mala" else sim.dynamics.group_langevin
    result = _final_positions(make(G, potential, step_size), jnp.eye(2), n, 400)
    cos = result.position[:, 0, 0]
    exact = scipy.special.i1(kappa) / scipy.special.i0(kappa)
    assert abs(cos.mean() - exact) <= 4 * cos.std() / math.sqrt(n) + bias, (cos.mean(), exact)
    assert np.all(groups.SO(2).contains(result.position, tol=1e-4))


def test_group_mala_matches_an_importance_sampling_reference_on_gl2():
    """exp(-V) dHaar on GL(2) with V = 12 ||g - I||^2 (mass outside ||g - I|| <= 0.9 is
    ~e^-9.7): E[det g] from MALA chains vs a weighted Haar sample of the ball.
    Tolerance: 4 combined standard errors (chains independent; reference self-normalised)."""
    G, n = groups.GL(2), 4000
    potential = lambda g: 12.0 * jnp.sum((g - jnp.eye(2)) ** 2)  # noqa: E731
    kernel = sim.dynamics.group_mala(G, potential, 0.03)
    result = _final_positions(kernel, jnp.eye(2), n, 300)
    det = np.linalg.det(result.position)
    g, w, _ = groups.proposals(groups.frobenius_ball(G, 0.9), 400_000, np.random.default_rng(0))
    w = w * np.exp(-12.0 * np.sum((g - np.eye(2)) ** 2, axis=(1, 2)))
    w /= w.sum()
    ref_det = np.linalg.det(g)
    ref = np.sum(w * ref_det)
    ref_se = math.sqrt(np.sum(w**2 * (ref_det - ref) ** 2))
    assert abs(det.mean() - ref) <= 4 * math.hypot(det.std() / math.sqrt(n), ref_se), (det.mean(), ref)
    assert 0.3 < result.acceptance_rate.mean() < 1.0


def test_group_langevin_refuses_aff_and_bad_step():
    with pytest.raises(ValueError, match="unimodular"):
        sim.dynamics.group_mala(groups.Aff(2), lambda g: jnp.sum(g), 0.1)
    with pytest.raises(ValueError, match="step_size"):
        sim.dynamics.group_langevin(groups.GL(2), lambda g: jnp.sum(g), 0.0)
    with pytest.raises(TypeError, match="group"):
        sim.dynamics.group_langevin("GL2", lambda g: jnp.sum(g), 0.1)


@pytest.mark.parametrize("n, r", [(3, 0.5), (4, 0.5), (4, 0.3), (3, 0.8)])
def test_the_rejection_bound_on_det_holds_and_is_attained(n, r):
    # The Haar sampler's weight bound rests on |det(I + X)| >= min_det_near_identity(n, r) on ||X||_F <= r:
    # checked on 200,000 random X on the sphere ||X||_F = r and on the minimiser X = -(r / sqrt n) I, where
    # the r <= 1/2 bound (1 - r/sqrt n)^n is attained (the (1 - r)^n bound beyond is only a bound).
    from simulator.groups.sampling import min_det_near_identity
    rng = np.random.default_rng(n)
    X = rng.normal(size=(200_000, n, n))
    X *= r / np.linalg.norm(X, axis=(1, 2))[:, None, None]
    bound = min_det_near_identity(n, r)
    assert np.abs(np.linalg.det(np.eye(n) + X)).min() >= bound
    at = abs(np.linalg.det(np.eye(n) * (1 - r / math.sqrt(n))))
    assert at >= bound and (r > 0.5 or at == pytest.approx(bound))
