"""The degenerate-minima and competing-features scenarios: exact pieces, then quick runs through the CLI."""
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from scenarios import competing_features as cf
from scenarios import degenerate_minima as dm
from helpers import quick_run, refused_status, stabsim


# ---- competing features: the residuals are exact on constructed networks ----------
def network(parts, k=4):
    """Linear autoencoder with W = 0, b = 1 (so a = 1) and decoder columns = parts (zero-padded to k)."""
    model = cf.Autoencoder(k, "linear")
    d = np.zeros((64, k))
    d[:, : len(parts)] = np.asarray(parts).T
    theta, _ = ravel_pytree({"W": jnp.zeros((k, 64)), "b": jnp.ones(k), "D": jnp.asarray(d, jnp.float32)})
    return model, theta


def test_both_decompositions_sum_to_the_image():
    image, edges, corners = cf.decompositions()
    assert image.sum() == 20 and set(np.unique(image)) == {0.0, 1.0}
    np.testing.assert_array_equal(edges.sum(0), image)
    np.testing.assert_array_equal(corners.sum(0), image)
    assert np.all(edges.max(0) <= 1) and np.all(corners.max(0) <= 1)   # no pixel counted twice


def test_residuals_vanish_exactly_on_their_own_decomposition():
    _, edges, corners = cf.decompositions()
    model, theta = network(edges)
    assert float(model.residual(theta, model.edges)) == 0.0
    assert float(model.residual(theta, model.corners)) == pytest.approx(1.0)   # an L misses a whole edge
    assert float(model.full_loss(theta)) == 0.0
    model, theta = network(corners)
    assert float(model.residual(theta, model.corners)) == 0.0
    assert float(model.residual(theta, model.edges)) == pytest.approx(1.0)
    # a network that reconstructs I with one unit holding all of it matches neither
    model, theta = network([edges.sum(0)])
    assert float(model.full_loss(theta)) == 0.0
    assert float(model.residual(theta, model.edges)) == pytest.approx(1.0)


def test_labelled_residuals_cover_the_unlabelled_one_by_unit_assignments():
    # For r_f < 1/2 each part is within r_f of exactly one unit, so r_f = min over unit orders of the labelled
    # residual (unit i <-> part i): the identity behind mu(S_f) = N mu(S_f^lab). Checked on a solution network
    # with its units shuffled and its decoder perturbed by up to 0.1 per pixel (exact equality: same gaps).
    import itertools
    _, edges, _ = cf.decompositions()
    model, theta = network(edges)
    assert float(cf.labelled_residual(model, model.edges, theta)) == 0.0
    rng = np.random.default_rng(0)
    p = model.unravel(theta)
    order = rng.permutation(4)
    d = np.asarray(p["D"])[:, order] + rng.uniform(-0.1, 0.1, (64, 4))
    shuffled = ravel_pytree({**p, "D": jnp.asarray(d, jnp.float32)})[0]
    r_f = float(model.residual(shuffled, model.edges))
    assert 0.05 < r_f < 0.5
    labelled = []
    for sigma in itertools.permutations(range(4)):
        q = ravel_pytree({**p, "D": jnp.asarray(d[:, list(sigma)], jnp.float32)})[0]
        labelled.append(float(cf.labelled_residual(model, model.edges, q)))
    assert min(labelled) == pytest.approx(r_f, abs=1e-6) and sorted(labelled)[1] > 0.5   # one assignment only


def test_whitened_coordinates_give_the_init_scales_in_the_model_layout():
    model = cf.Autoencoder(4, "sigmoid")
    theta, dim = cf.whitened(model)
    assert dim == 2 * 4 * 64
    z = jnp.arange(1.0, dim + 1)
    p = model.unravel(theta(z))
    np.testing.assert_allclose(p["W"], np.arange(1, 257).reshape(4, 64) / 8, rtol=1e-6)   # N(0, 1/64)
    np.testing.assert_allclose(p["D"], np.arange(257, 513).reshape(64, 4) / 2, rtol=1e-6)  # N(0, 1/k)
    assert np.all(np.asarray(p["b"]) == 0)


# ---- degenerate minima: the targets split the zero set by component ------------------
def test_degenerate_minima_targets_pick_the_right_component():
    on_manifold, at_point = jnp.array([2.0, 0.5]), jnp.asarray(dm.POINT, jnp.float32)
    manifold, point = dm.targets(1e-3)
    assert float(manifold.residual(on_manifold)) == 0.0 and float(point.residual(on_manifold)) > 1e20
    assert float(point.residual(at_point)) == 0.0 and float(manifold.residual(at_point)) > 1e20


def test_volume_ratio_grows_like_eps_to_minus_half():
    """vol(S_f) ~ eps^(1/2) (codimension 1, L quadratic in the normal distance), vol(S_h) ~ eps: the ratio
    quadruples when eps drops 16-fold. 1e6 samples: the log-ratio SE is ~0.05 here; tolerance 4 SE each."""
    a = dm.volume_ratio(0.016, 2.5, 1_000_000, 0)["ratio"]
    b = dm.volume_ratio(0.001, 2.5, 1_000_000, 1)["ratio"]
    slope = np.log(b[0] / a[0]) / np.log(16)
    se = np.hypot(np.log(a[2] / a[1]), np.log(b[2] / b[1])) / (2 * 1.96) / np.log(16)
    assert abs(slope - 0.5) < 4 * se + 0.05, (slope, se)


# ---- quick runs ----------------------------------------------------------------------
@pytest.mark.parametrize("scenario, keys", [
    pytest.param("degenerate-minima", {"ratio", "volume_ratio", "laplace_ratio", "counts"}, marks=pytest.mark.slow),
    pytest.param("competing-features", {"ratio", "p_edges", "p_L", "reconstructs", "closer_to_edges", "counts"},
                 marks=pytest.mark.slow),   # 15-16 s each through the CLI
])
def test_quick_run(tmp_path, scenario, keys):
    # degenerate-minima also records its races (--set trace_every=200): one trace.nc with every race's observables
    extra = ("--set", "trace_every=200") if scenario == "degenerate-minima" else ()
    folder, summary = quick_run(tmp_path, scenario, 120, *extra)
    assert summary["scenario"] == scenario and summary["rows"]
    for row in summary["rows"]:
        assert keys <= set(row)
        assert sum(row["counts"].values()) == summary["chains"]
    report = (folder / "report.md").read_text()
    assert "## Verdict" in report
    assert any(p.suffix == ".png" and p.stat().st_size > 5000 for p in folder.iterdir())
    if scenario == "degenerate-minima":
        # The volume curves' exponents are the exact learning coefficients (1/2 for the hyperbola of minima,
        # 1 for the isolated point) within 4 standard errors of the resampling interval.
        lc = summary["learning_coefficients"]
        for name, exact in (("manifold", 0.5), ("point", 1.0)):
            value, low, high = lc[name]["lambda"]
            assert abs(value - exact) <= 4 * (high - low) / (2 * 1.96), (name, lc[name]["lambda"])
        assert "Singular-learning form" in report
        import arviz as az
        names = list(az.from_netcdf(folder / "trace.nc").posterior.data_vars)
        assert any(n.endswith(".residual_manifold") for n in names) and any(n.endswith(".potential") for n in names)
    else:
        assert not (folder / "trace.nc").exists()          # off by default


@pytest.mark.parametrize("scenario, setting", [
    ("degenerate-minima", "eps=-1"), ("degenerate-minima", "radius=1.0"),
    ("competing-features", "activations=relu"), ("competing-features", "eps=2"),
])
def test_bad_settings_exit_2(capsys, scenario, setting):
    assert refused_status(capsys, scenario, setting) == 2


def test_a_negative_trace_every_is_refused():
    assert stabsim("run", "degenerate-minima", "--set", "trace_every=-3", "--no-progress").returncode == 2
