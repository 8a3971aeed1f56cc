#!/usr/bin/env bash
# Installs what Synesthete needs on a fresh machine, then syncs the uv workspace.
# System packages: FFmpeg's shared libraries (TorchCodec decodes audio and video files with them, and
# the tests write their audio fixtures through it; the mp4 writer, PyAV, brings its own FFmpeg) and
# its ffprobe (tests, synesthete-bench record),
# PortAudio (sounddevice), JACK (live tests),
# Xvfb (window tests, synesthete-bench live), ImageMagick (`import -window root`: screenshots of that
# window), sox and espeak-ng (scripts/make_eval_audio.sh: audio the engine did not make),
# fluidsynth and fluid-soundfont-gm (scripts/make_dev_set.py renders the hearing dev set from MIDI),
# timgm6mb-soundfont (synesthete-midi-pool renders the training pool of human-written MIDI with another
# soundfont than the dev set's), csound-soundfont, avldrums.lv2-soundfont and opl3-soundfont (more
# drum kits and GM sounds, none FluidR3's: synesthete-drum-bank, the pool's `--sounds varied`),
# mma (its groove library arranges the pool's `--mma-songs`).
# Debian/Ubuntu via apt-get, macOS via Homebrew (the first two only). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if command -v apt-get >/dev/null 2>&1; then
  for pkg in ffmpeg libportaudio2 jackd2 xvfb imagemagick sox espeak-ng fluidsynth fluid-soundfont-gm timgm6mb-soundfont \
             csound-soundfont avldrums.lv2-soundfont opl3-soundfont mma; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
  done
  if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing ${need_apt[*]}" >&2
    $SUDO apt-get update -qq
    # jackd2 asks a debconf question about real-time priority unless told not to.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
elif [ "$(uname)" = "Darwin" ] && command -v brew >/dev/null 2>&1; then
  for pkg in ffmpeg portaudio; do
    brew list "$pkg" >/dev/null 2>&1 || brew install "$pkg"
  done
else
  echo "setup: no apt-get or brew found; install FFmpeg (shared libs, for TorchCodec's decoding; ffprobe) and PortAudio yourself" >&2
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv" >&2
  python3 -m pip install --quiet uv
fi
# --compile-bytecode: .pyc files for everything installed, once. Where Python writes none itself
# (PYTHONDONTWRITEBYTECODE, as on this project's CI machines, or a read-only install) every start
# of an app or a test's subprocess otherwise compiles torch's sources again: ~2.3 s of a 4 s start.
uv sync --locked --quiet --compile-bytecode
