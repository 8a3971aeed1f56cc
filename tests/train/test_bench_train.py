"""`synesthete-bench train`: the network alone at the bench's threads, and the real trainer end to end."""

from __future__ import annotations

import argparse

import pytest
import torch


@pytest.mark.slow
def test_bench_reports_model_and_end_to_end_throughput_with_what_it_ran_on():
    from synesthete_train.bench_train import register

    part = register()
    assert part.name == "train"
    before = torch.get_num_threads()
    figures = part.run(argparse.Namespace(quick=True, threads=1))
    assert figures["default_clips_per_s"] > 0 and figures["default_params"] > 0
    assert figures["end_to_end_clips_per_s"] > 0 and figures["end_to_end_steps"] == 3
    # The end-to-end figure says what it depended on (precision, threads, data workers).
    assert "thread" in figures["precision"] and "data worker" in figures["precision"]
    torch.set_num_threads(before)  # the trainer sets the process's threads; leave the suite as it was
