"""Shared bits of the benchmark scripts: machine description and result files."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import jax
    device = jax.devices()[0]
    return {"platform": device.platform, "device": str(device.device_kind),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "jax": jax.__version__, "date": time.strftime("%Y-%m-%d")}


def machine_tag() -> str:
    info = machine()
    return f"{info['platform']}-{info['cpu_count']}core" if info["platform"] == "cpu" else \
        info["device"].replace(" ", "_")


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{machine_tag()}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2))
    return path
