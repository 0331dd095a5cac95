#!/usr/bin/env bash
# Every registered backbone, zero-shot on 'fear' (held out of training), on the embedded generated
# MOSEI-format data: shared settings in config.json (at most 20 epochs, early stop 8, seed 0, CPU),
# each backbone at its default options with the paper's emotion head (dot product, linear maps).
# Run from the repository root: bash experiments/synth_mosei_zsl_backbones/run.sh
set -euo pipefail
here=experiments/synth_mosei_zsl_backbones
runs=runs/synth_mosei_zsl_backbones
[ -d data/synth-mosei ] || emozsl data synth --format mosei --size small --seed 0 data/synth-mosei
models=$(python -c "from emozsl.models import REGISTRY; print(*REGISTRY)")
for model in $models; do
  [ -f "$runs/$model/results.json" ] && continue  # finished: keep it
  rm -rf "$runs/$model"  # an interrupted run starts again
  emozsl -q train --config "$here/config.json" --model "$model" --name "$model" > /dev/null
done
python - "$here" "$runs" $models <<'PY'
import json, sys
from pathlib import Path
here, runs, models = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
rows = ["| backbone | parameters | unseen (fear) AUC | unseen WAcc | seen avg AUC | seen avg WAcc | best epoch | epochs run | s/epoch (CPU) |",
        "|---|---|---|---|---|---|---|---|---|"]
for model in models:
    run = runs / model
    results = json.loads((run / "results.json").read_text())
    meta = json.loads((run / "metadata.json").read_text())
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    test = results["test"]
    unseen = next(r for r in test["per_emotion"] if r["status"] == "unseen")
    seen = test["summary"]["seen"]
    per_epoch = sorted(e["seconds"] for e in epochs)[len(epochs) // 2]
    rows.append(f"| {model} | {meta['parameters']:,} | {unseen['auc']:.3f} | {unseen['wacc']:.3f} | {seen['auc']:.3f} | "
                f"{seen['wacc']:.3f} | {results['best_epoch']} | {results['epochs_run']} | {per_epoch:.1f} |")
(here / "results.md").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
PY
