"""Export the serving model: ONNX graphs + manifest.json + golden.json in one folder.

  python -m sdumc.export --checkpoint runs/<run>/best.pt --out sdumc-v1
  python -m sdumc.export --random-init --seed 0 --out sdumc-v1     (untrained, for integration)

Writes (docs/model-manifest.md): `sdumc.onnx` (log-mel front-end + SDUMC, one graph with
presence inputs), `text_encoder.int8.onnx` + `tokenizer.json` (exported only when absent or
with --text-encoder), `golden.json` and `manifest.json`. Before writing the manifest it runs
every golden case in onnxruntime and refuses to publish a graph that differs from PyTorch by
more than the golden tolerance.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import golden, manifest
from .text_encoder import contract as text_contract
from .text_encoder.encode import session as text_session
from .text_encoder.export import describe as describe_text_encoder
from .text_encoder.export import export as export_text_encoder
from .text_encoder.tokens import tokenize
from .frontend import LogMel, LogMelConfig

FUSION_FILE = "sdumc.onnx"
OPSET = 17
MAX_SAMPLES = 192_000  # 12 s at 16 kHz: the longest segment one graph call takes
MAX_FRAMES = 120  # 12 s of video at 10 fps
VIDEO_FPS = 10
NEUTRAL_BAND = (-0.5, 0.5)  # valence in this band is NEUTRAL (corpus label3_of agrees)

# graph tensor name -> role, in the graph's positional order
FUSION_INPUTS = [("audio_pcm", "audio.pcm", ["batch", "samples"]),
                 ("audio_length", "audio.length", ["batch"]),
                 ("text_embeddings", "text.embeddings", ["batch", "tokens", 384]),
                 ("text_mask", "text.mask", ["batch", "tokens"]),
                 ("video_frames", "video.frames", ["batch", "frames", 24]),
                 ("video_mask", "video.mask", ["batch", "frames"]),
                 ("presence", "presence", ["batch", 3])]
FUSION_OUTPUTS = [("valence", "valence", ["batch"]), ("alpha", "alpha", ["batch", 3]),
                  ("beta", "beta", ["batch", 7])]
TEXT_INPUTS = [(n, f"text.{n}", ["batch", "tokens"]) for n in text_contract.INPUT_NAMES]
TEXT_OUTPUTS = [(text_contract.OUTPUT_NAME, "text.token_embeddings", ["batch", "tokens", 384])]


class ExportError(Exception):
    """A problem with the exporter's inputs; reported as one line by the CLI."""


class ServingFusion(nn.Module):
    """PCM + text embeddings + video features + presence -> (valence, alpha, beta):
    the log-mel front-end followed by the SDUMC network, as the server runs it."""

    def __init__(self, model: nn.Module, fe: LogMelConfig = LogMelConfig()) -> None:
        super().__init__()
        self.frontend = LogMel(fe)
        self.model = model

    def forward(self, pcm, length, text_emb, text_mask, video, video_mask, presence):
        feats, amask = self.frontend(pcm, length)  # (B, Ta, 64), (B, Ta)
        out = self.model(feats, amask, text_emb, text_mask, video, video_mask, presence)
        return out["valence"], out["alpha"], out["beta"]


def load_model(checkpoint: Path | None, seed: int) -> tuple[nn.Module, dict]:
    """The SDUMC network from a checkpoint, or freshly initialised with `seed`; plus provenance."""
    from .model import SDUMC, ModelConfig

    if checkpoint is None:
        torch.manual_seed(seed)
        model = SDUMC(ModelConfig()).eval()
        info = {"trained": False, "checkpoint": None, "seed": seed}
    else:
        if not Path(checkpoint).is_file():
            raise ExportError(f"checkpoint not found: {checkpoint}")
        try:
            model = SDUMC.from_checkpoint(checkpoint)
        except (ValueError, RuntimeError, KeyError, TypeError) as e:
            raise ExportError(f"cannot load {checkpoint}: {str(e).splitlines()[0][:300]}") from None
        info = {"trained": True, "checkpoint": str(checkpoint), "seed": None}
    cfg = model.cfg
    fe = LogMelConfig()
    if cfg.n_mels != fe.nMels or cfg.text_dim != text_contract.DIM or cfg.video_dim != 24:
        raise ExportError(f"checkpoint dims n_mels={cfg.n_mels} text_dim={cfg.text_dim} video_dim={cfg.video_dim} "
                          f"do not match the contract (64, 384, 24)")
    info["config"] = asdict(cfg)
    info["params"] = sum(p.numel() for p in model.parameters())
    return model, info


def export_fusion(net: ServingFusion, feeds: dict[str, np.ndarray], path: Path) -> Path:
    """Trace `net` on golden inputs and write the fusion graph (opset 17, dynamic dims)."""
    args = tuple(torch.from_numpy(feeds[role]) for _, role, _ in FUSION_INPUTS)
    dyn = {name: {i: d for i, d in enumerate(dims) if isinstance(d, str)}
           for name, _, dims in FUSION_INPUTS + FUSION_OUTPUTS}
    with torch.no_grad():
        torch.onnx.export(net, args, str(path), opset_version=OPSET, do_constant_folding=True,
                          input_names=[n for n, _, _ in FUSION_INPUTS],
                          output_names=[n for n, _, _ in FUSION_OUTPUTS], dynamic_axes=dyn)
    return Path(path)


def torch_outputs(net: ServingFusion, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PyTorch reference outputs by role."""
    with torch.no_grad():
        res = net(*(torch.from_numpy(feeds[role]) for _, role, _ in FUSION_INPUTS))
    return {role: r.numpy() for (_, role, _), r in zip(FUSION_OUTPUTS, res)}


def video_section(model: nn.Module) -> dict:
    """The manifest's `video` object: layout from sdumc.corpus.layout (docs/video-features.md)
    and the normalisation the graph applies (informational)."""
    from .corpus.layout import FEATURES, FPS

    return {"fps": FPS, "featureDim": len(FEATURES), "maxFrames": MAX_FRAMES, "features": list(FEATURES),
            "confidenceIndex": FEATURES.index("face_confidence"), "layoutDoc": "docs/video-features.md",
            "normalization": {"mean": [round(float(x), 6) for x in model.video_mean],
                              "std": [round(float(x), 6) for x in model.video_std]}}


def build_golden(out: Path, net: ServingFusion, version: str) -> tuple[list[dict], dict]:
    """Golden cases: the int8 text encoder on TEXTS, fusion on six flows, and fusion on row 0
    alone (batch 1); export() adds `pipeline.flows` once the fusion graph exists. Returns the
    cases and the fusion feeds used for export tracing."""
    sess = text_session(out / text_contract.INT8_FILE)
    tfeeds = tokenize(golden.TEXTS)
    temb = sess.run([text_contract.OUTPUT_NAME], tfeeds)[0]
    te_case = golden.case("textEncoder.int8", "textEncoder", "onnxruntime-python-int8",
                          {f"text.{k}": v for k, v in tfeeds.items()}, {"text.token_embeddings": temb},
                          texts=golden.TEXTS, crossCpuTolerance=golden.CROSS_CPU_TOLERANCE)
    rows = golden.TEXT_ROWS
    feeds = golden.fusion_inputs(temb[rows], tfeeds["attention_mask"][rows].astype(np.float32))
    full = golden.case("fusion.flows", "fusion", "pytorch", feeds, torch_outputs(net, feeds), rows=golden.FLOW_ROWS)
    one = {r: a[:1] for r, a in feeds.items()}
    one["audio.pcm"] = one["audio.pcm"][:, :4000]  # batch 1, cut audio: a different padded length
    one["audio.length"] = np.array([4000], np.int64)
    single = golden.case("fusion.single", "fusion", "pytorch", one, torch_outputs(net, one))
    return [te_case, full, single], feeds


def export(out: Path, checkpoint: Path | None, seed: int, version: str | None = None,
           text_encoder_too: bool = False) -> dict:
    """Export everything into `out` and return the manifest written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    version = version or out.name
    model, info = load_model(checkpoint, seed)
    net = ServingFusion(model).eval()
    if text_encoder_too or not (out / text_contract.INT8_FILE).is_file():
        export_text_encoder(out)
    cases, feeds = build_golden(out, net, version)
    fusion_path = export_fusion(net, feeds, out / FUSION_FILE)

    tens = lambda spec: [manifest.tensor(n, r, d) for n, r, d in spec]  # noqa: E731
    fe = LogMelConfig()
    m = {
        "format": manifest.FORMAT, "version": version, "createdAt": manifest.now_utc(),
        "model": info,
        "labels": {"valenceMin": -3, "valenceMax": 3, "neutralBand": list(NEUTRAL_BAND)},
        "audio": {"sampleRate": fe.sampleRate, "maxSamples": MAX_SAMPLES, "frontEnd": fe.to_manifest()},
        "text": {"tokenizer": text_contract.TOKENIZER_FILE, "maxTokens": text_contract.MAX_TOKENS,
                 "dim": text_contract.DIM, "encoder": describe_text_encoder(out)},
        "video": video_section(model),
        "graphs": {
            "textEncoder": manifest.graph_entry(out / text_contract.INT8_FILE, tens(TEXT_INPUTS), tens(TEXT_OUTPUTS)),
            "fusion": manifest.graph_entry(fusion_path, tens(FUSION_INPUTS), tens(FUSION_OUTPUTS)),
        },
        "golden": golden.GOLDEN_FILE,
        "metrics": manifest.headline_metrics(out / "metrics.json"),
    }
    cases.append(golden.pipeline_case(m, out, cases[0], cases[1]))  # the server path's reference
    golden.write(out, version, cases)
    # refuse to publish graphs that do not reproduce the references
    (out / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")
    worst = max(golden.check(out), key=lambda r: r[2])  # strict: this machine recorded them
    if worst[2] > golden.TOLERANCE:
        (out / "manifest.json").unlink()
        raise ExportError(f"onnxruntime differs from the reference in {worst[0]} {worst[1]}: {worst[2]:.2e}")
    manifest.write(m, out)
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.export", description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="checkpoint written by sdumc.train (…/best.pt)")
    src.add_argument("--random-init", action="store_true", help="export an UNTRAINED network (integration only)")
    ap.add_argument("--seed", type=int, default=0, help="seed for --random-init (default 0)")
    ap.add_argument("--out", type=Path, required=True, help="model version folder, e.g. sdumc-v1")
    ap.add_argument("--version", help="version string (default: the --out folder's name)")
    ap.add_argument("--text-encoder", action="store_true", help="re-export the text encoder even if present")
    a = ap.parse_args(argv)
    try:
        m = export(a.out, None if a.random_init else a.checkpoint, a.seed, a.version, a.text_encoder)
    except (ExportError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    worst = max(r[2] for r in golden.check(a.out))
    g = m["graphs"]
    print(f"wrote {a.out}/manifest.json ({m['version']}, {'trained' if m['model']['trained'] else 'UNTRAINED'}): "
          f"{g['fusion']['file']} {g['fusion']['bytes'] / 1e6:.2f} MB, {g['textEncoder']['file']} "
          f"{g['textEncoder']['bytes'] / 1e6:.1f} MB; golden max abs diff {worst:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
