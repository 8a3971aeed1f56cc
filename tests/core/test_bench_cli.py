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
