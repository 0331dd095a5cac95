#!/usr/bin/env bash
# FE2E and MESM (top_p 0.5, 0.7, 1.0) zero-shot on 'fear' (held out of training) on the generated raw
# data (`emozsl data synth --format raw`: wav files, face frames, transcripts): shared settings in
# config.json (at most 20 epochs, early stop 8, seed 0, CPU), default options otherwise (width 8,
# text encoder from scratch). Needs the media extra. Run from the repository root:
#   bash experiments/synth_raw_zsl_fear/run.sh
set -euo pipefail
here=experiments/synth_raw_zsl_fear
runs=runs/synth_raw_zsl_fear
[ -f data/synth-raw/utterances.csv ] || emozsl data synth --format raw --seed 0 data/synth-raw
declare -A options=([fe2e]="" [mesm_p0.5]="top_p=0.5" [mesm_p0.7]="top_p=0.7" [mesm_p1.0]="top_p=1.0")
names="fe2e mesm_p0.5 mesm_p0.7 mesm_p1.0"
for name in $names; do
  [ -f "$runs/$name/results.json" ] && continue  # finished: keep it
  model=${name%%_*}
  flags=()
  [ -n "${options[$name]}" ] && flags=(--option "${options[$name]}")
  emozsl -q train --config "$here/config.json" --model "$model" --name "$name" "${flags[@]}" > /dev/null
done
python experiments/results_table.py "$runs" "$here/results.md" $names --flops-seconds 2.2  # the mean utterance
