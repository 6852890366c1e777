"""JAX's persistent compilation cache, on by default: a block compiled once is reused by later runs.

``race`` turns it on at its first call, in ``$STABSIM_CACHE`` (default
``~/.cache/stabsim/jax``), for programs that took at least 0.2 s to compile. It
leaves a cache directory that the user configured in JAX alone. Opt out with the
environment variable ``STABSIM_NO_CACHE=1`` (checked at each race).
"""
from __future__ import annotations

import os
from pathlib import Path

import jax

MIN_COMPILE_SECONDS = 0.2


def enable_persistent_cache() -> None:
    """Point JAX's persistent cache at stabsim's folder, unless opted out or already configured."""
    if os.environ.get("STABSIM_NO_CACHE") or jax.config.jax_compilation_cache_dir:
        return
    folder = Path(os.environ.get("STABSIM_CACHE", Path.home() / ".cache" / "stabsim" / "jax"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:          # a read-only home: run without the cache rather than fail
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
