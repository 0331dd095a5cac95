#!/usr/bin/env bash
# Standard features of the generated raw data, zero-shot on 'fear', then 'anger' (held out of
# training): `emozsl data synth --format raw` -> `features extract` with word vectors (the GloVe rows
# written beside the table), openSMILE eGeMAPS and the OpenFace CSVs written beside each clip -> eea,
# mult and transformer_lf, default options, seed 0, CPU -> `eval`. Needs the media and opensmile extras. From the repository
# root; data and runs go under $WORK (default /tmp/synth_raw_features), the tables come back here:
#   bash experiments/synth_raw_features/run.sh
set -euo pipefail
WORK=${WORK:-/tmp/synth_raw_features}
HERE=experiments/synth_raw_features
mkdir -p "$WORK"
[ -f "$WORK/raw/utterances.csv" ] || emozsl data synth --format raw --seed 0 "$WORK/raw"
[ -f "$WORK/feats.h5" ] || emozsl features extract "$WORK/raw/utterances.csv" "$WORK/feats.h5" \
    --text "words:$WORK/raw/word_vectors.txt" --audio opensmile:egemaps --visual openface
emozsl data info "$WORK/feats.h5"
names=()
for target in fear anger; do
  for model in eea mult transformer_lf; do
    name=${model}_zsl_${target}_seed0
    [ -f "$WORK/runs/$name/results.json" ] || \
      emozsl -q train --data "$WORK/feats.h5" --model "$model" --zsl "$target" --device cpu --seed 0 \
        --runs-dir "$WORK/runs" > /dev/null
    emozsl eval "$WORK/runs/$name" --device cpu --out "$WORK/eval/$name"
    names+=("$name")
  done
done
python experiments/results_table.py "$WORK/runs" "$HERE/results.md" "${names[@]}"
