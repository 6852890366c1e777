"""The gl2-shapes scenario end to end (quick settings) through the command line."""
import pytest

from helpers import quick_run, refused_status, stabsim

ANALYTIC = {"segment": 2, "circle": 1, "line": 3}


@pytest.mark.slow   # a full quick run through the CLI (30-45 s without a compilation cache); -m slow runs it
def test_quick_run_writes_the_table_plot_and_json(tmp_path):
    folder, summary = quick_run(tmp_path, "gl2-shapes", 60)     # the issue asks for under a minute
    assert summary["scenario"] == "gl2-shapes"
    for row in summary["races"]:
        assert {"f", "h", "walk", "regime", "eps", "ratio", "haar_volume_ratio"} <= set(row)
        assert len(row["ratio"]) == 3 and len(row["haar_volume_ratio"]) == 3
        assert sum(row["counts"].values()) == summary["chains"]
    assert {(r["walk"], r["regime"]) for r in summary["races"]} == {
        (w, r) for w in ("group", "entry") for r in ("jump", "diffusive")}
    for name, dims in summary["stabilizer_dimension"].items():
        assert isinstance(dims["analytic"], int) and isinstance(dims["numeric"], float)
        assert dims["analytic"] == ANALYTIC[name]
        lo, hi = dims["numeric_interval"]       # 95% interval of 4 - slope, widened for curvature
        assert lo - 0.15 <= dims["analytic"] <= hi + 0.15, (name, dims)
    # the paper's direction, decisively at these sizes: the segment (dim 2) beats the circle (dim 1)
    jump = [r for r in summary["races"] if (r["f"], r["h"], r["regime"]) == ("segment", "circle", "jump")]
    assert all(r["ratio"][1] > 1 for r in jump)
    report = (folder / "report.md").read_text()
    assert "## Verdict" in report and "odds_vs_eps.png" in report
    assert (folder / "odds_vs_eps.png").stat().st_size > 10_000
    assert (folder / "gallery.png").stat().st_size > 10_000 and "gallery.png" in report
    (folder / "gallery.png").unlink()
    assert stabsim("report", str(folder)).returncode == 0      # rebuilt from races/, no rerun
    assert (folder / "gallery.png").is_file()


def test_bad_settings_are_refused_with_status_2(capsys):
    for setting in ("pairs=segment:banana", "eps=0", "walks=levy"):
        assert refused_status(capsys, "gl2-shapes", setting) == 2, setting


def test_bad_rare_settings_are_refused_with_status_2(capsys):
    for setting in ("rare_eps=0", "rare_direct_chains=-1", "rare_samples=0", "rare_diffusive_eps=2"):
        assert refused_status(capsys, "gl2-shapes", setting) == 2, setting


@pytest.mark.slow   # about 2 minutes: 200,000 chains of two Hausdorff residuals, and 2 x 200,000 flux samples
def test_the_first_step_flux_predicts_the_direct_jump_race():
    """The jump regime's segment/square odds from ``laws.first_step_flux`` (the i.i.d. limit) against a
    direct race of 200,000 chains at eps 0.1 (about 25 square wins). Both intervals are symmetric on the
    log scale; they must agree within 3 standard errors of the difference of the logs (independent)."""
    import numpy as np

    import simulator as sim
    from scenarios import common
    from scenarios import gl2_shapes as g2
    from simulator import groups, stats

    settings = g2.Settings(rare_samples=200_000, rare_direct_chains=200_000)
    ball = groups.frobenius_ball(groups.GL(2), settings.radius, center=g2.CENTER)
    targets = {name: sim.stabilizer(g2.FIGURES[name](), 0.1) for name in g2.RARE_PAIR}
    residual = {name: common.batched(t.residual) for name, t in targets.items()}
    flux, _ = g2.first_step_odds("group", 0.1, settings, ball, targets, seed=3)
    race, details = g2.direct_race_odds("group", 0.1, settings, ball, targets, residual, 4000, 3, False, "float32")
    assert details["counts"]["square"] >= 10, details["counts"]
    z = (np.log(flux.value) - np.log(race.value)) / np.hypot(stats.log_standard_error(flux),
                                                               stats.log_standard_error(race))
    assert abs(z) <= 3, (flux, race, z)
