"""The generalized-edges scenario end to end in-process (small settings), and its CLI entry."""
import pytest

from scenarios import generalized_edges as ge
from helpers import stabsim


@pytest.mark.slow   # 17 s; keeps the default suite under 15 min on 2 cores
def test_a_small_run_races_the_edge_against_the_triangle_and_draws_them_downstairs(tmp_path):
    settings, chains, steps = ge.Settings.resolve({"quick": True, "curve_live": 30, "curve_runs": 3,
                                                  "volume_samples": 50_000, "geometry_points": 150}, 150, 5000)
    summary = ge.run(settings, chains=chains, steps=steps, seed=0, out=tmp_path, progress=False)
    info = summary["per_edge"]["trapezoid"]
    assert info["dimension"] == {"edge": 8, "triangle": 4}          # X P = X Q = 0; three points: 16 - 12
    down = summary["downstairs"]
    assert {k: v["vertices"] for k, v in down.items()} == {"trapezoid": 4, "triangle": 3, "butterfly": 5,
                                                           "generalized triangle": 6}
    assert all(v["gl2_dimension"] == 0 for v in down.values())
    (row,) = summary["races"]
    assert sum(row["counts"].values()) == chains                    # every chain is counted
    for key in ("odds", "volume_ratio", "flux_ratio", "capacity_ratio"):
        value, low, high = row[key]
        assert low <= value <= high, (key, row[key])
    assert row["volume_ratio"][1] > 1              # the edge's tube is the bigger one at eps 0.3
    assert len(summary["hits"]["trapezoid-jump-eps0.3"]["edge"]) > 0
    report = (tmp_path / "report.md").read_text()
    assert "## Verdict" in report and "| generalized triangle | 4 |" in report
    for png in ("downstairs.png", "odds.png"):
        assert (tmp_path / png).stat().st_size > 10_000


@pytest.mark.parametrize("setting, words", [("edges=square", "edges"), ("eps=1.5", "eps"),
                                            ("curve_runs=1", "curve_runs")])
def test_bad_settings_are_refused(setting, words):
    with pytest.raises(ValueError, match=words):
        ge.Settings(**ge.Settings.parse(dict([setting.split("=")])))


def test_the_cli_lists_it():
    assert "generalized-edges" in stabsim("list").stdout
