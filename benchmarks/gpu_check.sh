#!/usr/bin/env bash
# The GPU figures of issue 16 in one prepared script, for a CUDA machine with torch but no network
# (the device tool's H200). Stages (one per call, each well inside 10 minutes on an H200):
#   bash benchmarks/gpu_check.sh bench   # bench --all --profile, fp32 then bf16 (MOSEI size)
#   bash benchmarks/gpu_check.sh sweep   # the eea zero-shot table, 6 held-out emotions x 3 seeds, stacked, timed
# Output goes to $OUT (or ./gpu_check). emozsl runs from this checkout (PYTHONPATH). Packages the
# device's image lacks travel as wheels in .whl/ (cp312, see the device tool's README):
#   gensim smart_open wrapt soundfile cffi pycparser
set -euo pipefail
out=${OUT:-gpu_check}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export EMOZSL_BENCH_DATA=/tmp/emozsl-bench EMOZSL_CACHE=/tmp/emozsl-cache
emozsl() { python3 -c "from emozsl.cli import main; main()" "$@"; }
[ -f $EMOZSL_BENCH_DATA/ey_test.h5 ] || emozsl -q data synth --size full $EMOZSL_BENCH_DATA
[ -f $EMOZSL_BENCH_DATA/raw/utterances.csv ] || emozsl -q data synth --format raw $EMOZSL_BENCH_DATA/raw
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
case "${1:-bench}" in
  bench)
    emozsl -q bench --all --profile --device cuda --out "$out/bench_fp32.json" | tee "$out/bench_fp32.txt"
    emozsl -q bench --all --device cuda --precision bf16 --out "$out/bench_bf16.json" | tee "$out/bench_bf16.txt"
    ;;
  sweep)
    cat > /tmp/eea_zsl_table.toml <<EOF
name = "eea_zsl_table"
[base]
data = "$EMOZSL_BENCH_DATA"
model = "eea"
protocol = "zsl"
epochs = 40
device = "cuda"
runs_dir = "/tmp/eea_zsl_table"
[grid]
target = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
seed = [0, 1, 2]
EOF
    rm -rf /tmp/eea_zsl_table
    start=$(date +%s.%N)
    emozsl -q sweep /tmp/eea_zsl_table.toml | tee "$out/sweep.txt"
    echo "wall seconds: $(echo "$(date +%s.%N) - $start" | bc)" | tee -a "$out/sweep.txt"
    emozsl -q report /tmp/eea_zsl_table --out /tmp/eea_zsl_report > /dev/null
    cp /tmp/eea_zsl_report/zsl.md "$out/eea_zsl_table.md"
    ;;
  *) echo "stage: bench or sweep" >&2; exit 2 ;;
esac
