"""The numbers every part of Synesthete agrees on, in one place.

The model's audio sample rate and frame rate are defaults for new models: a trained checkpoint
carries its own (see `synesthete.model.config`), and code that runs a model reads them from there.
"""

# Audio rate the model hears. 24 kHz is 48 kHz / 2 (the usual interface rate decimates cleanly)
# and keeps the mel front end cheap while still covering hats and cymbals up to 12 kHz.
SAMPLE_RATE = 24_000
# Allowed range for the procedural music engine.
MIN_SAMPLE_RATE = 16_000
MAX_SAMPLE_RATE = 48_000

# Model frames per second. The live window runs one model step per displayed frame, so this is
# also the default display rate; audio->frame latency stays under one frame period.
FPS = 60
# Frame rate at which the data benchmark reports (the figure the data engine is held to).
BENCH_FPS = 30

# Default training / teacher resolution (square), and the benchmark resolution for data.
TRAIN_SIZE = 64
BENCH_SIZE = 128

# Live window defaults.
WINDOW_SIZE = (1280, 720)
# Audio block (samples at the device rate) the live app's streams run at: 5.3 ms at 48 kHz, small
# enough for the frame loop to see fresh audio every frame, large enough for PortAudio/JACK.
BLOCK_SIZE = 256

# Held-out procedural songs are seeds HELD_OUT_SEED_BASE, +1, ... (synesthete-eval, the trainer's
# evaluation, the render benchmark). Training items are seeded through SeedSequence([seed, index]),
# a different space, so these songs are never trained on.
HELD_OUT_SEED_BASE = 10_000
# The hearing trainer's own held-out songs (seeds VALIDATION_SEED_BASE, +1, ...): the songs it picks
# its best checkpoint on, kept apart from the evaluation's so that choice does not fit the test set.
VALIDATION_SEED_BASE = 20_000

# Stems of the procedural music engine, in the order used by every per-stem tensor.
STEMS = ("kick", "snare", "hat_closed", "hat_open", "perc", "bass", "chords", "lead", "fx")
