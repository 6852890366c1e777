"""Helpers shared by the tests (tests import this module, never each other)."""
import json
import os
import subprocess
import sys
import time

import numpy as np

import simulator as sim

# A heavy-tailed race (most chains stop early, a few run long) with refills, compaction and a trace:
# a unit random walk from 1 to 0 or to a wall at 300.
HEAVY_TAILED_TARGETS = [sim.Target("zero", lambda x: x[0]), sim.Target("wall", lambda x: 300.0 - x[0])]
HEAVY_TAILED = sim.dynamics.random_walk(1.0)
# A heavy-tailed race (most chains stop early, a few run long) with refills, compaction and a trace.
HEAVY_TAILED_SETTINGS = dict(n_chains=20_000, max_steps=100_000, seed=0, progress=False, batch_size=4096,
                             trace_every=500)


def assert_same(a, b):
    np.testing.assert_array_equal(a.outcome, b.outcome)
    np.testing.assert_array_equal(a.stop_step, b.stop_step)
    assert set(a.state) == set(b.state)
    for k in a.state:
        np.testing.assert_array_equal(a.state[k], b.state[k])
    assert (a.trace is None) == (b.trace is None)
    for k in a.trace or {}:
        np.testing.assert_array_equal(a.trace[k], b.trace[k])


def cli_env() -> dict:
    """The environment of a `stabsim` child process: the session's compilation cache (conftest sets
    STABSIM_CACHE to pytest's cache folder, so the user's is left alone and one process's programs are the
    next one's)."""
    return {k: v for k, v in os.environ.items() if k != "STABSIM_NO_CACHE"}


# ``stabsim`` as a user's terminal starts it: SIGINT raises KeyboardInterrupt. A test run may itself have
# SIGINT ignored (a shell script's background job), which children inherit and the CLI then respects.
INTERRUPTIBLE_CLI = [sys.executable, "-c",
                     "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                     "from simulator.cli import main; sys.exit(main(sys.argv[1:]))"]


def stabsim(*args, cwd=None):
    env = cli_env()
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def refused_status(capsys, scenario, setting) -> int:
    """``stabsim run SCENARIO --set SETTING`` in this process (no 3 s child start-up): its exit status, after
    checking that stderr holds one ``stabsim: error`` line and no traceback. The real exit path of a child
    process stays covered by the double-well, volumes and learning-scenario tests that call ``stabsim``."""
    from simulator import cli
    status = cli.main(["run", scenario, "--set", setting, "--no-progress"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("stabsim: error:"), (scenario, setting, err)
    return status


def quick_run(tmp_path, scenario, seconds, *extra):
    """``stabsim run SCENARIO --set quick=true [extra args]`` into tmp_path/run; returns (folder, summary)."""
    folder = tmp_path / "run"
    began = time.perf_counter()
    out = stabsim("run", scenario, "--set", "quick=true", *extra, "--out", str(folder), "--no-progress")
    elapsed = time.perf_counter() - began
    assert out.returncode == 0, out.stderr
    assert elapsed < seconds, f"{scenario} --set quick=true took {elapsed:.0f} s (limit {seconds} s)"
    return folder, json.loads((folder / "result.json").read_text())
