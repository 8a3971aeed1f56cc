"""The package's import graph: no cycles, and no library module imports a CLI module.

Every import counts, at module level or inside a function: a lazy import only hides a cycle from
the interpreter, not from a reader. Imports under `if TYPE_CHECKING:` (annotations only) do not. The graph covers core (`synesthete`) and both apps
(`synesthete_live`, `synesthete_train`); a CLI module is one that a `[project.scripts]` entry point
names, or one named `cli.py` / `*_cli.py`. CLIs may import anything (the training pipeline drives
`synesthete-render`); a library module may not import a CLI.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"synesthete": ROOT / "synesthete", "synesthete_live": ROOT / "live" / "synesthete_live",
            "synesthete_train": ROOT / "train" / "synesthete_train"}
PYPROJECTS = (ROOT / "pyproject.toml", ROOT / "live" / "pyproject.toml", ROOT / "train" / "pyproject.toml")


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join((package, *parts))] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of `known` that `name` imports anywhere in its body (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):  # imports only for type checkers never run: no runtime dependency
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the submodule when there is one, else a name of pkg.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a known a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def cli_modules() -> set[str]:
    names = {m for m in _modules() if m.rsplit(".", 1)[-1] == "cli" or m.endswith("_cli")}
    for pyproject in PYPROJECTS:
        scripts = tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {})
        names |= {target.split(":")[0] for target in scripts.values()}
    return names


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    # Guards the checks below against an empty or misread graph (they would pass vacuously).
    graph = import_graph()
    assert "synesthete.audio_file" in graph["synesthete.render_cli"]
    assert "synesthete.model.config" in graph["synesthete.model"]  # `from synesthete.model.config import ...`
    assert "synesthete.frame_size" in graph["synesthete_live.cli"]  # across packages
    assert {"synesthete.render_cli", "synesthete_live.cli", "synesthete_train.pipeline"} <= cli_modules()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_library_module_imports_a_cli():
    clis = cli_modules()
    bad = sorted(f"{m} imports {c}" for m, deps in import_graph().items() if m not in clis for c in deps & clis)
    assert not bad, "library modules importing CLI modules: " + "; ".join(bad)


def test_core_imports_neither_app():
    bad = sorted(f"{m} imports {d}" for m, deps in import_graph().items() if m.split(".")[0] == "synesthete"
                 for d in deps if d.split(".")[0] != "synesthete")
    assert not bad, "; ".join(bad)
