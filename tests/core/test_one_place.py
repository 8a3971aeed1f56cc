"""Numbers and parsers that every part must agree on live in one place: a WxH size is parsed only by
`synesthete.frame_size`, the audio block size and the held-out seed bases come only from
`synesthete.constants`. An AST scan of the three packages finds a second copy the moment it lands."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "synesthete", ROOT / "live" / "synesthete_live", ROOT / "train" / "synesthete_train")
CONSTANTS = ROOT / "synesthete" / "constants.py"
SIZE_PARSER = ROOT / "synesthete" / "frame_size.py"


def modules():
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_only_frame_size_parses_a_wxh_size():
    found = [where(p, n) for p, tree in modules() if p != SIZE_PARSER for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "split"
             and n.args and isinstance(n.args[0], ast.Constant) and n.args[0].value == "x"]
    assert not found, f"WxH parsed outside synesthete/frame_size.py: {found}"


def _literal_defaults(tree: ast.AST, names: set[str]):
    """(node, value) for every int literal given to a parameter or keyword named in `names`."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + node.args.kw_defaults
            for arg, default in zip(args, defaults):
                if arg.arg in names and isinstance(default, ast.Constant) and isinstance(default.value, int):
                    yield default, default.value
        elif isinstance(node, ast.keyword) and node.arg in names and isinstance(node.value, ast.Constant):
            yield node.value, node.value.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id in names \
                and isinstance(node.value, ast.Constant):
            yield node.value, node.value.value


def test_the_block_size_comes_from_constants():
    found = [where(p, n) for p, tree in modules() if p != CONSTANTS
             for n, v in _literal_defaults(tree, {"block_size", "blocksize"}) if isinstance(v, int)]
    assert not found, f"a block size written out instead of constants.BLOCK_SIZE: {found}"


def _seed_literals(tree: ast.AST):
    """(node, value) of int literals >= 1000 given to anything named *seed* (a seed base written out)."""
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.Assign):
            pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            pairs = [(node.target.id, node.value)]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + node.args.kw_defaults
            pairs = [(a.arg, d) for a, d in zip(args, defaults)]
        for name, value in pairs:
            if "seed" in name.lower() and isinstance(value, ast.Constant) and type(value.value) is int \
                    and value.value >= 1000:
                yield value, value.value


def test_held_out_seed_bases_come_from_constants():
    found = [where(p, n) for p, tree in modules() if p != CONSTANTS for n, _ in _seed_literals(tree)]
    assert not found, f"a held-out seed base written out instead of taken from constants: {found}"


def test_the_scan_sees_what_it_looks_for():
    tree = ast.parse('def f(block_size: int = 256): "1x2".split("x")\nSEED = 10_000\nopen(blocksize=128)\n')
    assert [v for _, v in _literal_defaults(tree, {"block_size", "blocksize"})] == [256, 128]
    assert [v for _, v in _seed_literals(tree)] == [10_000]
