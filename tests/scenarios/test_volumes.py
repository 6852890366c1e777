"""The volumes scenario end to end (quick settings) through the command line."""
import pytest

from helpers import quick_run, stabsim


@pytest.mark.slow   # a full quick run through the CLI (30-45 s without a compilation cache); -m slow runs it
def test_quick_run_measures_the_exact_exponents(tmp_path):
    folder, summary = quick_run(tmp_path, "volumes", 90)
    rows = {r["case"]: r for r in summary["rows"]}
    assert set(rows) == {"tube", "sum-of-powers", "normal-crossing", "reduced-rank"}
    for name in ("tube", "sum-of-powers", "normal-crossing"):
        value, low, high = rows[name]["exponent"]
        se = (high - low) / (2 * 1.96)               # the resampling interval's standard error
        assert abs(value - rows[name]["exact_exponent"]) <= 4 * se, rows[name]
        assert rows[name]["max_abs_z"] < 4           # every volume of the curve within 4 SE of the exact one
    assert rows["reduced-rank"]["exact_exponent"] == 2.5        # Aoyagi-Watanabe for (M, H, N, r) = (3, 2, 2, 1)
    assert "sgld" in rows["sum-of-powers"] and "sgld" in rows["reduced-rank"]
    report = (folder / "report.md").read_text()
    assert "## Verdict" in report and (folder / "volume_curves.png").stat().st_size > 10_000


def test_bad_settings_are_refused():
    import pytest
    from scenarios.volumes import Settings
    for bad, words in ((dict(cases=("banana",)), "cases"), (dict(n_runs=1), "n_runs"), (dict(n_live=0), "n_live")):
        with pytest.raises(ValueError, match=words):
            Settings(**bad)
    out = stabsim("run", "volumes", "--set", "cases=banana", "--no-progress")     # the CLI path: status 2
    assert out.returncode == 2 and "Traceback" not in out.stderr
