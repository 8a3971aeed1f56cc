#!/usr/bin/env bash
# Audio that the procedural engine did not make, for judging the model outside its training
# distribution (docs/evaluation.md, "Non-procedural audio"). Needs sox and espeak-ng
# (Debian: apt-get install sox espeak-ng; macOS: brew install sox espeak-ng).
#   bash scripts/make_eval_audio.sh [OUT_DIR]     # default results/eval_audio
set -euo pipefail
export SOX_OPTS="-V1 -R"   # errors only; -R: repeatable noise and dither, so every build makes the same files
out="${1:-results/eval_audio}"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sr=44100

# One-shot sounds, made by sox's own synthesiser (not ours).
sox -n -r $sr -c 1 "$tmp/kick.wav"  synth 0.25 sine 150:40 fade q 0.002 0.25 0.2 gain -2
sox -n -r $sr -c 1 "$tmp/snare.wav" synth 0.18 whitenoise lowpass 6000 highpass 300 fade q 0.001 0.18 0.15 gain -6
sox -n -r $sr -c 1 "$tmp/hat.wav"   synth 0.05 whitenoise highpass 7000 fade q 0.001 0.05 0.04 gain -14
sox -n -r $sr -c 1 "$tmp/rest.wav"  synth 0.25 sine 100 vol 0

beat() {  # $1: the step file list for one 16-step bar at 120 BPM (a step = 0.125 s)
  local files=()
  for s in $1; do
    case $s in
      k) files+=("$tmp/kick.wav");; s) files+=("$tmp/snare.wav");; h) files+=("$tmp/hat.wav");; *) files+=("$tmp/rest.wav");;
    esac
  done
  local parts=()
  for f in "${files[@]}"; do
    local p="$tmp/step_${#parts[@]}_$RANDOM.wav"
    sox "$f" "$p" pad 0 1 trim 0 0.125
    parts+=("$p")
  done
  sox "${parts[@]}" "$tmp/bar_$2.wav"
}
beat "k h h h s h k h k h h h s h h h" a    # four-on-the-floor-ish
beat "k - h - s - h k - k h - s - h -" b    # broken beat
beat "- - - - - - - - - - - - - - - - " c   # silence (a break)

# 1. drums: 8 bars groove, 2 bars break, 8 bars broken beat, with a sox bass line under it
sox "$tmp/bar_a.wav" "$tmp/bar_a.wav" "$tmp/bar_a.wav" "$tmp/bar_a.wav" "$tmp/bar_a.wav" "$tmp/bar_a.wav" \
    "$tmp/bar_a.wav" "$tmp/bar_a.wav" "$tmp/bar_c.wav" "$tmp/bar_c.wav" \
    "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" \
    "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/drums.wav"
dur=$(soxi -D "$tmp/drums.wav")
sox -n -r $sr -c 1 "$tmp/bass.wav" synth "$dur" square 55 lowpass 300 tremolo 4 90 gain -16
sox -m "$tmp/drums.wav" "$tmp/bass.wav" "$out/sox_groove.wav" norm -1

# 2. speech over the broken beat (a voice is not in the training data at all)
espeak-ng -v en -s 150 -w "$tmp/voice.wav" \
  "Synesthete listens to the room. Every kick is a pulse, every snare a flash. Now the drums stop. And now they come back, louder than before."
sox "$tmp/voice.wav" -r $sr -c 1 "$tmp/voice44.wav"
vdur=$(soxi -D "$tmp/voice44.wav")
sox "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/bar_b.wav" \
    "$tmp/bar_b.wav" "$tmp/bar_b.wav" "$tmp/beat8.wav"
sox -m "$tmp/voice44.wav" "$tmp/beat8.wav" "$out/voice_over_beat.wav" trim 0 "$(python3 -c "print(max($vdur, 16))")" norm -1

# 3. plucked chords at 90 BPM with long silences, then the same through a small-room mic chain
parts=()
for chord in "220 277 330" "196 247 294" "175 220 262" "165 208 247"; do
  set -- $chord
  sox -n -r $sr -c 1 "$tmp/c_$1.wav" synth 1.33 pluck $1 synth 1.33 pluck mix $2 synth 1.33 pluck mix $3 gain -6
  parts+=("$tmp/c_$1.wav" "$tmp/rest.wav" "$tmp/rest.wav")
done
sox "${parts[@]}" "${parts[@]}" "$out/plucked_chords.wav" norm -1
sox "$out/sox_groove.wav" "$out/groove_through_room_mic.wav" gain -10 highpass 120 lowpass 7000 reverb 40 50 60 \
    norm -3
echo "wrote: $(ls "$out"/*.wav | tr '\n' ' ')"
