#!/usr/bin/env bash
# Every registered feature backbone (fe2e and mesm: experiments/synth_raw_zsl_fear), zero-shot on 'fear' (held out of training), on the embedded generated
# MOSEI-format data: shared settings in config.json (at most 20 epochs, early stop 8, seed 0, CPU),
# each backbone at its default options with the paper's emotion head (dot product, linear maps).
# Run from the repository root: bash experiments/synth_mosei_zsl_backbones/run.sh
set -euo pipefail
here=experiments/synth_mosei_zsl_backbones
runs=runs/synth_mosei_zsl_backbones
[ -d data/synth-mosei ] || emozsl data synth --format mosei --size small --seed 0 data/synth-mosei
models=$(python -c "from emozsl.models import REGISTRY; print(*(b.name for b in REGISTRY.values() if b.inputs == 'features'))")
for model in $models; do
  [ -f "$runs/$model/results.json" ] && continue  # finished: keep it
  rm -rf "$runs/$model"  # an interrupted run starts again
  emozsl -q train --config "$here/config.json" --model "$model" --name "$model" > /dev/null
done
python experiments/results_table.py "$runs" "$here/results.md" $models
