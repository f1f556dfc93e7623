#!/usr/bin/env bash
# Trains the served model from scratch, one command, and publishes it into models/<version>/:
#   1. the corpus (models/corpus/v1), generated when absent (~10-30 min on 2 cores);
#   2. the text encoder: top MiniLM layers sentiment-tuned on the train split (sdumc.text_tune),
#      exported as the int8 graph the server runs;
#   3. the double-flow network (sdumc.train --variant full), selected on validation;
#   4. the export: fusion ONNX graph, manifest.json, golden.json (checked against onnxruntime).
# Evaluation with baselines and ablations is a separate command (sdumc.evaluate; docs/model.md).
#
#   bash scripts/train-model.sh                      # defaults below
#   TRAIN_ROWS=0 EPOCHS=6 bash scripts/train-model.sh  # every train row (slower)
#
# Settings (environment): VERSION (sdumc-v1), TRAIN_ROWS (4000; 0 = all 19,817), VAL_ROWS (600),
# TEXT_ROWS (8000: text-only rows per epoch drawn from every labelled train text; 0 = none, -1 = all),
# TEST_ROWS (2000: cached with the others, so sdumc.evaluate with the same limits reuses this
# run as its full-s$SEED), EPOCHS (6), SEED (0), TUNE_LAYERS (2), TUNE_EPOCHS (3), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/../models"
PY=../.venv/bin/python
VERSION=${VERSION:-sdumc-v1}
TRAIN_ROWS=${TRAIN_ROWS:-4000}
VAL_ROWS=${VAL_ROWS:-600}
TEST_ROWS=${TEST_ROWS:-2000}
EPOCHS=${EPOCHS:-6}
TEXT_ROWS=${TEXT_ROWS:-8000}
SEED=${SEED:-0}
TUNE_LAYERS=${TUNE_LAYERS:-2}
TUNE_EPOCHS=${TUNE_EPOCHS:-3}
THREADS=${THREADS:-2}
say() { echo "train-model: $*" >&2; }
[ -x "$PY" ] || { say "no .venv: run bash scripts/setup-python.sh first"; exit 2; }
t0=$SECONDS

if [ ! -f corpus/v1/corpus.json ]; then
  say "generating corpus/v1"
  "$PY" -m sdumc.corpus.generate --out corpus/v1
fi

say "sentiment-tuning the text encoder (top $TUNE_LAYERS layers, $TUNE_EPOCHS epochs)"
"$PY" -m sdumc.text_tune --corpus corpus/v1 --out runs/text-tune --layers "$TUNE_LAYERS" \
  --epochs "$TUNE_EPOCHS" --seed "$SEED" --threads "$THREADS"
"$PY" -m sdumc.text_encoder --out "$VERSION" --tuned runs/text-tune/best.pt

say "training the double-flow network ($TRAIN_ROWS train rows, $EPOCHS epochs)"
"$PY" -m sdumc.train --variant full --seed "$SEED" --corpus corpus/v1 --train-rows "$TRAIN_ROWS" \
  --val-rows "$VAL_ROWS" --test-rows "$TEST_ROWS" --epochs "$EPOCHS" --text-rows "$TEXT_ROWS" \
  --threads "$THREADS" --out "runs/full-s$SEED"

say "exporting $VERSION"
"$PY" -m sdumc.export --checkpoint "runs/full-s$SEED/best.pt" --out "$VERSION"
say "done in $(( (SECONDS - t0) / 60 )) min"
