"""`BenchPart`: what a benchmark part registers with `synesthete-bench`.

Parts live in the core (data, model, render) and in the apps (train, live, record) and are found
through the `synesthete.bench` entry-point group; each module's `register()` returns one. It sits
apart from the CLI so that a part (a library module) never imports a CLI module.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class BenchPart:
    name: str
    help: str
    run: Callable[[argparse.Namespace], dict[str, Any]]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    threads: int = 2  # torch threads by default: the measured app's own where it has one (render: 1)
