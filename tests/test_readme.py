"""The README is code: its ```python blocks run, its ```py fragments parse; so do those of the two
documents it links (scenarios/README.md, simulator/README.md).

Each document's ```python blocks run in order in one namespace, as a reader pasting them into one session would
run them, in a fresh process and an empty folder (their ``runs/...`` and ``out`` land there). A few
sizes are scaled down (``SCALED``: the README's text -> the size run here) so that the default run stays
short; the calls and the API path are the README's own. Each scaled text must still be in the README,
so editing a snippet cannot silently drop its scaling. ```py blocks are fragments (``sim.race(...)``,
names from earlier prose): they must at least parse.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, ROOT / "scenarios" / "README.md", ROOT / "simulator" / "README.md"]
SCALED = {
    # the pytree study: 500 chains -> 64
    'n = 500                                    # chains': 'n = 64                                     # chains',
    # the volume curve: 400 live points x 20 runs -> 100 x 4
    "n_live=400, n_runs=20)": "n_live=100, n_runs=4)",
    # the 1,600-move P_B measurement (about an hour on 2 cores) -> 4 moves, 2 runs x 10 live points
    "bf.Settings(pb_runs=8, pb_live=50), n_moves=1600": "bf.Settings(pb_runs=2, pb_live=10), n_moves=4",
    # splitting: 20 runs x 200 replicas -> 4 x 50
    "n_replicas=200, n_runs=20, max_steps=10**6": "n_replicas=50, n_runs=4, max_steps=10**6",
}


def blocks(kind: str, document: Path = README) -> list[tuple[int, str]]:
    """(line, code) of every ```kind block of ``document`` (indented blocks dedented)."""
    text = document.read_text()
    out = []
    for match in re.finditer(rf"^( *)```{kind}\n(.*?)^\1```$", text, re.S | re.M):
        indent = len(match.group(1))
        code = "\n".join(line[indent:] for line in match.group(2).splitlines())
        out.append((text[: match.start()].count("\n") + 1, code))
    return out


def test_every_scaled_text_is_in_a_document():
    text = "".join(document.read_text() for document in DOCUMENTS)
    missing = [old for old in SCALED if old not in text]
    assert not missing, f"the documents no longer hold {missing}: update SCALED in {__file__}"


FRAGMENTS = [(document.relative_to(ROOT).as_posix(), line, code) for document in DOCUMENTS
             for line, code in blocks("py", document)]


@pytest.mark.parametrize("name, line, code", FRAGMENTS, ids=[f"{n}:{line}" for n, line, _ in FRAGMENTS])
def test_each_fragment_parses(name, line, code):
    compile(code, f"{name} line {line}", "exec")


@pytest.mark.parametrize("document", DOCUMENTS[1:], ids=lambda d: d.parent.name)
def test_the_linked_documents_python_blocks_run(tmp_path, document):
    run_blocks(tmp_path, document)


def run_blocks(tmp_path, document):
    script = ["import warnings", "warnings.simplefilter('ignore')", "namespace = {}"]
    name = document.relative_to(ROOT).as_posix()
    for line, code in blocks("python", document):
        for old, new in SCALED.items():
            code = code.replace(old, new)
        script.append(f"print('{name} line {line}', flush=True)")
        script.append(f"exec(compile({code!r}, '{name} line {line}', 'exec'), namespace)")
    (tmp_path / "readme_blocks.py").write_text("\n".join(script))
    done = subprocess.run([sys.executable, "readme_blocks.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count(f"{name} line") == len(blocks("python", document))


def test_the_python_blocks_run_in_order(tmp_path):
    assert len(blocks("python")) >= 5
    run_blocks(tmp_path, README)
