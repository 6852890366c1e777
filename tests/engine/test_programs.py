"""The program cache: a second race with the same functions compiles nothing; values are arguments."""
import jax
import jax.numpy as jnp
import numpy as np

import simulator as sim
from simulator.engine import programs

KERNEL = sim.dynamics.random_walk(0.2)


def inner(x):
    return jnp.linalg.norm(x) - 0.5


def outer(x):
    return 2.0 - jnp.linalg.norm(x)


def race(**changes):
    # compaction off: a race that compacts to a width not compiled yet compiles it (a new lane width)
    settings = dict(n_chains=300, max_steps=400, seed=0, progress=False, eps=0.0, start=[1.0, 0.0], compaction=False)
    settings.update(changes)
    eps, start = settings.pop("eps"), settings.pop("start")
    targets = [sim.Target("inner", inner, eps=eps), sim.Target("outer", outer)]   # new objects, same functions
    return sim.race(KERNEL, targets, jnp.array(start), **settings)


def test_a_second_call_compiles_nothing_and_values_are_arguments():
    first = race()
    again = race()
    assert again.work["compiles"] == 0 and again.work["compile_seconds"] == 0.0
    np.testing.assert_array_equal(first.outcome, again.outcome)
    np.testing.assert_array_equal(first.stop_step, again.stop_step)
    # seed, start, tolerance, budget and a nearby chain count (same capacity, 304) are values: nothing compiles
    for changes in (dict(seed=1), dict(start=[1.2, 0.3]), dict(eps=0.1), dict(max_steps=500), dict(n_chains=301)):
        other = race(**changes)
        assert other.work["compiles"] == 0, changes
    assert not np.array_equal(race(seed=1).stop_step, first.stop_step)        # and they do change the race
    assert race(eps=0.1).counts["inner"] > first.counts["inner"]


def test_clearing_the_cache_compiles_again():
    race()
    sim.clear_program_cache()
    assert programs.size() == 0
    assert race().work["compiles"] > 0


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(programs, "MAX_PROGRAMS", 2)
    for scale in (0.1, 0.2, 0.3):          # three kernels: three structures
        sim.race(sim.dynamics.random_walk(scale), [sim.Target("inner", inner)], jnp.array([1.0, 0.0]),
                 n_chains=20, max_steps=10, progress=False)
    assert programs.size() <= 2


class XlaCompiles:
    """Counts XLA backend compilations (eager operations included) through ``jax.monitoring``."""

    EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, name, seconds, **_):
        self.count += name == self.EVENT

    def during(self, call) -> int:
        before = self.count
        call()
        return self.count - before


WALK = sim.dynamics.lattice_walk(0.3)


def ruin_splitting(score, failure, target, n_runs=4, seed=0):
    return sim.splitting(WALK, [target], jnp.array([1.0]), n_replicas=40, n_runs=n_runs, max_steps=1000, seed=seed,
                         score=score, failure=failure, progress=False)


def test_splitting_and_volume_curves_compile_their_programs_only():
    """A second call compiles nothing at all; a first call with new functions compiles only its programs
    (splitting: setup, simulate, run; a volume curve: start, run), not one program per eager operation:
    the start-up used to run op by op, 62 and 31 XLA compilations on a first call in a fresh process."""
    xla = XlaCompiles()
    score, failure, target = (lambda x: x[0]), (lambda x: x[0] <= 0), sim.Target("hit", lambda x: 9.0 - x[0])
    ruin_splitting(score, failure, target)
    assert xla.during(lambda: ruin_splitting(score, failure, target, seed=1)) == 0
    score, failure, target = (lambda x: x[0]), (lambda x: x[0] <= 0), sim.Target("hit", lambda x: 9.0 - x[0])
    assert xla.during(lambda: ruin_splitting(score, failure, target, n_runs=6)) == 3      # other shapes too

    space = sim.space.gaussian(3)
    tube = [sim.Target("tube", lambda x: jnp.linalg.norm(x[:2]))]
    curve = lambda targets, n_runs=4, seed=0: sim.volume_curve(targets, space, eps=[1.0, 0.3], n_live=30,  # noqa: E731
                                                               n_runs=n_runs, seed=seed, progress=False)
    curve(tube)
    assert xla.during(lambda: curve(tube, seed=1)) == 0
    assert xla.during(lambda: curve([sim.Target("tube", lambda x: jnp.linalg.norm(x[:2]))], n_runs=6)) == 2
