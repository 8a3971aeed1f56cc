"""`synesthete-bench`: one CLI, one subcommand per benchmark part, plus `all`.

Parts are found through the `synesthete.bench` entry-point group, so the core lists its own parts
(data, model, render) and the apps add theirs (train, live, record) without the core importing
them. Each part's `register()` returns a `BenchPart`; its `run(args)` returns a flat dict of
figures. The CLI prints them as a table and writes them as a flat JSON object to `--json PATH`
and, by default, to a dated file under `results/`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

import torch

from synesthete.bench.part import BenchPart


def discover_parts() -> dict[str, BenchPart]:
    parts: dict[str, BenchPart] = {}
    for ep in entry_points(group="synesthete.bench"):
        try:
            part = ep.load()()
        except ImportError as e:  # an app that is not installed on this box (e.g. live on a trainer)
            print(f"synesthete-bench: part {ep.name!r} unavailable ({e})", file=sys.stderr)
            continue
        parts[part.name] = part
    order = ["data", "model", "train", "live", "render", "record"]
    return dict(sorted(parts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def machine_info(threads: int) -> dict[str, Any]:
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": threads,
    }


def format_table(figures: dict[str, Any]) -> str:
    width = max((len(k) for k in figures), default=10)
    lines = []
    for k, v in figures.items():
        if isinstance(v, float):
            text = f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
        else:
            text = str(v)
        lines.append(f"  {k:<{width}}  {text}")
    return "\n".join(lines)


def write_json(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def build_parser(parts: dict[str, BenchPart]) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="synesthete-bench",
        description="Measure Synesthete: data engine, models, training, live loop, render, recording. "
        "Each part prints a table and writes a flat JSON object of its figures.",
        epilog="Examples:\n  synesthete-bench data --quick\n  synesthete-bench model --json model.json\n"
        "  synesthete-bench all --quick   # every part, under two minutes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="part", required=True, metavar="PART")
    part_parsers: dict[str, argparse.ArgumentParser] = {}
    for part in list(parts.values()) + [BenchPart("all", "run every part in turn", lambda a: {})]:
        p = sub.add_parser(part.name, help=part.help, description=part.help)
        p.add_argument("--quick", action="store_true", help="short run (a full `all --quick` pass takes < 2 min)")
        p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the figures to PATH as flat JSON")
        p.add_argument("--results-dir", default="results",
                       help="folder for the dated JSON copy (default: results/); '' to skip")
        p.add_argument("--threads", type=int, default=None if part.name == "all" else part.threads,
                       help="torch CPU threads (default: " + ("each part's own" if part.name == "all" else
                                                              f"{part.threads}, as the measured app runs") + ")")
        if part.add_arguments is not None:
            part.add_arguments(p)
        part_parsers[part.name] = p
    return parser, part_parsers


def part_args(part_parser: argparse.ArgumentParser, shared: argparse.Namespace) -> argparse.Namespace:
    """`all` runs each part with its own defaults and the shared flags (--quick, --threads)."""
    args = part_parser.parse_args(["--quick"] if shared.quick else [])
    if shared.threads is not None:
        args.threads = shared.threads
    return args


def run_part(part: BenchPart, args: argparse.Namespace) -> dict[str, Any]:
    print(f"== {part.name}: {part.help}", flush=True)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    figures = part.run(args)
    figures = {"part": part.name, "quick": bool(args.quick), **figures,
               "bench_seconds": round(time.perf_counter() - t0, 2), **machine_info(args.threads)}
    print(format_table(figures), flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parts = discover_parts()
    parser, part_parsers = build_parser(parts)
    args = parser.parse_args(argv)
    selected = list(parts.values()) if args.part == "all" else [parts[args.part]]
    combined: dict[str, Any] = {}
    for part in selected:
        figures = run_part(part, part_args(part_parsers[part.name], args) if args.part == "all" else args)
        if args.part == "all":
            combined.update({f"{part.name}.{k}": v for k, v in figures.items()})
        else:
            combined = figures
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.json is not None:
        write_json(combined, args.json)
        print(f"wrote {args.json}")
    if args.results_dir:
        dated = Path(args.results_dir) / f"bench-{args.part}-{stamp}.json"
        write_json(combined, dated)
        print(f"wrote {dated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
