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

`--piper-rows N` adds a second training engine (sdumc.corpus.tts_piper, docs/corpus.md "2c"):
Piper twins of N other train sentences (none of the espeak-ng training rows' sentences), each
through the corpus channel with its row's draws, shuffled together with the espeak-ng rows into
one seeded order (so each batch holds the engines in about their share). Validation then also
runs on the Piper twins of the val rows, and `val_wer_mean` (both training engines) is the
figure to select a checkpoint by: the held-out family (Flite) stays test-only.
`--render-only` fills the twins' cache and stops; `--val-only CKPT ...` logs the validation
figures of checkpoints (or `shipped`) on the same rows.

What trains: the top encoder blocks (`--train-encoder-blocks`, default 2 of 4, plus the
encoder's final norm) and the decoder's blocks and norm; the convolutions, the lower encoder
blocks, the positional tables and the token table (embedding and tied output projection) stay
as shipped, which halves the backward pass and keeps the vocabulary's geometry.
A checkpoint (`step-<n>.pt`, the trained tensors only) is written every `--save-every` steps
and `last.pt` at the end or the time box, so a cut run still yields a model; validation WER
(greedy, the served decoding rules, torch float32) on `--val-rows` espeak val rows is logged
before training and at every checkpoint (`log.jsonl`).

`--init CKPT` continues a run: the checkpoint's trained tensors replace the shipped ones, and
its optimizer and schedule state are restored when it stored them (checkpoints written since
`--init` exists do; older ones hold the tensors only, and then AdamW starts with empty moments
and the learning rate warms up again over `--warmup` steps from the checkpoint's step). The
step count goes on from the checkpoint's, the schedule is the same function of that global
step (`--epochs` sets its length), and the rows already seen are skipped: the seeded epoch
orders are drawn again and the first `step` batches left out, so the rest of the interrupted
epoch comes first, then the next epoch's fresh order. The checkpoint must come from the same
rows (`--corpus`, `--train-rows`, `--seed`, `--max-seconds`) and `--batch`, or it is refused.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
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


def family_rows(rows: list[dict], split: str, n: int, seed: int, max_s: float, family: str = IN_FAMILY,
                exclude: frozenset = frozenset()) -> list[int]:
    """`n` seeded corpus indices of `family` rows of `split` with a transcript and at most
    `max_s` seconds of audio (16 kHz samples), none of `exclude`."""
    pool = [i for i, r in enumerate(rows) if r["split"] == split and r["voice_family"] == family
            and r["text"].strip() and r["audio_len"] <= max_s * 16000 and i not in exclude]
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


def optimiser(params: list, lr: float, warmup: int, steps_total: int):
    """AdamW and its schedule: linear warm-up over `warmup` steps, then linear decay to a
    floor of 0.1 at `steps_total`, as a function of the global step."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    return opt, torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1 - s / max(steps_total, 1)))


def checkpoint(w: Whisper, names: list[str], step: int, opt, sched, train: list[int], val: list[int],
               args: dict, piper: list[int] = ()) -> dict:
    """What a checkpoint holds: the trained tensors, the step, the rows and the optimizer and
    schedule state (so `--init` resumes exactly). Plain numbers go as JSON text: this torch's
    `weights_only` loader refuses pickled floats."""
    groups = opt.state_dict()["param_groups"]
    schedule = {k: v for k, v in sched.state_dict().items() if k != "lr_lambdas"}
    return {"state": {n: p.detach().clone() for n, p in w.named_parameters() if n in names}, "step": step,
            "args": {k: str(v) for k, v in args.items()}, "train_rows": train, "val_rows": val,
            "piper_rows": list(piper),
            "optimizer_state": opt.state_dict()["state"], "optimizer_groups": json.dumps(groups),
            "schedule": json.dumps(schedule)}


def epoch_batches(train: list[int], batch: int, epochs: int, seed: int, skip: int = 0):
    """(epoch, global step before it, row ids) of every batch in the run's seeded order,
    leaving out the first `skip` batches (the ones a checkpoint already trained on)."""
    rng = np.random.default_rng(seed)
    per_epoch = len(train) // batch
    for epoch in range(epochs):
        order = rng.permutation(train)
        for b in range(per_epoch):
            step = epoch * per_epoch + b
            if step >= skip:
                yield epoch, step, [int(i) for i in order[b * batch:(b + 1) * batch]]


def continue_from(checkpoint: Path, w: Whisper, names: list[str], opt, sched, train: list[int],
                  batch: int, warmup: int, piper: list[int] = ()) -> tuple[int, bool]:
    """Put a checkpoint's trained tensors into `w` (in place) and, when it stored them, the
    optimizer and schedule state; returns (its step, whether the optimizer state was restored).
    Without a stored optimizer the schedule is rebuilt around a fresh warm-up (module doc)."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if list(ck.get("train_rows", [])) != list(train):
        raise ValueError(f"{checkpoint}: trained on other rows (corpus, --train-rows, --seed or --max-seconds differ)")
    if list(ck.get("piper_rows", [])) != list(piper):
        raise ValueError(f"{checkpoint}: trained on other Piper rows (--piper-rows differs)")
    if int(ck.get("args", {}).get("batch", batch)) != batch:
        raise ValueError(f"{checkpoint}: batch {ck['args']['batch']}, this run {batch}: the rows seen would not line up")
    unknown = set(ck["state"]) - set(names)
    if unknown:
        raise ValueError(f"{checkpoint}: tensors this run does not train: {sorted(unknown)[:3]}")
    params = dict(w.named_parameters())
    with torch.no_grad():
        for n, t in ck["state"].items():
            params[n].copy_(t)
    step = int(ck["step"])
    if "optimizer_state" in ck:
        opt.load_state_dict({"state": ck["optimizer_state"], "param_groups": json.loads(ck["optimizer_groups"])})
        sched.load_state_dict({**json.loads(ck["schedule"]), "lr_lambdas": [None]})
        return step, True
    decay = sched.lr_lambdas[0]
    sched.lr_lambdas[0] = lambda s: min(1.0, (s - step + 1) / warmup) * decay(s) if s >= step else decay(s)
    sched.last_epoch = step - 1
    with warnings.catch_warnings():  # "step() before optimizer.step()": intended, nothing trained yet
        warnings.simplefilter("ignore", UserWarning)
        sched.step()  # sets the learning rate of the checkpoint's step
    return step, False


def validation_wer(w: Whisper, reader, rows: list[int], rules, tok, audio=None) -> float:
    """Greedy WER (served decoding rules, served context) of `rows`, torch float32; `audio(i)`
    gives a row's 16 kHz corpus audio (default: the corpus's own rendering)."""
    from .recognise import transcribe_torch
    audio = audio or reader.audio
    edits = words = 0
    w.eval()
    for i in rows:
        r = transcribe_torch(w, as_served(audio(i)), rules, MIN_CONTEXT_S)
        e, n = word_errors(reader.rows[i]["text"], tok.decode(r.tokens))
        edits, words = edits + e, words + n
    return edits / max(words, 1)


def piper_cache_dir(corpus: Path, seed: int) -> Path:
    """Where a corpus's Piper twins live (git-ignored; tts_piper.RENDER_VERSION in the name, so
    a change of the rendering never reads stale rows)."""
    from ..corpus.tts_piper import RENDER_VERSION
    return MODELS_DIR / "cache" / "piper" / f"{Path(corpus).resolve().name}-r{RENDER_VERSION}-s{seed}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train-rows", type=int, default=4000)
    ap.add_argument("--piper-rows", type=int, default=0,
                    help="Piper twins of this many other train sentences, mixed in (module doc)")
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
    ap.add_argument("--init", type=Path, help="a checkpoint of this recipe to continue from (module doc)")
    ap.add_argument("--val-only", nargs="+", metavar="CKPT",
                    help="validation WER (as logged) of these checkpoints ('shipped': the shipped weights), "
                         "one JSON line each, and stop")
    ap.add_argument("--render-only", action="store_true",
                    help="render the run's Piper twins (val first, then train) into the cache and stop")
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
    piper = (family_rows(reader.rows, "train", a.piper_rows, a.seed + 2, a.max_seconds, exclude=frozenset(train))
             if a.piper_rows else [])
    twins = None
    if piper:
        from ..corpus.tts_piper import RowCache
        twins = RowCache(piper_cache_dir(a.corpus, a.seed), a.seed)
    if a.render_only:
        for k, i in enumerate(val + piper):
            twins.audio(reader.rows[i])
            if k % 100 == 0:
                print(f"{k}/{len(val) + len(piper)} rows, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        return 0
    pkg = package_dir()
    rules, tok = decode_rules(pkg), Tokenizer.from_file(str(pkg / "tokenizer.json"))

    def validate(w: Whisper) -> dict:
        """val_wer: espeak-ng val rows; with Piper rows also val_wer_piper (their Piper twins) and
        val_wer_mean, the selection figure: both training engines, never the held-out family."""
        out = {"val_wer": round(validation_wer(w, reader, val, rules, tok), 4)}
        if twins is not None:
            out["val_wer_piper"] = round(validation_wer(w, reader, val, rules, tok,
                                                        lambda i: twins.audio(reader.rows[i])), 4)
            out["val_wer_mean"] = round((out["val_wer"] + out["val_wer_piper"]) / 2, 4)
        return out

    if a.val_only:
        for ck in a.val_only:
            w = load_whisper(pkg / "model.bin").eval() if ck == "shipped" else load_tuned(Path(ck), pkg / "model.bin")
            print(json.dumps({"checkpoint": ck, "val_rows": len(val), **validate(w)}), flush=True)
        return 0
    # one list of (engine, corpus row); the seeded order shuffles both engines together (~ their share per batch)
    examples = [("espeak", i) for i in train] + [("piper", i) for i in piper]

    def audio_of(ex: tuple[str, int]) -> np.ndarray:
        return reader.audio(ex[1]) if ex[0] == "espeak" else twins.audio(reader.rows[ex[1]])

    w = load_whisper(pkg / "model.bin")
    names = trainable(w, a.train_encoder_blocks)
    frozen = len(w.encoder.blocks) - a.train_encoder_blocks
    params = [p for p in w.parameters() if p.requires_grad]
    steps_total = a.epochs * (len(examples) // a.batch)
    opt, sched = optimiser(params, a.lr, a.warmup, steps_total)
    step, restored = (continue_from(a.init, w, names, opt, sched, train, a.batch, a.warmup, piper) if a.init
                      else (0, False))
    a.out.mkdir(parents=True, exist_ok=True)
    log = open(a.out / "log.jsonl", "a")

    def note(**rec) -> None:
        rec["wall_s"] = round(time.time() - t0, 1)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), file=sys.stderr, flush=True)

    def save(tag: str, step: int) -> None:
        torch.save(checkpoint(w, names, step, opt, sched, train, val, vars(a), piper), a.out / f"{tag}.pt")

    # a continued run skips the start's validation: the checkpoint's run logged it at that step
    note(event="start", train_rows=len(train), piper_rows=len(piper), val_rows=len(val),
         trainable=sum(p.numel() for p in params), steps=steps_total, init=str(a.init) if a.init else None,
         init_step=step, optimizer_restored=restored, lr=sched.get_last_lr()[0],
         **({} if a.init else validate(w)))
    deadline, losses = t0 + 60 * a.minutes, []
    for epoch, _, ids in epoch_batches(list(range(len(examples))), a.batch, a.epochs, a.seed, skip=step):
        if time.time() > deadline:
            break
        batch = [examples[k] for k in ids]
        mel = mel_batch([as_served(audio_of(ex)) for ex in batch])
        seqs = [target_tokens(tok, rules.prompt, rules.eot, reader.rows[i]["text"]) for _, i in batch]
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
            note(event="checkpoint", step=step, **validate(w))
    save("last", step)
    note(event="end", step=step, **validate(w))
    return 0


if __name__ == "__main__":
    sys.exit(main())
