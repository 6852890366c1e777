"""The package's shape: a light import, no import cycles, imports at module top, public names kept."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "simulator"
# Heavy dependencies imported where they are used, so that `import simulator` stays light
# (arviz and xarray pull in matplotlib and pandas; numpyro is needed by nuts_occupation only).
DEFERRED = {"arviz", "xarray", "numpyro", "matplotlib"}     # heavy: imported where first used


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set:
    """Package modules that ``name`` imports at module level (explicit imports only)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in MODULES and m != name}


def test_import_simulator_loads_no_scenario_and_no_matplotlib():
    code = ("import sys, simulator; heavy = [m for m in ('scenarios', 'matplotlib', 'arviz', 'xarray', 'numpyro')"
            " if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import simulator loaded {out.stdout.strip()}"


def find_cycle(graph: dict) -> list | None:
    """One cycle of the directed graph {node: successors} as a list of nodes, or None."""
    done, stack = set(), []

    def visit(node):
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in done:
            return None
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt)
            if cycle:
                return cycle
        stack.pop()
        done.add(node)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def test_no_import_cycles():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    assert sum(map(len, graph.values())) > 50        # the parser sees the package's imports
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_check_can_fail(tmp_path):
    """A planted cycle is found, and the parser resolves relative imports to package modules."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    (tmp_path / "x.py").write_text("from ..result import RaceResult\nfrom . import block\n")
    assert imported_modules("simulator.engine.x", tmp_path / "x.py") == {"simulator.result",
                                                                        "simulator.engine.block"}


def test_no_function_level_imports_except_deferred_heavy_dependencies():
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import):
                        roots = {a.name.split(".")[0] for a in sub.names}
                    elif isinstance(sub, ast.ImportFrom):
                        roots = {"." if sub.level else sub.module.split(".")[0]}
                    else:
                        continue
                    if not roots <= DEFERRED:
                        offenders.append(f"{name}:{sub.lineno} {ast.unparse(sub)}")
    assert not offenders, offenders


def test_every_public_name_the_readme_uses_exists():
    """Each `sim.a.b` in the README and the documents it links resolves (attributes of the package, not
    strings in prose)."""
    import simulator as sim
    text = "".join((ROOT / name / "README.md").read_text() for name in (".", "scenarios", "simulator"))
    names = sorted(set(re.findall(r"\bsim\.([A-Za-z_][\w.]*[A-Za-z_0-9])", text)))
    assert len(names) > 10
    missing = []
    for dotted in names:
        obj = sim
        for part in dotted.split("."):
            if not hasattr(obj, part):
                # a method or field of a returned object (e.g. sim.race(...).probability) ends the chain
                if obj is sim or isinstance(obj, type(sim)):
                    missing.append(dotted)
                break
            obj = getattr(obj, part)
    assert not missing, missing


def test_old_names_still_work_with_a_deprecation_warning():
    import simulator as sim
    with pytest.warns(DeprecationWarning, match="sim.shapes"):
        assert sim.figures is sim.shapes
    with pytest.warns(DeprecationWarning, match="sim.laws"):
        assert sim.predictions is sim.laws


def test_no_public_function_shadows_a_module():
    """sim.volume_curve and sim.learning_coefficient were functions named as their own modules, so
    ``import simulator.volume_curve`` and ``sim.volume_curve`` meant two things (issue 37)."""
    import importlib.util
    import simulator as sim
    shadowing = [name for name in sim.__all__ if callable(getattr(sim, name))
                 and importlib.util.find_spec(f"simulator.{name}") is not None
                 and not isinstance(getattr(sim, name), type(sim))]
    assert not shadowing, shadowing


def test_the_code_passes_the_linter():
    """ruff (configured in pyproject.toml: lines <= 120, pyflakes' checks) over the whole checkout."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(ROOT)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
