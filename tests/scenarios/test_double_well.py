"""The double-well scenario end to end (quick settings) through the command line."""
import pytest

from helpers import quick_run, refused_status, stabsim


@pytest.mark.slow   # a full quick run through the CLI (30-45 s without a compilation cache); -m slow runs it
def test_quick_run_writes_tables_plot_and_json(tmp_path):
    folder, summary = quick_run(tmp_path, "double-well", 90)
    kinds = {(r["kind"], r["kernel"]) for r in summary["rows"]}
    assert kinds == {(k, n) for k in ("committor", "mean_first_passage", "stationary_mass")
                     for n in ("langevin", "sgld", "sgd")}
    for row in summary["rows"]:
        assert sum(row["counts"].values()) == summary["chains"]
        lo = row["measured"][1]
        hi = row["measured"][2]
        assert lo <= row["measured"][0] <= hi
        # total temperature is the same for every kernel: the minibatch part is measured from the data
        assert abs(row["T_injected"] + row["T_minibatch"] - summary["settings"]["temperature"]) < 1e-3
    # 400 chains resolve the committor to SE ~0.024: every kernel must land within 4 SE of the exact value
    for row in summary["rows"]:
        if row["kind"] == "committor":
            assert abs(row["z"]) < 4, row
    report = (folder / "report.md").read_text()
    assert "within 3 SE" in report and "double_well.png" in report
    assert (folder / "double_well.png").stat().st_size > 10_000


def test_bad_settings_are_refused_with_status_2(capsys):
    out = stabsim("run", "double-well", "--set", "kernels=adamw", "--no-progress")     # the real exit path
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    for setting in ("dims=3", "start=2.0", "temperature=-1"):
        assert refused_status(capsys, "double-well", setting) == 2, setting


@pytest.mark.slow   # 16 s; splitting against committors is also in tests/engine/test_splitting.py
def test_the_rare_row_matches_the_committor_by_splitting():
    # T = 0.1 from x0 = -0.9: p = committor ~ 1e-5; the row must lie within 4 SE of the exact value plus
    # the first-order discretisation allowance |first_order_discrete - exact| (the Euler step h = 0.01).
    from scenarios import double_well
    row = double_well.rare_committor_row(0.5, 0.1, 0.01, -0.9, 100, 10, seed=0, progress=False, precision="float32")
    value, low, high = row["measured"]
    se = (high - low) / (2 * 2.262)                       # the t-interval of 10 runs (t_0.975, 9 dof = 2.262)
    allowance = abs(row["first_order_discrete"] - row["exact"])
    assert 1e-7 < row["exact"] < 1e-3
    assert abs(value - row["exact"]) <= 4 * se + allowance, row
    assert row["method"] == "splitting" and row["work"] > 0 and row["kramers_time"] > 0


def test_bad_rare_settings_are_refused():
    import pytest
    from scenarios import double_well
    for bad in (dict(rare_start=-1.5), dict(rare_temperature=-0.1), dict(rare_runs=0)):
        with pytest.raises(ValueError, match="rare"):
            double_well.Settings(**bad)
