"""The looks' dev-set scores without the mp4 round trip, for comparing look or steady-state changes.

`scripts/looks_av_eval.sh` renders each piece to an mp4 at 640x360 and scores the decoded file,
scaled to 128 px high; this draws the same live path (the shipped hearing model, `Performer`,
preset default = rings, 30 fps: every other model frame) at 72x128, the metric's own scale, and
scores it with the same `score_clip` (AV-Align, its chance level, beat alignment against the MIDI
beats). ~15 s of CPU a piece; no video is encoded. On main at cc9dbc4 it read AV-Align 0.514
(chance 0.362) and beat alignment 0.519 on the six pieces where the full script read 0.490
(0.346) and 0.529: close, not the same figure (drawn small instead of scaled down from 640x360,
no h264). FFT bars are not scored here (the full script does).

    uv run --locked python scripts/looks_fast_eval.py                 # the six pieces of the table
    uv run --locked python scripts/looks_fast_eval.py all             # all pieces of the dev set
    uv run --locked python scripts/looks_fast_eval.py mma-bossa,freedink-18 --dev-set /work/dev_set
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SIX = "crimson-default liquidwar-colossus mma-barb mma-bossa pinball-hurd-intro planetblupi-002".split()
FPS = 30
SIZE = (72, 128)  # (h, w): the metric scales every video to 128 px high


def main() -> None:
    import cv2
    import torch

    from synesthete.audio_file import read_model_audio
    from synesthete.evaluation import chance_av_align, score_clip
    from synesthete.performer import Performer, load_hearing, usable_looks
    from synesthete.preset import find_preset, load_preset, preset_controls
    from synesthete.render import output_frame_picks, stream_frames

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pieces", nargs="?", default="six", help="'six' (default), 'all', or NAME,NAME,...")
    p.add_argument("--dev-set", type=Path, default=Path("results/dev_set"))
    p.add_argument("--preset", default="default")
    args = p.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.pieces == "six":
        pieces = SIX
    elif args.pieces == "all":
        pieces = [e["name"] for e in json.loads((args.dev_set / "index.json").read_text())["excerpts"]]
    else:
        pieces = args.pieces.split(",")
    hearing, _ = load_hearing(None)
    preset = load_preset(find_preset(args.preset, Path("presets")))
    sr = hearing.cfg.sample_rate
    hop = sr // FPS
    rows = []
    for name in pieces:
        audio = read_model_audio(args.dev_set / f"{name}.wav", sr)
        performer = Performer(hearing, render_size=SIZE)
        model_fps = float(performer.fps)
        controls = preset_controls(preset, usable_looks(hearing.cfg))
        shown = lambda i: output_frame_picks(model_fps, FPS, i, i + 1).size > 0  # noqa: E731
        frames = np.concatenate([b for _, b in stream_frames(performer, [audio], controls, draw=shown)])
        n = min(len(frames), len(audio) // hop)
        beats = np.asarray(json.loads((args.dev_set / f"{name}.json").read_text())["beats"])
        scores = score_clip(frames[:n], audio[: n * hop], sr, FPS, beats)
        f = scores.figures
        row = (f["av_align"], chance_av_align(scores, FPS), f["beat_align"], f["video_peaks"], f["audio_peaks"])
        rows.append(row)
        print(f"{name:22s} AV-Align {row[0]:.3f} (chance {row[1]:.3f})  beat align {row[2]:.3f}  "
              f"motion peaks {row[3]:.0f} / audio onset peaks {row[4]:.0f}", flush=True)
    m = np.mean(np.array(rows, float), axis=0)
    print(f"{'mean':22s} AV-Align {m[0]:.3f} (chance {m[1]:.3f}: {m[0] - m[1]:+.3f})  beat align {m[2]:.3f}  "
          f"motion peaks {m[3]:.0f} / {m[4]:.0f}")


if __name__ == "__main__":
    main()
