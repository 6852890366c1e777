"""Shared test setup.

The persistent compilation cache lets races of the same shape (same kernel,
targets and batch sizes, any seed) reuse compiled programs within the session, in
this process and (through STABSIM_CACHE) in the child processes the tests start.
"""
import os

import jax
import pytest


def pytest_configure(config):
    cache = config.cache.mkdir("jax-compilation-cache") if config.cache else None
    if cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        os.environ.setdefault("STABSIM_CACHE", str(cache))


@pytest.fixture
def no_compile(monkeypatch):
    """Fail the test if the engine gets as far as building (and so compiling) a block."""
    import simulator.engine.race as engine

    def refuse(*args, **kwargs):
        raise AssertionError("reached compilation; the input should have been refused before")

    monkeypatch.setattr(engine, "build_lane_functions", refuse)


@pytest.fixture
def ctrl_c():
    """SIGINT raises KeyboardInterrupt during the test, as in a user's terminal, even where the test run
    itself has SIGINT ignored (a shell script's background job; the engine respects an ignored SIGINT)."""
    import signal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
