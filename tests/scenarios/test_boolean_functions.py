"""The boolean-functions scenario (prior, SGD and P_B stages) end to end in-process, small settings."""
import math

import numpy as np
import pytest

from scenarios import boolean_functions as bf
from simulator import boolean


@pytest.mark.slow   # 7 min on 2 cores; its pieces are tested in tests/test_boolean.py and below
def test_a_small_run_checks_the_perceptron_law_and_counts_the_prior(tmp_path):
    settings = bf.Settings(prior_samples=100_000, perceptron_samples=2 ** 16, sgd_chains=200, optimizers=("adam",),
                           batch_sizes=(64,), pb_targets=("x1",), pb_functions=2, pb_runs=3, pb_live=20, pb_moves=20,
                           floor_functions=1, floor_moves=(5, 10))
    summary = bf.run(settings, chains=1, steps=1, seed=0, out=tmp_path, progress=False)
    warm = summary["warm_up"]
    assert warm["samples"] == 2 ** 16 and warm["chi_square_p"] > 1e-3     # P(t) = 2^-7 (Mingard et al. 2019)
    prior = summary["prior"]
    runs = prior["count_runs"]                                   # [count, functions with that count], descending
    assert sum(c * m for c, m in runs) == prior["samples"] == 100_000
    assert sum(m for _, m in runs) == prior["distinct"] and [c for c, _ in runs] == sorted({c for c, _ in runs})[::-1]
    constants = {tuple(t["code"]) for t in prior["top"][:2]}
    assert constants == {("0x0", "0x0"), ("0xffffffffffffffff", "0xffffffffffffffff")}
    assert all(t["lz"] == 7.0 for t in prior["top"][:2])                    # K_LZ of a constant: log2(128)
    for key in ("top10_mass", "top1000_mass"):
        value, low, high = prior[key]
        assert 0 < low <= value <= high < 1
    assert prior["top1000_mass"][0] >= prior["top10_mass"][0]
    report = (tmp_path / "report.md").read_text()
    assert "## Verdict" in report and "Not yet" in report and (tmp_path / "prior.png").stat().st_size > 10_000
    assert (tmp_path / "sgd.png").stat().st_size > 10_000 and "## SGD stopped at zero training error" in report

    races = {t["name"]: t["races"][0] for t in summary["sgd"]["targets"]}
    for race in races.values():                       # every chain is counted once: fit, censored, ...
        assert sum(race["counts"].values()) == race["chains"] == 200
        assert sum(f["count"] for f in race["top"]) <= race["counts"]["fit"]
    # A random target's 64 test bits are fair coins independent of S and of the learner, so the mean test error
    # has expectation 1/2 and, given the learner, SD <= 1/(2 sqrt 64) = 1/16 over the draw of the target; with
    # the chains' own SE (from the interval), 4 SE of both.
    value, low, high = races["random"]["test_error"]
    se = (high - low) / (2 * 1.97)
    assert abs(value - 0.5) <= 4 * math.hypot(1 / 16, se)
    # x1 generalizes: its error interval lies below the random target's, and its own test function is the most
    # frequent one at the stop (measured P_SGD 0.55; the next is 0.012). Wrong labels would put both at 1/2.
    assert races["x1"]["test_error"][2] < low
    top = races["x1"]["top"][0]
    assert top["test_error"] == 0.0 and races["x1"]["p_target"][0] == top["p_sgd"][0]

    # P_B of the two most frequent test functions: x1 itself (measured 0.37 at 8 runs x 50 live points) far above
    # one a test error away (measured 7e-4 to 3e-3), so even 3 runs x 20 live points order them.
    rows = summary["pb"]["functions"]
    assert rows[0]["test_errors"] == 0 < rows[1]["test_errors"] and rows[0]["code"] == races["x1"]["top"][0]["code"]
    assert all(0 <= r["p_b"][1] <= r["p_b"][0] <= r["p_b"][2] <= 1 for r in rows[:1])
    assert rows[0]["p_b"][0] > rows[1]["p_b"][0] and rows[0]["p_sgd"]["adam/64"] == races["x1"]["top"][0]["p_sgd"]
    assert summary["pb"]["agreement"]["adam/64"]["n"] == 2 and "## P_B(f|S) next to P_SGD(f|S)" in report
    assert (tmp_path / "pb.png").stat().st_size > 10_000

    # The floor stage measures the found-once function with the most test errors, next to 1 / fits.
    once = summary["sgd"]["targets"][0]["found_once"]
    assert once["fits"] == races["x1"]["counts"]["fit"]
    (row,) = summary["floor"]["functions"]
    assert row["code"] == once["functions"][0]["code"] and row["test_errors"] == once["functions"][0]["test_errors"]
    assert row["one_over_fits"][0] == 1 / once["fits"] and 0 <= row["p_b"][1] <= row["p_b"][0] <= row["p_b"][2] <= 1
    assert row["n_moves"] == 10 and [f["n_moves"] for f in row["fewer_moves"]] == [5]
    assert bf.doubling_check(row) in (True, False) and "## Below the sampling floor" in report


@pytest.mark.parametrize("change, words", [
    (dict(optimizers=("rmsprop",)), "optimizers"),
    (dict(train_size=1), "train_size"),
    (dict(batch_sizes=(0,)), "batch_sizes"),
    (dict(pb_targets=("parity",)), "pb_targets"),
    (dict(pb_runs=1), "pb_runs"),
    (dict(floor_targets=("parity",)), "floor_targets"),
    (dict(floor_moves=(0,)), "floor_moves"),
    (dict(floor_moves=(400, 200)), "floor_moves"),
])
def test_bad_settings_are_refused(change, words):
    with pytest.raises(ValueError, match=words):
        bf.Settings(**change)


def test_found_once_keeps_the_functions_seen_once_most_test_errors_first():
    # Planted stops on 8 test inputs, truth all zeros: each function's test errors is its number of ones.
    truth = np.zeros(8, np.uint8)
    bits = {"a": [1, 1, 1, 0, 0, 0, 0, 0], "b": [1, 0, 0, 0, 0, 0, 0, 0], "c": [1, 1, 1, 1, 1, 0, 0, 0],
            "d": [0, 0, 0, 0, 0, 0, 1, 1], "e": [0, 0, 0, 0, 0, 1, 1, 1]}
    stops = ["a", "b", "c", "c", "d", "e", "b"]            # seen once: a (3 errors), d (2), e (3)
    codes = boolean.encode(np.array([bits[k] for k in stops], np.uint8))
    out = bf.found_once(codes, truth, k=2)
    assert out["fits"] == 7 and out["seen_once"] == 3
    assert [f["test_errors"] for f in out["functions"]] == [3, 3]
    found = {tuple(boolean.decode(np.array([int(w, 16) for w in f["code"]], np.uint64), 8)) for f in out["functions"]}
    assert found == {tuple(bits["a"]), tuple(bits["e"])}          # c has 5 errors but was found twice
    assert [f["test_errors"] for f in bf.found_once(codes, truth, k=5)["functions"]] == [3, 3, 2]


def test_the_doubling_check_asks_for_overlapping_intervals_and_a_spread_within_its_limit():
    # Planted rows: a value passes where the interval at the previous move count overlaps its own and its runs'
    # spread is within the limit; a value measured at one count only is not checked (None), never passed.
    def row(p_b, spread, fewer):
        return {"p_b": p_b, "spread": spread, "spread_limit": 1.86,
                "fewer_moves": [{"n_moves": 200, "p_b": q} for q in fewer]}
    assert bf.doubling_check(row([1e-8, 5e-9, 2e-8], 1.2, [[3e-9, 1e-9, 6e-9]])) is True      # 6e-9 >= 5e-9
    assert bf.doubling_check(row([1e-8, 5e-9, 2e-8], 1.2, [[3e-9, 1e-9, 4e-9]])) is False     # rose past its interval
    assert bf.doubling_check(row([1e-8, 5e-9, 2e-8], 1.9, [[1e-8, 5e-9, 2e-8]])) is False     # spread above its limit
    assert bf.doubling_check(row([1e-8, 5e-9, 2e-8], 1.2, [])) is None
    assert bf.check_words(row([1e-8, 5e-9, 2e-8], 1.2, [])) == "not checked"
    assert bf.check_words(row([1e-8, 5e-9, 2e-8], 1.9, [[3e-9, 1e-9, 4e-9]])) == \
        "fails: intervals apart and spread above its limit"


def test_a_floor_saved_before_the_doubling_check_still_renders():
    # `stabsim report` rebuilds a saved folder: rows from before floor_moves became a tuple have one count, no
    # fewer_moves and no seen_once, and hold 1 / fits under the key "p_sgd"; they read "not checked" and never pass.
    row = {"target": "x1", "code": ["0x1"], "test_errors": 12, "p_b": [1e-10, 4e-11, 4e-10], "seconds": 692.0,
           "fit_volume": [7e-6, 4e-6, 1e-5], "extinct_runs": 0, "spread": 2.06, "spread_limit": 1.86, "fits": 16000,
           "p_sgd": [6.25e-5, 1.1e-5, 3.5e-4]}
    floor = {"functions": [row], "settings": {"n_runs": 8, "n_live": 50, "n_moves": 200}}
    text = "\n".join(bf.floor_report(floor))
    assert "x 200 moves" in text and "| 200 | — | not checked |" in text and "not saved in this folder" in text
    assert bf.doubling_check(row) is None and "0 of 1 have P_B below 1e-9" in bf.floor_verdict(floor)
    assert "1 / fits = 6.3e-05" in bf.floor_verdict(floor) and "| 6.25e-05 [1.1e-05, 0.00035] |" in text
