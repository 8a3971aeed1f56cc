"""The weight average: an exponential moving average of the weights, with a warm-up, that the
trainer evaluates and ships when `optim.ema_decay` > 0, and that resumes exactly."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from synesthete.checkpoint import load_checkpoint, load_model
from synesthete_train.config import load_train_config
from synesthete_train.trainer import Trainer
from synesthete_train.weight_average import WeightAverage


def test_the_average_follows_the_weights_by_the_warmed_up_decay():
    net = nn.Linear(3, 2)
    net.register_buffer("count", torch.tensor(0))
    average = WeightAverage(net, decay=0.9)
    expected = net.weight.detach().clone()
    for t in range(200):
        with torch.no_grad():
            net.weight.add_(1.0)
            net.count += 1
        average.update(net)
        d = min(0.9, (1 + t) / (10 + t))
        expected = d * expected + (1 - d) * net.weight.detach()
    torch.testing.assert_close(average.model.weight, expected)
    assert average.updates == 200 and int(average.model.count) == 200  # integer buffers are copied
    # Weights that keep moving by 1 per step: once warmed up (t > 80) the average lags
    # decay / (1 - decay) = 9 steps behind.
    lag = (net.weight - average.model.weight).mean().item()
    assert 8.0 < lag < 10.0
    assert not any(p.requires_grad for p in average.model.parameters())


def test_the_first_update_mostly_forgets_the_initial_weights():
    net = nn.Linear(2, 2)
    average = WeightAverage(net, decay=0.999)
    with torch.no_grad():
        net.weight.fill_(1.0)
    average.update(net)  # decay_t = 0.1 at t = 0
    assert (average.model.weight - 1.0).abs().max() < 0.2


@pytest.mark.parametrize("decay", [1.0, -0.5])
def test_a_configured_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ValueError, match="optim.ema_decay must be in \\[0, 1\\)"):
        load_train_config(None, [f"optim.ema_decay={decay}"])


def test_an_average_with_no_decay_is_refused():
    # ema_decay = 0 means "no average": the trainer builds none, and WeightAverage refuses 0.
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        WeightAverage(nn.Linear(1, 1), 0.0)


def test_the_checkpoint_ships_the_average_and_resume_continues_both(tiny_cfg, tmp_path):
    cfg = replace(tiny_cfg, optim=replace(tiny_cfg.optim, ema_decay=0.5))
    straight = Trainer(replace(cfg, max_steps=4, out=str(tmp_path / "a")), progress=False)
    result = straight.fit()
    ckpt = load_checkpoint(result["checkpoint"])
    shipped = load_model(result["checkpoint"]).state_dict()
    for name, value in straight.average.model.state_dict().items():
        torch.testing.assert_close(shipped[name], value, msg=f"{name}: the checkpoint is not the average")
    live = ckpt["train_state"]["live_weights"]
    assert any(not torch.equal(live[k], shipped[k]) for k in live)  # the average is not the last weights
    assert ckpt["train_state"]["average_updates"] == 4

    Trainer(replace(cfg, max_steps=2, out=str(tmp_path / "b")), progress=False).fit()
    resumed = Trainer(replace(cfg, max_steps=4, out=str(tmp_path / "b")), resume=tmp_path / "b" / "last.pt",
                      progress=False)
    assert resumed.step == 2 and resumed.average.updates == 2
    resumed.fit()
    for which, a, b in (("model", straight.model, resumed.model),
                        ("average", straight.average.model, resumed.average.model)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=f"{which} {name} differs after resume")
