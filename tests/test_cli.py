"""The stabsim command line, end to end through a subprocess."""
import json
from pathlib import Path

import pytest

from helpers import stabsim


def test_list_names_the_annulus_scenario():
    out = stabsim("list")
    assert out.returncode == 0 and out.stdout.startswith("annulus")


def test_list_run_report_show(tmp_path):
    """The README path: list, run a small scenario, rebuild its report from the folder, show it."""
    listed = stabsim("list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) >= 5
    folder = tmp_path / "run"
    out = stabsim("run", "annulus", "--chains", "300", "--steps", "50000", "--set", "dims=2",
                  "--set", "scale=0.2", "--set", "trace_every=200", "--out", str(folder), "--no-progress")
    assert out.returncode == 0, out.stderr
    summary = json.loads((folder / "result.json").read_text())
    for row in summary["rows"]:
        assert sum(row["counts"].values()) == 300
        assert Path(folder / row["run"] / "result.json").is_file()
        assert Path(folder / row["run"] / "trace.nc").is_file()
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == ["cif_d2-bridge.png", "cif_d2-plain.png"]
    import arviz as az
    idata = az.from_netcdf(folder / "trace.nc")
    assert "d2-plain.residual_inner" in idata.posterior and idata.posterior.sizes["chain"] == 300
    # report rebuilds report.md and the plots from the folder, without rerunning
    for p in [folder / "report.md", *folder.glob("*.png")]:
        p.unlink()
    rebuilt = stabsim("report", str(folder))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (folder / "report.md").is_file() and sorted(p.name for p in folder.glob("*.png")) == pngs
    assert "cif_d2-plain.png" in (folder / "report.md").read_text()
    shown = stabsim("show", str(folder))
    assert shown.returncode == 0 and "P(inner first)" in shown.stdout


def test_report_on_a_damaged_summary_rewrites_nothing_and_says_so_in_one_line(tmp_path):
    # A result.json missing a key printed a KeyError traceback, after one plot had been rewritten from it
    # (issue 38.10); a binary result.json was not named by report or show.
    folder = tmp_path / "run"
    out = stabsim("run", "annulus", "--chains", "200", "--steps", "20000", "--set", "dims=2", "--set", "scale=0.2",
                  "--out", str(folder), "--no-progress")
    assert out.returncode == 0, out.stderr
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    summary = json.loads((folder / "result.json").read_text())
    for row in summary["rows"]:
        del row["counts"]
    (folder / "result.json").write_text(json.dumps(summary))
    damaged = stabsim("report", str(folder))
    assert damaged.returncode == 1 and len(damaged.stderr.strip().splitlines()) == 1, damaged.stderr
    assert "result.json" in damaged.stderr and "no file was rewritten" in damaged.stderr
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k != "result.json"} == {k: v for k, v in before.items()
                                                                        if k != "result.json"}
    assert not list(folder.glob(".report-*"))
    (folder / "result.json").write_bytes(b"\x80\x81 not text")
    for command in ("report", "show"):
        binary = stabsim(command, str(folder))
        assert binary.returncode == 1 and "result.json" in binary.stderr, binary.stderr   # a file, not usage


def test_every_command_has_help():
    for command in ([], ["list"], ["run"], ["report"], ["show"], ["bench"]):
        out = stabsim(*command, "--help")
        assert out.returncode == 0 and "usage" in out.stdout


def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys):
    # one case through a real process (the exit status crosses the process boundary), the rest in-process
    out = stabsim("run", "no-such-scenario")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    from simulator import cli
    for args in [("run", "annulus", "--set", "scale=abc"), ("run", "annulus", "--set", "colour=red"),
                 ("run", "annulus", "--chains", "0"), ("show", str(tmp_path)), ("report", str(tmp_path)),
                 ("bench", "nope")]:
        try:
            status = cli.main(list(args))
        except SystemExit as exit_:
            status = exit_.code
        err = capsys.readouterr().err
        assert status == 2, args
        assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("args", [
    ("run", "gl2-shapes", "--set", "jump_scale=inf"), ("run", "volumes", "--set", "localization=inf"),
    ("run", "annulus", "--set", "scale=nan"), ("run", "annulus", "--seed", "-1"),
    ("run", "volumes", "--set", "sgld_examples=1")])
def test_bad_settings_are_refused_before_the_scenario_starts(args, capsys, monkeypatch):
    # These were refused only after 25-58 s of a scenario's work (issue 38.11): now before its run() is called.
    from simulator import cli
    import scenarios.annulus, scenarios.gl2_shapes, scenarios.volumes    # noqa: E401 (the modules patched)
    for module in (scenarios.annulus, scenarios.gl2_shapes, scenarios.volumes):
        monkeypatch.setattr(module, "run", lambda *a, **k: pytest.fail("the scenario started"))
    assert cli.main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_run_help_lists_every_setting_with_type_and_default():
    out = stabsim("run", "gl2-shapes", "--help")
    assert out.returncode == 0, out.stderr
    assert "eps: float,... = 0.1,0.05,0.025" in out.stdout and "quick: bool = False" in out.stdout


def test_quick_never_overrides_or_skips_checking_an_explicit_setting(tmp_path):
    """--set quick=true with a bad explicit pair is refused (it used to run the quick pairs, exit 0)."""
    out = stabsim("run", "gl2-shapes", "--set", "quick=true", "--set", "pairs=segment:banana",
                  "--out", str(tmp_path / "run"))
    assert out.returncode == 2 and "pairs" in out.stderr and "banana" in out.stderr, out.stderr
    assert not (tmp_path / "run").exists()


def test_settings_resolve_keeps_explicit_values_over_quick_mode():
    from scenarios import gl2_shapes
    settings, chains, steps = gl2_shapes.Settings.resolve(
        gl2_shapes.Settings.parse({"quick": "true", "eps": "0.05,0.02"}), chains=1000, steps=50_000)
    assert settings.eps == (0.05, 0.02)                                   # given: kept
    assert settings.pairs == gl2_shapes.Settings.QUICK["pairs"]           # not given: quick value
    assert (chains, steps) == (200, 4000)


def test_every_registered_scenario_is_found_under_its_own_name():
    from simulator.cli import _scenarios
    found = _scenarios()
    assert len(found) == 8
    assert all(module.NAME == name and hasattr(module, "Settings") for name, module in found.items())


def test_ctrl_c_writes_a_checkpoint_says_how_to_resume_and_exits_130(tmp_path):
    """SIGINT during a checkpointed run: one line naming --resume, status 130, a consistent checkpoint
    (not done) from which --resume finishes the run."""
    import signal
    import subprocess
    import time
    # 100,000 chains: each race lasts seconds (20,000 took 1 s once the engine ran on the device, and the
    # run could end before the signal)
    args = ["run", "annulus", "--chains", "100000", "--steps", "200000", "--set", "dims=3", "--no-progress",
            "--checkpoint", str(tmp_path / "ck"), "--out", str(tmp_path / "run")]
    from helpers import INTERRUPTIBLE_CLI, cli_env
    env = cli_env()
    child = subprocess.Popen([*INTERRUPTIBLE_CLI, *args], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not list((tmp_path / "ck").glob("*/checkpoint.npz")) and time.time() < deadline:
        time.sleep(0.05)                      # the first race has saved (every 60 s, or at its end)
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    stderr = child.communicate(timeout=120)[1]
    assert child.returncode == 130, stderr
    assert stderr.strip().splitlines() == [f"stabsim: error: stopped; resume with --resume {tmp_path / 'ck'}"]
    resumed = stabsim(*args[:-4], "--resume", str(tmp_path / "ck"), "--out", str(tmp_path / "run"))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((tmp_path / "run" / "result.json").read_text())["rows"][0]["counts"]["censored"] == 0


def test_out_onto_a_non_empty_folder_needs_force(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("x")
    args = ["run", "annulus", "--chains", "50", "--steps", "2000", "--set", "dims=2", "--no-progress",
            "--out", str(tmp_path / "run")]
    refused = stabsim(*args)
    assert refused.returncode == 2 and "--force" in refused.stderr
    forced = stabsim(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "run" / "keep.txt").read_text() == "x"


def test_show_prints_the_summary_of_a_result_saved_from_python(tmp_path):
    import jax.numpy as jnp

    import simulator as sim
    targets = [sim.Target("in", lambda x: jnp.linalg.norm(x) - 0.5),
               sim.Target("out", lambda x: 2 - jnp.linalg.norm(x))]
    sim.race(sim.dynamics.random_walk(0.2), targets, jnp.array([1.0, 0.0]), n_chains=100, max_steps=5000,
             progress=False).save(tmp_path / "r")
    shown = stabsim("show", str(tmp_path / "r"))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith("outcome") and "censored" in shown.stdout


def test_list_aligns_its_columns_and_errors_name_the_setting():
    lines = stabsim("list").stdout.splitlines()
    starts = {len(line) - len(line.split("  ", 1)[1].lstrip()) for line in lines}
    assert len(lines) == 8 and len(starts) == 1, lines
    out = stabsim("run", "annulus", "--set", "scale=abc")
    assert out.returncode == 2 and "setting scale expects float, got 'abc'" in out.stderr, out.stderr


def test_resume_with_other_settings_is_refused_not_started_afresh(tmp_path, capsys):
    # Each race of a resumed run with another --set value had a new identity, found no checkpoint and started
    # afresh into the same folder (issue 38.11). run.json in the checkpoint folder records the run.
    from simulator import cli
    common = ["run", "annulus", "--chains", "100", "--steps", "2000", "--set", "dims=2", "--no-progress"]
    assert cli.main([*common, "--set", "scale=0.2", "--checkpoint", str(tmp_path / "ck"),
                     "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    resume = ["--resume", str(tmp_path / "ck")]
    assert cli.main([*common, "--set", "scale=0.3", *resume, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and err.count("\n") == 1, err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
    assert cli.main([*common, "--set", "scale=0.2", *resume, "--out", str(tmp_path / "c")]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("delay", [2.0, 4.0, 6.0, 9.0, 12.0])
def test_ctrl_c_at_any_moment_of_a_volume_run_exits_130_never_by_a_signal(tmp_path, delay):
    """Issue 38.7: Ctrl-C on ``stabsim run volumes --set quick=true --checkpoint DIR`` once ended in a
    segmentation fault (rc -11 in 3 of 8 tries). The delays span start-up, compilation and the curve (the
    quick run takes about 16 s on 2 cores). Status 0 is accepted only for a run that finished: a Ctrl-C that
    lands inside a garbage-collection callback (JAX's ``_xla_gc_callback``) is ignored by CPython."""
    import signal
    import subprocess
    import time
    from helpers import INTERRUPTIBLE_CLI, cli_env
    args = ["run", "volumes", "--set", "quick=true", "--no-progress", "--checkpoint", str(tmp_path / "ck"),
            "--out", str(tmp_path / "run")]
    child = subprocess.Popen([*INTERRUPTIBLE_CLI, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=cli_env())
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=300)
    assert child.returncode in (0, 130), (child.returncode, stderr[-2000:])
    if child.returncode == 130:
        # before the settings are read there is nothing to resume, and the line says only "stopped"
        assert stderr.strip().splitlines()[-1] in ("stabsim: error: stopped",
                                                   f"stabsim: error: stopped; resume with --resume {tmp_path / 'ck'}")
    else:
        assert (tmp_path / "run" / "result.json").is_file() and "results in" in stdout


def test_show_prints_a_volume_curve_saved_from_python(tmp_path):
    import jax.numpy as jnp
    import simulator as sim
    curve = sim.volume_curve([sim.Target("tube", lambda x: jnp.linalg.norm(x[:2]))], sim.space.gaussian(3),
                             eps=[1.0, 0.3], n_live=30, n_runs=3, progress=False)
    curve.save(tmp_path / "curve")
    shown = stabsim("show", str(tmp_path / "curve"))
    assert shown.returncode == 0 and shown.stdout.strip() == curve.summary(), shown.stderr
