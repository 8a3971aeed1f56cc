"""`synesthete-bench all` gives every part its own options (regression: `all` crashed in `live`)."""

from __future__ import annotations

from synesthete.bench.cli import build_parser, discover_parts, part_args


def test_all_runs_each_part_with_its_own_defaults_and_the_shared_flags():
    parts = discover_parts()
    assert {"data", "model", "render"} <= set(parts)  # the core's parts; the apps add theirs
    parser, part_parsers = build_parser(parts)
    shared = parser.parse_args(["all", "--quick", "--threads", "1"])
    for name in parts:
        own = part_parsers[name].parse_args([])
        args = part_args(part_parsers[name], shared)
        assert set(vars(own)) <= set(vars(args)), name  # e.g. live's --soak and --seconds
        assert args.quick is True and args.threads == 1


def test_each_part_measures_at_its_apps_threads_unless_told():
    # synesthete-render runs 1 torch thread; its bench at 2 measured a render users do not get
    # (1.28x against 1.79x at 720p60 on 2 cores).
    from synesthete.render import RENDER_THREADS

    parts = discover_parts()
    parser, part_parsers = build_parser(parts)
    assert part_parsers["render"].parse_args([]).threads == RENDER_THREADS == 1
    assert part_parsers["model"].parse_args([]).threads == 2
    shared = parser.parse_args(["all", "--quick"])
    assert part_args(part_parsers["render"], shared).threads == RENDER_THREADS
    assert part_args(part_parsers["model"], shared).threads == 2
    assert part_args(part_parsers["render"], parser.parse_args(["all", "--threads", "3"])).threads == 3
