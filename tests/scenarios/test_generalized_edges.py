"""The generalized-edges scenario end to end (quick settings) through the command line."""
from helpers import quick_run


def test_quick_run_races_the_edge_against_the_triangle_and_draws_them_downstairs(tmp_path):
    folder, summary = quick_run(tmp_path, "generalized-edges", 90)
    info = summary["per_edge"]["trapezoid"]
    assert info["dimension"] == {"edge": 8, "triangle": 4}          # X P = X Q = 0; three points: 16 - 12
    down = summary["downstairs"]
    assert {k: v["vertices"] for k, v in down.items()} == {"trapezoid": 4, "triangle": 3, "butterfly": 5,
                                                           "generalized triangle": 6}
    assert all(v["gl2_dimension"] == 0 for v in down.values())
    (row,) = summary["races"]
    assert sum(row["counts"].values()) == summary["chains"]                  # every chain is counted
    for key in ("odds", "volume_ratio", "flux_ratio", "capacity_ratio"):
        value, low, high = row[key]
        assert low <= value <= high, (key, row[key])
    assert row["volume_ratio"][1] > 1              # the edge's tube is the bigger one at eps 0.3
    assert len(summary["hits"]["trapezoid-jump-eps0.3"]["edge"]) > 0
    report = (folder / "report.md").read_text()
    assert "## Verdict" in report and "| generalized triangle | 4 |" in report
    for png in ("downstairs.png", "odds.png"):
        assert (folder / png).stat().st_size > 10_000
