"""The volumes scenario end to end (quick settings) through the command line."""
from helpers import quick_run, stabsim


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


def test_aoyagi_watanabe_branches():
    from scenarios.volumes import aoyagi_watanabe
    # Hand-evaluated. (3, 2, 2, 1): N+r=3 <= M+H=5, M+r=4 <= N+H=4, H+r=3 <= M+N=5, sum 8 even ->
    # (2*3*5 - 1 - 9)/8 = 2.5. (3, 2, 2, 2): M+r=5 > N+H=4 and N+H=4 < M+r=5 -> (HN - Hr + Mr)/2 =
    # (4 - 4 + 6)/2 = 3. (1, 1, 5, 1): M+H=2 < N+r=6 -> (HM - Hr + Nr)/2 = (1 - 1 + 5)/2 = 2.5.
    # (5, 1, 1, 1): N+H=2 < M+r=6 -> (1 - 1 + 5)/2 = 2.5. (2, 3, 2, 2): H+r=5 > M+N=4, no other
    # branch -> MN/2 = 2.
    assert aoyagi_watanabe(3, 2, 2, 1) == 2.5
    assert aoyagi_watanabe(3, 2, 2, 2) == 3.0
    assert aoyagi_watanabe(1, 1, 5, 1) == 2.5
    assert aoyagi_watanabe(5, 1, 1, 1) == 2.5
    assert aoyagi_watanabe(2, 3, 2, 2) == 2.0


def test_bad_settings_are_refused():
    import pytest
    from scenarios.volumes import Settings
    for bad, words in ((dict(cases=("banana",)), "cases"), (dict(n_runs=1), "n_runs"), (dict(n_live=0), "n_live")):
        with pytest.raises(ValueError, match=words):
            Settings(**bad)
    out = stabsim("run", "volumes", "--set", "cases=banana", "--no-progress")     # the CLI path: status 2
    assert out.returncode == 2 and "Traceback" not in out.stderr
