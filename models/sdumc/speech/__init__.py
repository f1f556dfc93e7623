"""Whisper tiny.en as the product's speech model: CTranslate2 weights read into plain torch
(ct2.py, model.py), Whisper's log-mel front-end (mel.py), ONNX export for onnxruntime-node
with a segment-trimmed audio context and a KV-cached decoder (export.py), greedy decoding
(decode.py). See docs/model.md, "Speech model"."""
