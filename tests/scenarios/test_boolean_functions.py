"""The boolean-functions scenario (stages 1-2) end to end in-process, small settings."""
from scenarios import boolean_functions as bf


def test_a_small_run_checks_the_perceptron_law_and_counts_the_prior(tmp_path):
    settings = bf.Settings(prior_samples=100_000, perceptron_samples=2 ** 16)
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
