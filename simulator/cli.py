"""The ``stabsim`` command line: list, run, report and show scenarios.

    stabsim list
    stabsim run SCENARIO [--set key=value ...] [--chains N] [--steps T] [--seed S]
                         [--out DIR] [--x64] [--no-progress] [--checkpoint DIR | --resume DIR]
    stabsim report DIR
    stabsim show DIR
    stabsim bench [NAME ...]          (from a checkout: runs benchmarks/NAME.py)

Bad input (an unknown scenario, a malformed --set) prints one line and exits
with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DEFAULT_CHAINS = 20_000
DEFAULT_STEPS = 200_000
DEFAULTS = {"chains": DEFAULT_CHAINS, "steps": DEFAULT_STEPS}


class UsageError(Exception):
    """A user error reported as one line with exit status 2."""


def _scenarios() -> dict:
    import scenarios
    return scenarios.available()


def _parse_settings(pairs, defaults: dict) -> dict:
    """Turn ``key=value`` strings into settings typed like their defaults."""
    settings = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        if key not in defaults:
            raise UsageError(f"--set: unknown setting {key!r}; known: {', '.join(defaults) or 'none'}")
        default = defaults[key]
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                value = text.lower() in ("true", "1")
            else:
                value = type(default)(text)
        except ValueError:
            raise UsageError(f"--set {key}: expected {type(default).__name__}, got {text!r}") from None
        settings[key] = value
    return settings


def _enable_compilation_cache():
    """Reuse compiled blocks across runs (``STABSIM_NO_CACHE=1`` turns this off)."""
    if os.environ.get("STABSIM_NO_CACHE"):
        return
    import jax
    cache = Path(os.environ.get("STABSIM_CACHE", Path.home() / ".cache" / "stabsim" / "jax"))
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def cmd_list(args):
    for name, module in _scenarios().items():
        print(f"{name:<16} {module.SUMMARY}")


def cmd_run(args):
    found = _scenarios()
    if args.scenario not in found:
        raise UsageError(f"unknown scenario {args.scenario!r}; known: {', '.join(found)}")
    module = found[args.scenario]
    settings = _parse_settings(args.set, module.SETTINGS)
    for name in ("chains", "steps"):
        if getattr(args, name) is None:       # the scenario's own default, else the global one
            setattr(args, name, getattr(module, f"DEFAULT_{name.upper()}", DEFAULTS[name]))
        if getattr(args, name) <= 0:
            raise UsageError(f"--{name} must be > 0")
    out = Path(args.out or Path("runs") / f"{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}")
    _enable_compilation_cache()
    if args.checkpoint and args.resume:
        raise UsageError("give --checkpoint DIR (a new run) or --resume DIR (continue one), not both")
    import contextlib

    from .engine.checkpoint import checkpointing
    root = args.checkpoint or args.resume
    saving = checkpointing(root, resume=bool(args.resume)) if root else contextlib.nullcontext()
    try:
        with saving:
            summary = module.run(chains=args.chains, steps=args.steps, seed=args.seed, out=out,
                                 progress=not args.no_progress,
                                 precision="float64" if args.x64 else "float32", **settings)
    except (ValueError, TypeError) as err:   # refused input, before any compilation
        raise UsageError(f"{args.scenario}: {err}") from None
    print((out / "report.md").read_text() if (out / "report.md").exists() else json.dumps(summary))
    print(f"results in {out}")


def _saved_summary(directory) -> tuple[dict, object]:
    """(result.json of a run folder, its scenario module), or a UsageError naming the problem."""
    path = Path(directory) / "result.json"
    if not path.is_file():
        raise UsageError(f"no result.json in {directory}")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON: {err}") from None
    found = _scenarios()
    name = summary.get("scenario")
    if name not in found:
        raise UsageError(f"{path} names no known scenario ({name!r}); known: {', '.join(found)}")
    return summary, found[name]


def cmd_report(args):
    summary, module = _saved_summary(args.directory)
    module.render(summary, Path(args.directory))
    print(f"rebuilt report.md and plots in {args.directory}")


def cmd_show(args):
    path = Path(args.directory)
    for name in ("report.md", "result.json"):
        if (path / name).is_file():
            print((path / name).read_text())
            return
    raise UsageError(f"no report.md or result.json in {path}")


BENCHMARKS = ("vs_numpy", "vs_blackjax", "compaction", "scaling", "memory")


def cmd_bench(args):
    """Run benchmark scripts from the checkout's benchmarks/ folder, each in its own process."""
    import subprocess
    folder = Path(__file__).resolve().parent.parent / "benchmarks"
    if not folder.is_dir():
        raise UsageError(f"no benchmarks/ folder next to the package ({folder}); run from a source checkout")
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise UsageError(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}")
    for name in names:
        print(f"== {name}", flush=True)
        status = subprocess.run([sys.executable, str(folder / f"{name}.py")], cwd=folder).returncode
        if status:
            raise UsageError(f"benchmark {name} failed with status {status}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stabsim", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the scenarios").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="run a scenario and write its results to a folder")
    run.add_argument("scenario")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="change a scenario setting")
    run.add_argument("--chains", type=int, help=f"chains per race (scenario default, else {DEFAULT_CHAINS})")
    run.add_argument("--steps", type=int, help=f"step budget (scenario default, else {DEFAULT_STEPS})")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", help="output folder (default runs/<scenario>-<timestamp>)")
    run.add_argument("--x64", action="store_true", help="float64 instead of float32")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--checkpoint", metavar="DIR",
                     help="checkpoint every race to DIR/<race hash> at block boundaries (every 60 s and at the end)")
    run.add_argument("--resume", metavar="DIR", help="continue a run checkpointed to DIR (same scenario and settings)")
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="rebuild report.md and the plots of a saved run (no rerun)")
    report.add_argument("directory")
    report.set_defaults(func=cmd_report)
    bench = sub.add_parser("bench", help="run the benchmark suite (or the named benchmarks) from a checkout")
    bench.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default all)")
    bench.set_defaults(func=cmd_bench)
    show = sub.add_parser("show", help="print the report of a saved run")
    show.add_argument("directory")
    show.set_defaults(func=cmd_show)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UsageError as err:
        print(f"stabsim: error: {err}", file=sys.stderr)
        return 2
    return 0


def run_scenario_script(name: str) -> None:
    """Entry point for ``python scenarios/<name>.py [options]``."""
    sys.exit(main(["run", name, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
