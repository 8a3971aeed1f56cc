"""Where a hearing checkpoint's onset and chord errors come from, in numbers (docs/evaluation.md).

Hears held-out procedural songs (room mic and clean: what the augmentation costs) and, with
--dev-set, the dev set, and prints per stem and set:

* onset P / R / F (mir_eval, +-50 ms, after 4 s), read by the live EventDetector with the
  checkpoint's thresholds;
* the timing of detections against the nearest true hit, in frames (-3..+3): early, on the frame, late;
* what each false hit lands on: near a true hit of the same stem (a double), on another stem's
  onset (which one, the most common three), or on nothing;
* the head's mean onset value on the frames around a true hit (-2..+3): does it fire on the frame
  or ramp;
* chord root accuracy against the frames since the last chord change (causal lag vs steady-state
  errors) and the intervals of the wrong roots (+7 = a fifth above the truth, +9 = the relative minor's root).

With --mic-ablation it instead scores the songs (30 s, synesthete-eval's figures) clean, with each of
MicAugment's augmentations alone (the others off; its values drawn from the generator that
synesthete-eval uses for that song), and with all of them, exactly as synesthete-eval hears them:
what each part of the room mic costs.

    uv run --locked python scripts/hearing_diagnosis.py [--checkpoint CKPT] [--seeds 8] [--dev-set DIR]
    uv run --locked python scripts/hearing_diagnosis.py --mic-ablation --seed-base 30000 --seeds 48
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from synesthete.checkpoint import load_model
from synesthete.constants import STEMS
from synesthete.features import FeatureExtractor
from synesthete.hearing_evaluation import MIN_TIME_S, default_seeds, dev_set_items, procedural_items
from synesthete.model.hearing import to_music_state
from synesthete.music_events import detect_events, detector_config

SHOWN = ("kick", "snare", "hat_closed", "bass")
WINDOW_S = 0.05


def _match(ref: np.ndarray, est: np.ndarray) -> tuple[int, np.ndarray]:
    """(true hits found, per estimate its offset in s to the nearest true hit, inf when none)."""
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp = len(mir_eval.util.match_events(ref, est, WINDOW_S)) if len(ref) and len(est) else 0
    near = np.array([(e - ref[np.argmin(np.abs(ref - e))]) if len(ref) else np.inf for e in est])
    return tp, near


def onset_report(name: str, items, states, fps: float, cfg) -> None:
    print(f"\n== onsets, {name} ({len(items)} items)")
    print(f"{'stem':>10} {'P':>6} {'R':>6} {'F':>6}  offsets -3..+3 frames       false hits: double / other stem (top 3) / nothing"
          "   mean onset value, frames -2..+3 of a true hit")
    for stem in SHOWN:
        j = STEMS.index(stem)
        n_ref = n_est = n_tp = 0
        offsets: Counter = Counter()
        doubles = nothing = 0
        others: Counter = Counter()
        curve = []
        for item, state in zip(items, states):
            ref = item.truth.onsets[stem][0]
            ref = ref[ref >= MIN_TIME_S]
            if not len(ref):
                continue
            est = detect_events(state, fps, cfg).onsets[stem][0]
            est = est[est >= MIN_TIME_S]
            tp, near = _match(ref, est)
            n_ref, n_est, n_tp = n_ref + len(ref), n_est + len(est), n_tp + tp
            offsets.update(int(round(d * fps)) for d in near if abs(d) <= WINDOW_S)
            for e, d in zip(est, near):
                if abs(d) <= WINDOW_S:
                    continue
                if abs(d) <= 0.15:
                    doubles += 1
                    continue
                hit_by = [s for s in STEMS if s != stem and len(item.truth.onsets[s][0])
                          and np.min(np.abs(item.truth.onsets[s][0] - e)) <= WINDOW_S]
                others.update(hit_by) if hit_by else None
                nothing += not hit_by
            on = state.onset[:, j]
            for r in ref:
                f = int(np.ceil(r * fps - 1e-9)) - 1  # the first frame whose instant is at or after the hit
                if 2 <= f < len(on) - 3:
                    curve.append(on[f - 2: f + 4])
        p, r = n_tp / max(1, n_est), n_tp / max(1, n_ref)
        f1 = 2 * p * r / max(1e-9, p + r)
        hist = " ".join(f"{offsets.get(k, 0):>3}" for k in range(-3, 4))
        top = ",".join(f"{s} {c}" for s, c in others.most_common(3))
        mean_curve = " ".join(f"{v:.2f}" for v in np.mean(curve, axis=0)) if curve else "-"
        print(f"{stem:>10} {p:6.3f} {r:6.3f} {f1:6.3f}  [{hist}]  {doubles} / {sum(others.values())} ({top}) / {nothing}"
              f"   {mean_curve}")


def chord_report(name: str, items, states, fps: float) -> None:
    since_all, ok_all, wrong = [], [], Counter()
    for item, state in zip(items, states):
        truth = np.rint(item.truth_state.chord_root[: len(state)]).astype(int) % 12
        est = np.rint(state.chord_root).astype(int) % 12
        changes = np.flatnonzero(np.diff(truth) != 0) + 1
        idx = np.arange(len(truth))
        last = np.searchsorted(changes, idx, side="right") - 1
        since = np.where(last >= 0, idx - changes[np.maximum(last, 0)], 10**6)
        keep = state.time >= MIN_TIME_S
        since_all.append(since[keep])
        ok_all.append((est == truth)[keep])
        wrong.update(((est - truth) % 12)[keep & (est != truth)].tolist())
    since, ok = np.concatenate(since_all), np.concatenate(ok_all)
    print(f"\n== chord root, {name}: {ok.mean():.3f} of frames after 4 s")
    for lo, hi in ((0, 10), (10, 20), (20, 30), (30, 60), (60, 10**7)):
        m = (since >= lo) & (since < hi)
        label = f"{lo}-{hi}" if hi < 10**7 else f">={lo}"
        print(f"   {label:>7} frames after a change: {ok[m].mean() if m.any() else float('nan'):.3f} of {m.sum()} frames")
    total = max(1, len(ok))
    print("   wrong roots by interval above the truth (share of all frames): "
          + ", ".join(f"+{k} {c / total:.3f}" for k, c in sorted(wrong.items(), key=lambda kv: -kv[1])[:5]))


def hear_all(model, items) -> list:
    """The model's state on each item: `forward` over the clip (the live `step` gives the same)."""
    features = FeatureExtractor.for_model(model.cfg)
    states = []
    with torch.inference_mode():
        for item in items:
            fields = model.fields(features.extract(torch.from_numpy(np.asarray(item.audio, np.float32))[None]))
            states.append(to_music_state(fields, model.cfg.fps))
    return states


ABLATION_KEYS = ("beat_f", "downbeat_f", "onset_f/kick", "onset_f/snare", "onset_f/hat_closed", "onset_f/bass",
                 "chord_root_acc")


def mic_ablation(model, seeds: list[int], duration: float) -> None:
    """Mean figures over `seeds` clean, with each augmentation alone and with all (as synesthete-eval)."""
    from synesthete.audio.augment import P, MicAugment
    from synesthete.hearing_evaluation import MODEL_ROW, HearingItem, evaluate_hearing

    clean = procedural_items(model.cfg, seeds, duration, augment=False)
    print(f"\n== what each augmentation costs ({len(seeds)} songs from seed {seeds[0]}, {duration:g} s, after 4 s)")
    print(f"{'condition':>10} " + " ".join(f"{k.split('/')[-1][:10]:>10}" for k in ABLATION_KEYS))
    for name in ("clean", *P, "all"):
        items = clean
        if name != "clean":
            mic = MicAugment(model.cfg.sample_rate, dict(P) if name == "all" else {k: float(k == name) for k in P})
            # the generator synesthete-eval's procedural_items draws each song's room mic from
            items = [HearingItem(it.source, mic(it.audio, np.random.default_rng(seed)), it.truth, it.truth_state)
                     for seed, it in zip(seeds, clean)]
        rows = evaluate_hearing(model, items, baselines=False)[MODEL_ROW]
        means = [np.nanmean([np.nan if r.get(k) is None else r[k] for r in rows]) for k in ABLATION_KEYS]
        print(f"{name:>10} " + " ".join(f"{v:10.3f}" for v in means), flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per song (default 16; with --mic-ablation 30, synesthete-eval's)")
    p.add_argument("--dev-set", type=Path, default=None)
    p.add_argument("--mic-ablation", action="store_true",
                   help="score the songs clean, with each room-mic augmentation alone, and with all (30 s songs)")
    p.add_argument("--seed-base", type=int, default=None,
                   help="with --mic-ablation: the first seed (default: synesthete-eval's held-out songs)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.checkpoint, kind="hearing")
    if args.mic_ablation:
        seeds = (default_seeds(args.seeds) if args.seed_base is None
                 else list(range(args.seed_base, args.seed_base + args.seeds)))
        mic_ablation(model, seeds, args.duration or 30.0)
        return 0
    args.duration = args.duration or 16.0
    cfg, fps = detector_config(model.cfg), model.cfg.fps
    print("onset thresholds: " + ", ".join(f"{s} {t:.2f}" for s, t in zip(STEMS, cfg.stem_thresholds))
          if cfg.stem_thresholds else f"onset threshold: {cfg.onset_threshold} (every stem)")
    for name, augment in (("procedural, room mic", True), ("procedural, clean", False)):
        items = procedural_items(model.cfg, default_seeds(args.seeds), args.duration, augment=augment)
        states = hear_all(model, items)
        onset_report(name, items, states, fps, cfg)
        chord_report(name, items, states, fps)
    if args.dev_set is not None:
        items = dev_set_items(args.dev_set, model.cfg.sample_rate)
        onset_report("dev set", items, hear_all(model, items), fps, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
