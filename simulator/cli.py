"""The ``stabsim`` command line: list, run, report and show scenarios.

    stabsim list
    stabsim run SCENARIO [--set key=value ...] [--chains N] [--steps T] [--seed S]
                         [--out DIR] [--x64] [--no-progress] [--checkpoint DIR | --resume DIR]
    stabsim report DIR
    stabsim show DIR
    stabsim bench [NAME ...]          (from a checkout: runs benchmarks/NAME.py)

Bad input (an unknown scenario, a malformed --set) prints one line and exits
with status 2; a runtime failure (an unwritable or unreadable file) one line and
status 1; Ctrl-C one line and status 130. ``stabsim --debug ...`` shows tracebacks.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path


from .engine.checkpoint import checkpointing
from .io.files import UnreadableFileError, atomic_write, writable_folder
from .io.registry import formats as result_formats
from .io.registry import load_result

DEFAULT_CHAINS = 20_000
DEFAULT_STEPS = 200_000
DEFAULTS = {"chains": DEFAULT_CHAINS, "steps": DEFAULT_STEPS}


class UsageError(Exception):
    """A user error reported as one line with exit status 2."""


SCENARIO_GROUP = "stabsim.scenarios"


def _scenarios() -> dict:
    """Scenario name -> module, from the ``stabsim.scenarios`` entry points (pyproject.toml).

    Other packages can add scenarios by declaring entry points in that group. An
    uninstalled checkout (no entry points) falls back to the ``scenarios`` package
    next to this one. Modules are loaded here, never at import time.
    """
    found = {ep.name: ep.value for ep in entry_points(group=SCENARIO_GROUP)}
    if not found:
        return importlib.import_module("scenarios").available()
    return dict(sorted((name, importlib.import_module(path)) for name, path in found.items()))


def _parse_settings(pairs, settings_type) -> dict:
    """{name: typed value} from ``key=value`` strings, typed by the scenario's ``Settings`` fields."""
    text = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        text[key] = value
    try:
        return settings_type.parse(text)
    except ValueError as err:
        raise UsageError(f"--set: {err}") from None


def settings_help(module) -> str:
    """The scenario's settings, one line each: name, type, default, what it does."""
    lines = [f"settings of {module.NAME} (--set NAME=VALUE; tuples as a,b,c):"]
    for name, kind, default, text in module.Settings.describe():
        lines += [f"  {name}: {kind} = {default}", f"      {text}"]
    return "\n".join(lines)


def cmd_list(args):
    found = _scenarios()
    width = max(map(len, found), default=0)
    for name, module in found.items():
        print(f"{name:<{width}}  {module.SUMMARY}")


def cmd_run(args):
    found = _scenarios()
    if args.scenario not in found:
        raise UsageError(f"unknown scenario {args.scenario!r}; known: {', '.join(found)}")
    module = found[args.scenario]
    given = _parse_settings(args.set, module.Settings)
    for name in ("chains", "steps"):
        if getattr(args, name) is None:       # the scenario's own default, else the global one
            setattr(args, name, getattr(module, f"DEFAULT_{name.upper()}", DEFAULTS[name]))
        if getattr(args, name) <= 0:
            raise UsageError(f"--{name} must be > 0")
    try:   # quick mode fills only the settings not given; every value is checked
        settings, args.chains, args.steps = module.Settings.resolve(given, args.chains, args.steps)
    except ValueError as err:
        raise UsageError(f"{args.scenario}: {err}") from None
    if not 0 <= args.seed < 2**32:       # refused by the first race otherwise, after the scenario's other work
        raise UsageError(f"--seed must be in [0, 2^32), got {args.seed}")
    if args.checkpoint and args.resume:
        raise UsageError("give --checkpoint DIR (a new run) or --resume DIR (continue one), not both")
    out = Path(args.out or Path("runs") / f"{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.is_dir() and any(out.iterdir()) and not (args.force or args.resume):
        raise UsageError(f"--out {out} is not empty; pass --force to write into it (files of the same name "
                         "are replaced), or --resume DIR to continue a checkpointed run")
    # Every output location is checked before the first race, so no finished race is lost to it.
    out = writable_folder("--out", out)
    root = args.checkpoint or args.resume
    if root:
        _check_resumed_run(Path(root), {"scenario": args.scenario, "settings": settings.as_dict(),
                                        "chains": args.chains, "steps": args.steps, "seed": args.seed,
                                        "x64": bool(args.x64)}, bool(args.resume))
    args.resume_hint = f"; resume with --resume {root}" if root else "; pass --checkpoint DIR to be able to resume"
    saving = checkpointing(root, resume=bool(args.resume)) if root else contextlib.nullcontext()
    try:
        with saving:
            summary = module.run(settings, chains=args.chains, steps=args.steps, seed=args.seed, out=out,
                                 progress=not args.no_progress,
                                 precision="float64" if args.x64 else "float32")
    except UnreadableFileError:
        raise
    except (ValueError, TypeError) as err:   # refused input, before any compilation
        raise UsageError(f"{args.scenario}: {err}") from None
    print((out / "report.md").read_text() if (out / "report.md").exists() else json.dumps(summary))
    print(f"results in {out}")


def _saved_summary(directory) -> tuple[dict, object]:
    """(result.json of a run folder, its scenario module), or a UsageError naming the problem."""
    path = Path(directory) / "result.json"
    if not path.is_file():
        raise UsageError(f"no result.json in {directory}")
    summary = _read_json(path)
    found = _scenarios()
    name = summary.get("scenario")
    if name not in found:
        raise UsageError(f"{path} names no known scenario ({name!r}); known: {', '.join(found)}")
    return summary, found[name]


def _check_resumed_run(root: Path, run: dict, resume: bool) -> None:
    """``root/run.json`` records what was checkpointed to ``root``; ``--resume`` with other values is refused
    (each race would find no checkpoint of its new identity and silently start afresh into the folder)."""
    if root.exists() and not root.is_dir():
        return          # refused with the checkpoint folder's own message when the run starts
    path = root / "run.json"
    if resume and path.is_file():
        saved = _read_json(path)
        changed = sorted(key for key in run if saved.get(key) != json.loads(json.dumps(run[key])))
        if changed:
            raise UsageError(f"--resume {root}: the run saved there has other {', '.join(changed)} ({path}); "
                             "resume with the same scenario, --set values, --chains, --steps and --seed")
    elif not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(json.dumps(run, indent=2).encode()))


def cmd_report(args):
    """Render into a hidden folder beside the run (its subfolders linked in), then move the new files over
    the old ones: a summary that cannot be rendered leaves every file as it was (one plot of a damaged
    summary was rewritten before the KeyError)."""
    directory = Path(args.directory)
    summary, module = _saved_summary(directory)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".report-") as tmp:
        tmp = Path(tmp)
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.name.startswith(".report-"):
                (tmp / entry.name).symlink_to(entry.resolve(), target_is_directory=True)
        try:
            module.render(summary, tmp)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise UnreadableFileError(f"{directory / 'result.json'} cannot be rendered (damaged, or written by another "
                             f"version): {type(err).__name__}: {err}; no file was rewritten") from None
        for made in tmp.iterdir():
            if made.is_file() and not made.is_symlink():
                os.replace(made, directory / made.name)
    print(f"rebuilt report.md and plots in {args.directory}")


def cmd_show(args):
    """A result saved from Python (any kind's ``save``): its summary; a scenario's run: its report."""
    path = Path(args.directory)
    if (path / "result.json").is_file() and _read_json(path / "result.json").get("format") in result_formats():
        print(load_result(path).summary())
        return
    for name in ("report.md", "result.json"):
        if (path / name).is_file():
            print((path / name).read_text())
            return
    raise UsageError(f"no report.md or result.json in {path}")


def _read_json(path: Path) -> dict:
    """A result.json as a dict, or an UnreadableFileError naming the file (exit status 1)."""
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UnreadableFileError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(summary, dict):
        raise UnreadableFileError(f"{path} holds no JSON object")
    return summary


BENCHMARKS = ("vs_numpy", "vs_blackjax", "vs_optax_loop", "splitting", "volumes", "compaction", "scaling", "memory")


def cmd_bench(args):
    """Run benchmark scripts from the checkout's benchmarks/ folder, each in its own process."""
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


def build_parser(run_epilog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stabsim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the scenarios").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="run a scenario and write its results to a folder", epilog=run_epilog,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("scenario")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="change a scenario setting")
    run.add_argument("--chains", type=int, help=f"chains per race (scenario default, else {DEFAULT_CHAINS})")
    run.add_argument("--steps", type=int, help=f"step budget (scenario default, else {DEFAULT_STEPS})")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", help="output folder (default runs/<scenario>-<timestamp>)")
    run.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
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


def _run_epilog(argv) -> str | None:
    """For ``stabsim run SCENARIO --help``: that scenario's settings table."""
    if len(argv) >= 2 and argv[0] == "run" and ("-h" in argv or "--help" in argv):
        found = _scenarios()
        if argv[1] in found:
            return settings_help(found[argv[1]])
    return "stabsim run SCENARIO --help lists the scenario's settings"


def main(argv=None) -> int:
    """Run one command. Exit status: 0 done, 2 bad usage or refused input, 1 a runtime failure
    (a file that cannot be written or read), 130 stopped by Ctrl-C. Each is one line on stderr;
    ``--debug`` shows the traceback instead."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_run_epilog(argv)).parse_args(argv)
    try:
        args.func(args)
    except UsageError as err:
        return _fail(args, err, 2)
    except (OSError, ValueError, TypeError, RuntimeError) as err:
        return _fail(args, err, 1)
    except KeyboardInterrupt as err:
        return _fail(args, err, 130, "stopped" + getattr(args, "resume_hint", ""))
    return 0


def _fail(args, err, status: int, message: str | None = None) -> int:
    if args.debug:
        raise err
    print(f"stabsim: error: {message or err}", file=sys.stderr)
    return status


def run_scenario_script(name: str) -> None:
    """Entry point for ``python scenarios/<name>.py [options]``."""
    sys.exit(main(["run", name, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
