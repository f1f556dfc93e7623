"""Fine-tuning Whisper tiny.en for the phone channel (issue 12, docs/model.md "Recognition
under channel noise"), on the CPU, time-boxed:

  cd models && nice ../.venv/bin/python -m sdumc.speech.tune --out runs/asr-tune/s0 --minutes 60
  nice ../.venv/bin/python -m sdumc.speech.tune --export-from runs/asr-tune/s0/last.pt --out cache/asr-tune/onnx

The second writes the served graphs' int8 format (speech.export.write_graphs) of a checkpoint,
for bench/asr_noise.py --tuned.

Data: ONLY the training voice family (espeak-ng rows of the corpus's train split; the val
split for validation), never a test sentence and never the held-out Flite voice, so the
held-out numbers still say how it does on a voice it never heard. Each row is the corpus's own
channel rendering (band limit, noise at 5/10/20/30 dB, mu-law for 70 %), heard as served
(`served_audio.as_served`: the 8 kHz call resampled by ingest's filter), at the served encoder
context (the segment followed by silence up to `decode.MIN_CONTEXT_S`); the target is the
gold transcript. Every training row is a different utterance with its own noise draw, and a
run sees each at most once or twice, so no fresh noise is drawn (it would need the clean TTS
audio, which the corpus does not keep).

What trains: the top encoder blocks (`--train-encoder-blocks`, default 2 of 4, plus the
encoder's final norm) and the decoder's blocks and norm; the convolutions, the lower encoder
blocks, the positional tables and the token table (embedding and tied output projection) stay
as shipped, which halves the backward pass and keeps the vocabulary's geometry.
A checkpoint (`step-<n>.pt`, the trained tensors only) is written every `--save-every` steps
and `last.pt` at the end or the time box, so a cut run still yields a model; validation WER
(greedy, the served decoding rules, torch float32) on `--val-rows` espeak val rows is logged
before training and at every checkpoint (`log.jsonl`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import MODELS_DIR
from ..metrics import word_errors
from .decode import MIN_CONTEXT_S
from .mel import log_mel, with_context
from .model import Whisper, load_whisper
from .served_audio import as_served

IN_FAMILY = "espeak"
MAX_TARGET_TOKENS = 160


def family_rows(rows: list[dict], split: str, n: int, seed: int, max_s: float, family: str = IN_FAMILY) -> list[int]:
    """`n` seeded corpus indices of `family` rows of `split` with a transcript and at most
    `max_s` seconds of audio (16 kHz samples)."""
    pool = [i for i, r in enumerate(rows) if r["split"] == split and r["voice_family"] == family
            and r["text"].strip() and r["audio_len"] <= max_s * 16000]
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(pool, min(n, len(pool)), replace=False))


def target_tokens(tok, prompt: list[int], eot: int, text: str) -> list[int]:
    """prompt + the transcript's tokens (with Whisper's leading space) + end-of-text."""
    return prompt + tok.encode(" " + text.strip(), add_special_tokens=False).ids[:MAX_TARGET_TOKENS] + [eot]


def mel_batch(audios: list[np.ndarray], min_context_s: float = MIN_CONTEXT_S) -> torch.Tensor:
    """(B, 80, 2F) log-mel of served audio, each clip followed by silence up to the served
    context and then up to the batch's longest (more trailing silence, as a short segment has)."""
    clips = [with_context(a, min_context_s) for a in audios]
    n = max(len(c) for c in clips)
    return torch.from_numpy(np.stack([log_mel(np.pad(c, (0, n - len(c)))) for c in clips]))


def encode(w: Whisper, mel: torch.Tensor, frozen_blocks: int) -> torch.Tensor:
    """Encoder states (B, F, d); the convolutions and the first `frozen_blocks` blocks run
    without a graph (they do not train)."""
    enc = w.encoder
    with torch.no_grad():
        x = F.gelu(enc.conv2(F.gelu(enc.conv1(mel)))).transpose(1, 2)
        x = x + enc.pos[: x.shape[1]]
        for block in enc.blocks[:frozen_blocks]:
            x = block(x)
    for block in enc.blocks[frozen_blocks:]:
        x = block(x)
    return enc.ln_post(x)


def sequence_logits(w: Whisper, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Teacher-forced logits (B, T, V) of every position: the decoder's blocks run causally on
    the whole sequence at once (no KV cache), with the same tied output projection."""
    dec = w.decoder
    B, T = tokens.shape
    cross_k, cross_v = w.cross_kv(states)
    x = dec.tok(tokens) + dec.pos[:T]
    mask = torch.full((T, T), float("-inf")).triu(1)
    d = w.dims
    empty = torch.zeros(B, d.n_text_head, 0, d.n_text_state // d.n_text_head)
    for i, block in enumerate(dec.blocks):
        x, _, _ = block(x, empty, empty, cross_k[i], cross_v[i], mask)
    return dec.ln(x) @ dec.tok.weight.T


def batch_loss(w: Whisper, mel: torch.Tensor, seqs: list[list[int]], eot: int, frozen_blocks: int,
               prompt_len: int) -> torch.Tensor:
    """Mean cross-entropy of the transcript tokens and end-of-text (the prompt is given)."""
    T = max(len(s) for s in seqs)
    tokens = torch.tensor([s + [eot] * (T - len(s)) for s in seqs])
    target = tokens[:, 1:].clone()
    for b, s in enumerate(seqs):
        target[b, len(s) - 1:] = -100  # padding after the real end-of-text
    target[:, : prompt_len - 1] = -100  # the prompt's own tokens are given, not predicted
    logits = sequence_logits(w, encode(w, mel, frozen_blocks), tokens[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def trainable(w: Whisper, encoder_blocks: int) -> list[str]:
    """Names of the parameters that train (module doc); the others get requires_grad False."""
    n_enc = len(w.encoder.blocks)
    keep = [f"encoder.blocks.{i}." for i in range(n_enc - encoder_blocks, n_enc)] + ["encoder.ln_post.",
                                                                                    "decoder.blocks.", "decoder.ln."]
    names = []
    for name, p in w.named_parameters():
        p.requires_grad = any(name.startswith(k) for k in keep)
        if p.requires_grad:
            names.append(name)
    return names


def load_tuned(checkpoint: Path, base_bin: Path) -> Whisper:
    """The shipped weights with a checkpoint's trained tensors put over them, eval mode."""
    w = load_whisper(base_bin)
    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    missing = set(ck["state"]) - set(w.state_dict())
    if missing:
        raise ValueError(f"{checkpoint}: tensors the model does not have: {sorted(missing)[:3]}")
    w.load_state_dict({**w.state_dict(), **ck["state"]})
    return w.eval()


def validation_wer(w: Whisper, reader, rows: list[int], rules, tok) -> float:
    """Greedy WER (served decoding rules, served context) of `rows`, torch float32."""
    from .recognise import transcribe_torch
    edits = words = 0
    w.eval()
    for i in rows:
        r = transcribe_torch(w, as_served(reader.audio(i)), rules, MIN_CONTEXT_S)
        e, n = word_errors(reader.rows[i]["text"], tok.decode(r.tokens))
        edits, words = edits + e, words + n
    return edits / max(words, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train-rows", type=int, default=4000)
    ap.add_argument("--val-rows", type=int, default=48)
    ap.add_argument("--max-seconds", type=float, default=10.0, help="longest training clip (the served context)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--train-encoder-blocks", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=60.0, help="time box: stop and save after this")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export-from", type=Path, help="a checkpoint: write its int8 graphs to --out and stop")
    a = ap.parse_args(argv)
    from tokenizers import Tokenizer
    from ..corpus.reader import CorpusReader
    from .export import TOKENIZER_FILE, decode_rules, package_dir, write_graphs
    if a.export_from:
        write_graphs(load_tuned(a.export_from, package_dir() / "model.bin"), a.out)
        (a.out / TOKENIZER_FILE).write_bytes((package_dir() / TOKENIZER_FILE).read_bytes())
        return 0
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    reader = CorpusReader(str(a.corpus))
    train = family_rows(reader.rows, "train", a.train_rows, a.seed, a.max_seconds)
    val = family_rows(reader.rows, "val", a.val_rows, a.seed + 1, a.max_seconds)
    pkg = package_dir()
    rules, tok = decode_rules(pkg), Tokenizer.from_file(str(pkg / "tokenizer.json"))
    w = load_whisper(pkg / "model.bin")
    names = trainable(w, a.train_encoder_blocks)
    frozen = len(w.encoder.blocks) - a.train_encoder_blocks
    params = [p for p in w.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    steps_total = a.epochs * (len(train) // a.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / a.warmup) * max(0.1, 1 - s / max(steps_total, 1)))
    a.out.mkdir(parents=True, exist_ok=True)
    log = open(a.out / "log.jsonl", "a")

    def note(**rec) -> None:
        rec["wall_s"] = round(time.time() - t0, 1)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), file=sys.stderr, flush=True)

    def save(tag: str, step: int) -> None:
        state = {n: p.detach().clone() for n, p in w.named_parameters() if n in names}
        torch.save({"state": state, "step": step, "args": {k: str(v) for k, v in vars(a).items()},
                    "train_rows": train, "val_rows": val}, a.out / f"{tag}.pt")

    note(event="start", train_rows=len(train), val_rows=len(val), trainable=sum(p.numel() for p in params),
         steps=steps_total, val_wer=round(validation_wer(w, reader, val, rules, tok), 4))
    rng = np.random.default_rng(a.seed)
    step, deadline, losses = 0, t0 + 60 * a.minutes, []
    for epoch in range(a.epochs):
        order = rng.permutation(train)
        for b in range(len(order) // a.batch):
            if time.time() > deadline:
                break
            ids = [int(i) for i in order[b * a.batch:(b + 1) * a.batch]]
            mel = mel_batch([as_served(reader.audio(i)) for i in ids])
            seqs = [target_tokens(tok, rules.prompt, rules.eot, reader.rows[i]["text"]) for i in ids]
            w.train()
            loss = batch_loss(w, mel, seqs, rules.eot, frozen, len(rules.prompt))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(float(loss))
            if step % 10 == 0:
                note(event="train", epoch=epoch, step=step, loss=round(float(np.mean(losses[-10:])), 4))
            if step % a.save_every == 0:
                save(f"step-{step}", step)
                note(event="checkpoint", step=step, val_wer=round(validation_wer(w, reader, val, rules, tok), 4))
    save("last", step)
    note(event="end", step=step, val_wer=round(validation_wer(w, reader, val, rules, tok), 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
