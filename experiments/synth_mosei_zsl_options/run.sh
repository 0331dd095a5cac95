#!/usr/bin/env bash
# Zero-shot options on the embedded generated MOSEI-format data: every held-out emotion x seeds
# 0, 1, 2, at most 40 epochs with early stopping (the paper's settings otherwise), on the CPU.
# Variants: baseline (today's head), label_words (--label-words mosei), weight_decay (1e-4, eea);
# baseline and label_words also on transformer_ef and self_attn. The calibrations are scored on
# every run's logits (report.py), so they need no training of their own.
# Run from the repository root: bash experiments/synth_mosei_zsl_options/run.sh
set -euo pipefail
here=experiments/synth_mosei_zsl_options
emozsl data synth --format mosei --size small --seed 0 data/synth-mosei
for variant in baseline label_words weight_decay; do
  OMP_NUM_THREADS=1 emozsl -q sweep "$here/$variant.toml"   # two one-thread workers on two cores
done
python "$here/report.py" runs/zsl_options
python "$here/bounds.py" runs/zsl_options/baseline
