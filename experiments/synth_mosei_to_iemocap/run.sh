#!/usr/bin/env bash
# Cross-corpus zero-shot on generated data: a run trained on (generated) MOSEI scores the
# (generated) IEMOCAP 9-class test split by emotion name. From the repository root, with emozsl
# installed (pip install -e .). Data and runs go under $WORK (default /tmp/xc), not the repository.
# About 15 min on a 2-core CPU (the training dominates); see README.md.
set -euo pipefail
WORK=${WORK:-/tmp/xc}
HERE=experiments/synth_mosei_to_iemocap
mkdir -p "$WORK/D"

# 1. Data (seed 0 for both: the generators share their hidden maps, so transfer is learnable)
emozsl data synth --format mosei --size full "$WORK/D/mosei"
emozsl data synth --format iemocap "$WORK/D/iemocap"   # iemocap_data.pkl (4 classes) and iemocap9/ (9 classes)
# the 9-class folder holds pickles: a pickle-free HDF5 copy, so nothing below needs --trust-pickle
emozsl data convert "$WORK/D/iemocap/iemocap9" "$WORK/D/iemocap9.h5" --trust-pickle
emozsl data info "$WORK/D/mosei"
emozsl data info "$WORK/D/iemocap9.h5"

# 2. A supervised eea run on all six MOSEI emotions, seed 0, 10 epochs
emozsl train --data "$WORK/D/mosei" --model eea --device cpu --epochs 10 --seed 0 \
    --runs-dir "$WORK/runs"   # -> $WORK/runs/eea_supervised_seed0

# 3. Score the IEMOCAP test split by the IEMOCAP emotions' own names (the default for another
#    labelled corpus); prints the per-emotion table, writes OUT.table_test.{csv,md,json} beside OUT
emozsl predict "$WORK/runs/eea_supervised_seed0" --data "$WORK/D/iemocap9.h5" --split test \
    --device cpu --out "$WORK/out/iemocap9_test.csv" --overwrite

# 4. The small table files into this folder (the per-utterance scores stay in $WORK/out)
cp "$WORK"/out/iemocap9_test.table_test.* "$WORK/out/iemocap9_test.csv.meta.json" "$HERE/"
