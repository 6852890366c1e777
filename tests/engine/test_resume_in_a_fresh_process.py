"""A race checkpointed in one process resumes in a fresh process, for every kernel, bitwise.

Regression: the checkpoint identity hashed the optimizer's repr, which holds a function address, so
SGD/optax races were refused ("different configuration") in every new process, and scenarios silently
restarted them. Process 1 runs each race until its second checkpoint, then stops (an exception from
the third save, so the second stays); process 2 resumes each, and compares with an uninterrupted run.
"""
import subprocess
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)

FIRST = """
import sys
sys.path.insert(0, {tests!r})
import resume_cases, simulator as sim
from simulator.engine import checkpoint as ckpt
real = ckpt.save
calls = {{"n": 0}}
class Stop(Exception): pass
def stop_at_the_third(*args, **kwargs):
    calls["n"] += 1
    if calls["n"] == 3:
        raise Stop
    return real(*args, **kwargs)
ckpt.save = stop_at_the_third
for name, (kernel, targets, start) in resume_cases.cases().items():
    calls["n"] = 0
    try:
        sim.race(kernel, targets, start, checkpoint={root!r} + "/" + name, checkpoint_every=0.0,
                 **resume_cases.SETTINGS)
    except Stop:
        print(name, "stopped", flush=True)
"""

SECOND = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
import resume_cases, simulator as sim
from helpers import assert_same
for name, (kernel, targets, start) in resume_cases.cases().items():
    resumed = sim.race(kernel, targets, start, checkpoint={root!r} + "/" + name, resume=True,
                       **resume_cases.SETTINGS)
    assert resumed.work["blocks"] > 2, name
    assert_same(resumed, sim.race(kernel, targets, start, **resume_cases.SETTINGS))
    print(name, "equal", resumed.config["kernel"].get("optimizer", ""), flush=True)
"""


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


def test_every_kernel_resumes_bitwise_in_a_fresh_process(tmp_path):
    first = run(FIRST.format(tests=TESTS, root=str(tmp_path)))
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.count("stopped") == 10, first.stdout
    second = run(SECOND.format(tests=TESTS, root=str(tmp_path)))
    assert second.returncode == 0, second.stderr[-2000:]
    lines = second.stdout.splitlines()
    assert len(lines) == 10 and all(" equal" in line for line in lines), second.stdout
    assert any("scale_by_adam" in line and "step_size=-0.01" in line for line in lines), second.stdout
    assert " at 0x" not in second.stdout
