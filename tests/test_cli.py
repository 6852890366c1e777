"""The stabsim command line, end to end through a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path


def stabsim(*args, cwd=None):
    env = {**os.environ, "STABSIM_NO_CACHE": "1"}   # leave the user's compilation cache alone
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_list_names_the_annulus_scenario():
    out = stabsim("list")
    assert out.returncode == 0 and out.stdout.startswith("annulus")


def test_run_then_show(tmp_path):
    folder = tmp_path / "run"
    out = stabsim("run", "annulus", "--chains", "300", "--steps", "50000", "--set", "dims=2",
                  "--set", "scale=0.2", "--out", str(folder), "--no-progress")
    assert out.returncode == 0, out.stderr
    summary = json.loads((folder / "result.json").read_text())
    for row in summary["rows"]:
        assert sum(row["counts"].values()) == 300
        assert Path(folder / row["run"] / "result.json").is_file()
    assert (folder / "report.md").is_file()
    shown = stabsim("show", str(folder))
    assert shown.returncode == 0 and "P(inner first)" in shown.stdout


def test_bad_input_is_one_line_and_exit_status_2(tmp_path):
    for args in [("run", "no-such-scenario"), ("run", "annulus", "--set", "scale=abc"),
                 ("run", "annulus", "--set", "colour=red"), ("run", "annulus", "--chains", "0"),
                 ("show", str(tmp_path))]:
        out = stabsim(*args)
        assert out.returncode == 2, args
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
