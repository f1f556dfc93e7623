"""Distil the served text encoder into fewer layers that land in the same token-embedding space.

Why: the int8 text encoder is most of a scored segment's cost (~4-6 ms per transcript on one
thread, issue 14), and batching transcripts does not make it cheaper. A student with fewer
transformer layers costs proportionally less. The fusion network reads the encoder's TOKEN
embeddings, so the student is trained to reproduce the teacher's final token embeddings (not a
new valence head): the fusion network keeps working unchanged.

Teacher: the served int8 graph's weights, dequantised to fp32 (`teacher_from_graph`): these are
the sentiment-tuned weights to int8 precision (the fp32 tuning checkpoint is not kept). Student:
`keep` layers of the teacher (copied, embeddings included), trained with masked MSE on the
teacher's token embeddings of the corpus's TRAIN texts (`--pooled-weight` adds an MSE on the
mean-pooled embeddings, what a valence head reads; `--head-weight` one on the output of a ridge
valence head fitted on the teacher's pooled train embeddings); the epoch is selected on the
VALIDATION texts' loss. The test split is never seen.

  python -m sdumc.text_distil --corpus corpus/v2 --keep 0,2,5     # -> runs/text-distil/
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sdumc.data import MODELS_DIR, DataError
from sdumc.text_encoder.contract import MAX_TOKENS
from sdumc.text_augment import augment_texts
from sdumc.text_encoder.model import BertConfig, MiniLM
from sdumc.text_encoder.tokens import load_tokenizer
from sdumc.text_tune import epoch_batches

RUNS_DIR = MODELS_DIR / "runs"
_LINEARS = ("query", "key", "value", "attn_out", "inter", "out")


def teacher_from_graph(graph: Path) -> MiniLM:
    """A torch MiniLM holding the dequantised weights of an exported int8 text graph
    ((q - zero_point) * scale, per output channel; uint8 or int8 storage alike), eval mode.
    Float parameters (biases, LayerNorms) are copied as they are."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(graph))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}

    def deq(q: str, scale: str, zp: str) -> np.ndarray:
        return (inits[q].astype(np.float32) - inits[zp].astype(np.float32)) * inits[scale].astype(np.float32)

    n_layers = 1 + max(int(k.split(".")[1]) for k in inits if k.startswith("layers."))
    model = MiniLM(BertConfig(num_hidden_layers=n_layers)).eval()
    state = {}
    for emb in ("word", "pos", "tok_type"):
        state[f"{emb}.weight"] = deq(f"{emb}.weight_quantized", f"{emb}.weight_scale", f"{emb}.weight_zero_point")
    for node in m.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        _, layer, lin, _ = node.name.split("/")  # "/layers.3/inter/MatMul_quant"
        w = deq(node.input[1], node.input[1].replace("_quantized", "_scale"), node.input[3])
        state[f"{layer}.{lin}.weight"] = w.T  # ONNX MatMul holds [in, out]; nn.Linear [out, in]
    for name in model.state_dict():
        if name not in state:
            state[name] = inits[name]
    missing = [n for n in model.state_dict() if n not in state]
    if missing:
        raise ValueError(f"{graph}: no weights for {missing[:4]}")
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}, strict=True)
    return model


def student_from(teacher: MiniLM, keep: tuple[int, ...]) -> MiniLM:
    """A MiniLM with the teacher's embeddings and its layers `keep` (in that order), copied."""
    if not keep or sorted(set(keep)) != list(keep) or keep[-1] >= len(teacher.layers) or keep[0] < 0:
        raise ValueError(f"keep {keep}: increasing layer indices within 0..{len(teacher.layers) - 1}")
    c = BertConfig(num_hidden_layers=len(keep))
    s = MiniLM(c)
    for name in ("word", "pos", "tok_type", "emb_ln"):
        getattr(s, name).load_state_dict(getattr(teacher, name).state_dict())
    for i, j in enumerate(keep):
        s.layers[i].load_state_dict(copy.deepcopy(teacher.layers[j].state_dict()))
    return s


def _encodings(texts: list[str]) -> list[list[int]]:
    tok = load_tokenizer(MAX_TOKENS)
    tok.no_padding()
    return [e.ids for e in tok.encode_batch(texts)]


def _batch(ids: list[list[int]], idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(ids[i]) for i in idx)
    x = torch.zeros(len(idx), T, dtype=torch.long)
    m = torch.zeros(len(idx), T)
    for j, i in enumerate(idx):
        x[j, : len(ids[i])] = torch.tensor(ids[i])
        m[j, : len(ids[i])] = 1.0
    return x, m


def _run(model: MiniLM, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return model(x, m, torch.zeros_like(x))


def _length_batches(ids: list[list[int]], idx: np.ndarray, size: int) -> list[np.ndarray]:
    order = idx[np.argsort([len(ids[i]) for i in idx], kind="stable")]
    return [order[s:s + size] for s in range(0, len(order), size)]


@torch.no_grad()
def teacher_targets(teacher: MiniLM, ids: list[list[int]], idx: np.ndarray, batch: int = 64,
                    progress: bool = True) -> dict[int, np.ndarray]:
    """The teacher's token embeddings per text (float16 [tokens, 384]), real tokens only."""
    out = {}
    bl = _length_batches(ids, idx, batch)
    if progress:
        from tqdm import tqdm
        bl = tqdm(bl, desc="text-distil: teacher", unit="batch", file=sys.stderr)
    for b in bl:
        x, m = _batch(ids, b)
        y = _run(teacher, x, m).numpy()
        for j, i in enumerate(b):
            out[int(i)] = y[j, : len(ids[i])].astype(np.float16)
    return out


def _targets(tgt: dict[int, np.ndarray], b: np.ndarray, T: int) -> torch.Tensor:
    y = np.zeros((len(b), T, tgt[int(b[0])].shape[1]), np.float32)
    for j, i in enumerate(b):
        y[j, : len(tgt[int(i)])] = tgt[int(i)]
    return torch.from_numpy(y)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over real tokens (padding excluded) and all 384 dimensions."""
    m = mask.unsqueeze(-1)
    return ((pred - target) ** 2 * m).sum() / (m.sum() * pred.shape[-1])


def _pooled_difference(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean-pooled (real tokens only) pred minus mean-pooled target, per text: [B, 384]."""
    m = mask.unsqueeze(-1)
    return ((pred - target) * m).sum(1) / m.sum(1).clamp_min(1.0)


def pooled_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the two MEAN-POOLED embeddings (real tokens only) per text,
    over texts and the 384 dimensions. Why: a valence head reads the pooled embedding (the
    held-out r protocol, text_tune's head), and the token MSE weighs a shift shared by all of a
    text's tokens no more than independent per-token noise that pooling averages away."""
    return (_pooled_difference(pred, target, mask) ** 2).mean()


def head_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, head: torch.Tensor,
             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over texts of the squared difference of a linear valence head's outputs on the two
    mean-pooled embeddings: ((pooled pred - pooled target) . head)^2 (the intercept cancels).
    Why: the pooled MSE weighs all 384 directions alike, while the held-out r reads one of
    them, and the student's remaining error sits in low-variance directions that carry valence
    (docs/model.md, "Longer 4-layer distillation"). `head`: [384] (`fit_valence_head`'s weights);
    `weights`: [B] per-text weights (`subset_balance`), or None for a plain mean."""
    err = (_pooled_difference(pred, target, mask) @ head) ** 2
    return (err * weights).mean() if weights is not None else err.mean()


def distil_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, pooled_weight: float,
                head: torch.Tensor | None = None, head_weight: float = 0.0,
                head_weights: torch.Tensor | None = None) -> torch.Tensor:
    """The training objective: token MSE (the fusion network reads token embeddings), plus
    `pooled_weight` x `pooled_mse` when > 0, plus `head_weight` x `head_mse` (per-text
    `head_weights`, when given) when > 0."""
    loss = masked_mse(pred, target, mask)
    if pooled_weight > 0:
        loss = loss + pooled_weight * pooled_mse(pred, target, mask)
    if head_weight > 0:
        loss = loss + head_weight * head_mse(pred, target, mask, head, head_weights)
    return loss


@torch.no_grad()
def evaluate_losses(student: MiniLM, ids, tgt, idx: np.ndarray, batch: int = 128,
                    head: torch.Tensor | None = None,
                    head_weights: np.ndarray | None = None) -> tuple[float, float, float]:
    """(token MSE, pooled MSE, head MSE: 0.0 without a head; weighted per text by
    `head_weights[idx]` when given) of the student against the targets of texts `idx`."""
    student.eval()
    num, den, pnum, hnum = 0.0, 0.0, 0.0, 0.0
    for b in _length_batches(ids, idx, batch):
        x, m = _batch(ids, b)
        y = _targets(tgt, b, x.shape[1])
        pred = _run(student, x, m)
        num += float(masked_mse(pred, y, m)) * float(m.sum())
        den += float(m.sum())
        pnum += float(pooled_mse(pred, y, m)) * len(b)
        if head is not None:
            w = None if head_weights is None else torch.from_numpy(head_weights[b].astype(np.float32))
            hnum += float(head_mse(pred, y, m, head, w)) * len(b)
    return num / den, pnum / len(idx), hnum / len(idx)


def teacher_head(tgt: dict[int, np.ndarray], labels: np.ndarray, tr: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, dict]:
    """The valence head for `head_mse`: `fit_valence_head` (the held-out protocol's ridge, penalty
    chosen on VALIDATION MAE) on the TEACHER's mean-pooled targets of the train texts `tr`, the
    validation texts `va` choosing the penalty. Returns (weights [384], {"alpha", "val_mae"})."""
    pooled = np.stack([tgt[int(i)].astype(np.float32).mean(0) for i in np.concatenate([tr, va])])
    split = np.array(["train"] * len(tr) + ["val"] * len(va))
    w, _, alpha, mae = fit_valence_head(pooled, labels[np.concatenate([tr, va])].astype(np.float64), split)
    return w[:-1].astype(np.float32), {"alpha": alpha, "val_mae": round(mae, 4)}


def subset_balance(tgt: dict[int, np.ndarray], head: np.ndarray, subsets: np.ndarray,
                   tr: np.ndarray) -> dict[str, float]:
    """Per-subset weights for `head_mse` that make its error scale-free within each subset: 1 /
    the variance of the teacher head's output over the subset's train texts, scaled so the
    train texts' mean weight is 1 ("*": the weight of texts of no subset, e.g. augmented ones,
    from the variance over all train texts). Why: the bar is Pearson r PER subset, and r is
    scale-free, while a plain mean squared error weighs every text alike. NYT editorials'
    valence spreads half as wide as movie reviews' (label std 0.66 vs 1.44), so the same
    head error costs NYT's r four times as much, and NYT was the subset every student lost
    (docs/model.md, "Longer 4-layer distillation")."""
    out = np.array([tgt[int(i)].astype(np.float32).mean(0) @ head for i in tr])
    sub = subsets[tr]
    var = {str(k): float(out[sub == k].var()) for k in np.unique(sub)}
    inv = {k: 1.0 / max(v, 1e-12) for k, v in var.items()}
    norm = float(np.mean([inv[str(k)] for k in sub]))
    w = {k: v / norm for k, v in inv.items()}
    w["*"] = 1.0 / max(float(out.var()), 1e-12) / norm
    return w


def cached_targets(cache: Path) -> dict[str, np.ndarray]:
    """Token embeddings per text from a text-only feature cache (sdumc.data's `texttrain`
    caches: text.npy float16 [tokens, 384] + text_off.npy + meta.json "texts"): the served int8
    graph's outputs for the corpus's TRAIN texts, the very features the fusion network was
    trained on. Saves the teacher pass over them (~20 min on a shared 2-core box)."""
    cache = Path(cache)
    try:
        emb = np.load(cache / "text.npy", mmap_mode="r")
        off = np.load(cache / "text_off.npy")
        texts = json.loads((cache / "meta.json").read_text())["texts"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"{cache}: not a text feature cache ({e})") from e
    if len(off) != len(texts) + 1:
        raise DataError(f"{cache}: {len(texts)} texts but {len(off) - 1} offsets")
    return {t: np.asarray(emb[off[i]:off[i + 1]]) for i, t in enumerate(texts)}


def distil(texts: list[str], split: np.ndarray, teacher: MiniLM, keep: tuple[int, ...], out_dir: Path,
           epochs: int = 4, lr: float = 1e-4, batch_size: int = 32, seed: int = 0, threads: int = 2,
           targets: dict[str, np.ndarray] | None = None, val_texts: int = 1000, train_texts: int = 0,
           teacher_sha256: str | None = None, init: MiniLM | None = None, pooled_weight: float = 0.0,
           labels: np.ndarray | None = None, head_weight: float = 0.0, augment: int = 0,
           subsets: np.ndarray | None = None, head_balance: bool = False, continued_from: dict | None = None,
           progress: bool = True, log=print) -> dict:
    """Train the student on TRAIN texts, select the epoch on VALIDATION MSE (against the fp32
    teacher, on `val_texts` of them: a fixed sample), write out_dir/best.pt ({"kind":
    "minilm-distilled", "keep", "state_dict", "metrics"}) and out_dir/metrics.json; return the
    metrics. Train targets come from `targets` (text -> token embeddings, `cached_targets`)
    where it has the text, else from the teacher. Embeddings stay frozen (the input space is
    the teacher's), the kept layers and their LayerNorms train. `train_texts` > 0 trains on a
    fixed random sample of that many TRAIN texts. `init`: a student to continue from (a
    previous run's, `load_distilled`) instead of the teacher's layers `keep`. `pooled_weight` > 0
    adds that times the pooled-embedding MSE to the loss (`distil_loss`); the epoch is then
    selected on the same sum over the validation texts. `head_weight` > 0 adds that times
    `head_mse` through a ridge valence head fitted once on the teacher's pooled targets of the
    train texts (`teacher_head`, `labels`: valence per text), again in the selection sum; with
    `labels` and no weight the head's validation error is reported but not trained on.
    `augment` > 0 adds that many NEW texts to every epoch (`sdumc.text_augment`, made from the
    train texts, different each epoch), labelled by the fp32 teacher as they are made.
    `head_balance` weighs each text's head error by its subset's `subset_balance` weight
    (`subsets`: subset name per text), in training and in the validation selection alike.
    `continued_from`: the `init` run's own recipe (`run_summary`), recorded as such.
    best.pt is written after every epoch
    that improves, so a run stopped early keeps its best epoch so far."""
    if epochs < 1 or batch_size < 2:
        raise ValueError("--epochs must be >= 1 and --batch-size >= 2")
    if head_weight > 0 and labels is None:
        raise ValueError("head_weight > 0 needs the texts' valence labels")
    if head_balance and (labels is None or subsets is None):
        raise ValueError("head_balance needs the texts' valence labels and subsets")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tr, va = np.nonzero(split == "train")[0], np.nonzero(split == "val")[0]
    if len(tr) == 0 or len(va) == 0:
        raise DataError(f"need train and val texts (got {len(tr)}, {len(va)})")
    va = np.sort(rng.permutation(va)[:val_texts])
    if train_texts:  # a fixed random sample, when compute is short
        tr = np.sort(rng.permutation(tr)[:train_texts])
    t0 = time.time()
    ids = _encodings(texts)
    targets = targets or {}
    tgt = {int(i): targets[texts[i]] for i in tr if texts[i] in targets
           and len(targets[texts[i]]) == len(ids[i])}
    rest = np.array([i for i in tr if int(i) not in tgt] + list(va), dtype=np.int64)
    tgt.update(teacher_targets(teacher, ids, rest, progress=progress))
    log(json.dumps({"cached_train_targets": len(tr) - (len(rest) - len(va)), "teacher_targets": len(rest)}))
    head, head_info = None, {}
    if labels is not None:  # fitted whenever labels are given, so a run without the term reports its error too
        w, head_info = teacher_head(tgt, labels, tr, va)
        head = torch.from_numpy(w)
        log(json.dumps({"teacher_head": head_info}))
    hw, balance = None, None
    if head_balance:
        balance = subset_balance(tgt, w, subsets, tr)
        hw = np.array([balance[str(k)] for k in subsets], np.float64)
        head_info["balance"] = {k: round(v, 4) for k, v in balance.items()}
        log(json.dumps({"head_balance": head_info["balance"]}))
    student = student_from(teacher, keep) if init is None else init
    for name in ("word", "pos", "tok_type"):
        getattr(student, name).weight.requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil((len(tr) + max(augment, 0)) / batch_size)
    # warm up 10% of the steps (at least 3: torch's one-cycle divides by the warm-up length)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=max(0.1, 3 / steps))
    init_val, init_pooled, init_head = evaluate_losses(student, ids, tgt, va, head=head, head_weights=hw)
    log(json.dumps({"keep": list(keep), "train": len(tr), "val": len(va), "init_val_mse": round(init_val, 5),
                    "init_val_pooled_mse": round(init_pooled, 5), "init_val_head_mse": round(init_head, 5),
                    "seconds": round(time.time() - t0, 1)}))
    metrics = {"keep": list(keep), "teacher_sha256": teacher_sha256, "epochs": epochs, "lr": lr, "seed": seed,
               "pooled_weight": pooled_weight, "train_texts": int(len(tr)), "val_texts": int(len(va)),
               "augment_per_epoch": int(augment), **({"continued_from": continued_from} if continued_from else {}),
               "init_val_mse": round(init_val, 5), "init_val_pooled_mse": round(init_pooled, 5)}
    if head is not None:
        metrics.update(head_weight=head_weight, head=head_info, init_val_head_mse=round(init_head, 5))
    out_dir.mkdir(parents=True, exist_ok=True)
    best, history = float("inf"), []
    train_texts_list = [texts[i] for i in tr]
    for epoch in range(epochs):
        ep_ids, ep_tgt, ep_tr, ep_hw = ids, tgt, tr, hw
        if augment > 0:  # fresh texts each epoch, from their own seeded stream
            new = augment_texts(train_texts_list, augment, np.random.default_rng([seed, epoch]))
            ep_ids = ids + _encodings(new)
            new_idx = np.arange(len(ids), len(ep_ids))
            ep_tgt = dict(tgt)
            ep_tgt.update(teacher_targets(teacher, ep_ids, new_idx, progress=progress))
            ep_tr = np.concatenate([tr, new_idx])
            if hw is not None:
                ep_hw = np.concatenate([hw, np.full(len(new), balance["*"])])
        student.train()
        lens = np.array([len(i) for i in ep_ids])
        bl = epoch_batches(ep_tr, lens, batch_size, rng)  # the same batching as text_tune
        it = bl
        if progress:
            from tqdm import tqdm
            it = tqdm(bl, desc=f"text-distil ep{epoch + 1}/{epochs}", unit="batch", leave=False, file=sys.stderr)
        total = 0.0
        for b in it:
            x, m = _batch(ep_ids, b)
            bw = None if ep_hw is None else torch.from_numpy(ep_hw[b].astype(np.float32))
            loss = distil_loss(_run(student, x, m), _targets(ep_tgt, b, x.shape[1]), m, pooled_weight, head,
                               head_weight, bw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            total += float(loss)
        val, val_pooled, val_head = evaluate_losses(student, ids, tgt, va, head=head, head_weights=hw)
        rec = {"epoch": epoch + 1, "train_loss": round(total / len(bl), 5), "val_mse": round(val, 5),
               "val_pooled_mse": round(val_pooled, 5), "seconds": round(time.time() - t0, 1)}
        if head is not None:
            rec["val_head_mse"] = round(val_head, 5)
        history.append(rec)
        metrics["history"] = history
        log(json.dumps(rec))
        objective = val + pooled_weight * val_pooled + head_weight * val_head  # distil_loss's, on validation
        if objective < best:
            best = objective
            metrics.update(best_epoch=epoch + 1, best_val_mse=round(val, 5), best_val_pooled_mse=round(val_pooled, 5))
            if head is not None:
                metrics["best_val_head_mse"] = round(val_head, 5)
            torch.save({"format": 1, "kind": "minilm-distilled", "keep": list(keep), "state_dict": student.state_dict(),
                        "metrics": metrics}, out_dir / "best.pt")
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    student.load_state_dict(torch.load(out_dir / "best.pt", map_location="cpu")["state_dict"])
    return metrics


_RECIPE = ("keep", "epochs", "lr", "seed", "pooled_weight", "head_weight", "augment_per_epoch", "train_texts",
           "init_val_mse", "best_val_mse", "continued_from")


def run_summary(metrics: dict) -> dict:
    """A run's recipe and result from its metrics, for the run that continues it (`--init`), so
    a student's record holds its whole chain of runs."""
    out = {k: metrics[k] for k in _RECIPE if k in metrics}
    if (metrics.get("head") or {}).get("balance"):
        out["head_balance"] = True
    return out


def load_distilled(path: Path) -> MiniLM:
    """The student of a text-distil checkpoint, eval mode."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"text-distil checkpoint not found: {path}")
    ck = torch.load(Path(path), map_location="cpu")
    if not isinstance(ck, dict) or ck.get("kind") != "minilm-distilled":
        raise ValueError(f"{path}: not a text-distil checkpoint (python -m sdumc.text_distil writes one)")
    model = MiniLM(BertConfig(num_hidden_layers=len(ck["keep"])))
    model.load_state_dict(ck["state_dict"], strict=True)
    return model.eval()


def pooled_int8(graph: Path, texts: list[str], progress: bool = True) -> np.ndarray:
    """Mean-pooled token embeddings [N, 384] of `texts` from an int8 graph, one text per run on
    one thread: the scorer's way (a run's activation scale then depends on its text alone)."""
    from sdumc.text_encoder.encode import mean_pool, session
    from sdumc.text_encoder.tokens import tokenize

    sess, tok = session(graph, threads=1), load_tokenizer(MAX_TOKENS)
    out = np.zeros((len(texts), 384), np.float32)
    it = range(len(texts))
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc=f"pooled {Path(graph).name}", unit="text", file=sys.stderr, mininterval=10)
    for i in it:
        f = tokenize([texts[i]], tok=tok)
        out[i] = mean_pool(sess.run(None, f)[0], f["attention_mask"])[0]
    return out


ALPHAS = (1.0, 10.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)


def _ridge(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge weights for X (its last column the intercept's ones, not penalised)."""
    reg = alpha * np.eye(X.shape[1])
    reg[-1, -1] = 0.0
    return np.linalg.solve(X.T @ X + reg, X.T @ y)


def fit_valence_head(pooled: np.ndarray, y: np.ndarray, split: np.ndarray,
                     alphas: tuple[float, ...] = ALPHAS) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A linear valence head on pooled embeddings (as text_tune's: pooled -> valence), fitted by
    ridge regression on the "train" rows, its penalty chosen on the "val" rows' MAE. Returns
    (weights [385] for [pooled - mu, 1], mu, alpha, validation MAE)."""
    tr, va = split == "train", split == "val"
    mu = pooled[tr].mean(0)
    X = np.c_[pooled - mu, np.ones(len(pooled), np.float32)].astype(np.float64)
    best = None
    for a in alphas:
        w = _ridge(X[tr], y[tr], a)
        mae = float(np.mean(np.abs(X[va] @ w - y[va])))
        if best is None or mae < best[0]:
            best = (mae, a, w)
    mae, alpha, w = best
    return w, mu, alpha, mae


def heldout_r(pooled: np.ndarray, y: np.ndarray, split: np.ndarray, subset: np.ndarray,
              alphas: tuple[float, ...] = ALPHAS) -> dict:
    """`fit_valence_head` on TRAIN / VALIDATION; Pearson r on TEST per subset. The same protocol
    for any encoder, so two encoders compare side by side."""
    from sdumc.metrics import pearson
    from sdumc.text_tune import SUBSETS

    te = split == "test"
    w, mu, alpha, mae = fit_valence_head(pooled, y, split, alphas)
    p = np.c_[pooled - mu, np.ones(len(pooled))] @ w
    res: dict = {"alpha": alpha, "val_mae": round(mae, 4)}
    for sub in SUBSETS:
        k = te & (subset == sub)
        if k.sum() > 2:
            res[sub] = {"n": int(k.sum()), "r": round(pearson(p[k], y[k]), 4)}
    return res


def heldout_compare(graphs: list[Path], corpus: Path, train_sample: int = 6000, cache_dir: Path | None = None,
                    progress: bool = True) -> dict:
    """`heldout_r` for each graph, side by side, on one protocol: the corpus's TEST and VALIDATION
    texts and a fixed random sample of `train_sample` TRAIN texts (seed 0; the ridge needs no
    more), each encoded alone (`pooled_int8`). Also the FIRST graph's head applied to every other
    graph's pooled embeddings ("r_first_head"): whether a graph lands in the first one's space,
    which is what the fusion network (trained on the first) needs. Pooled embeddings are kept in
    `cache_dir` by graph sha256, so a baseline is encoded once."""
    from sdumc.manifest import sha256_file
    from sdumc.text_tune import _texts

    texts, y, split, subset = _texts(corpus)
    rng = np.random.default_rng(0)
    tr = np.sort(rng.permutation(np.nonzero(split == "train")[0])[:train_sample])
    idx = np.concatenate([np.nonzero(split == "test")[0], np.nonzero(split == "val")[0], tr])
    out, first = {}, None
    for g in graphs:
        sha = sha256_file(g)
        cached = Path(cache_dir) / f"pooled-{sha[:16]}-{len(idx)}.npz" if cache_dir else None
        if cached is not None and cached.is_file() and np.array_equal(np.load(cached)["idx"], idx):
            pooled = np.load(cached)["pooled"]
        else:
            pooled = pooled_int8(g, [texts[i] for i in idx], progress=progress)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, idx=idx, pooled=pooled)
        res = heldout_r(pooled, y[idx], split[idx], subset[idx])
        if first is None:
            first = (pooled, res)
        else:  # the first graph's ridge head (same alpha) refitted is not the point: reuse its weights
            res["r_first_head"] = _first_head_r(first[0], pooled, y[idx], split[idx], subset[idx], first[1]["alpha"])
        out[str(g)] = {"sha256": sha, **res}
    return out


def _first_head_r(base: np.ndarray, other: np.ndarray, y, split, subset, alpha: float) -> dict:
    """r per TEST subset of `other` through the ridge head fitted on `base` (TRAIN, `alpha`)."""
    from sdumc.metrics import pearson
    from sdumc.text_tune import SUBSETS

    tr, te = split == "train", split == "test"
    mu = base[tr].mean(0)
    X = np.c_[base - mu, np.ones(len(base))].astype(np.float64)
    w = _ridge(X[tr], y[tr], alpha)
    p = np.c_[other - mu, np.ones(len(other))] @ w
    return {sub: round(pearson(p[te & (subset == sub)], y[te & (subset == sub)]), 4)
            for sub in SUBSETS if (te & (subset == sub)).sum() > 2}


def provenance(checkpoint: Path, teacher_dir: Path) -> tuple[dict, dict | None]:
    """({"from", "keep", ... metrics} for text_encoder.json's "distilled", the teacher's "tuned"
    summary) for a distilled checkpoint whose teacher is the graph in `teacher_dir` (read before
    the export replaces it). Refuses a checkpoint that recorded another teacher."""
    from sdumc.manifest import sha256_file
    from sdumc.text_encoder.contract import INFO_FILE, INT8_FILE

    ck = torch.load(Path(checkpoint), map_location="cpu")
    m = ck["metrics"]
    graph = Path(teacher_dir) / INT8_FILE
    sha = sha256_file(graph) if graph.is_file() else None
    if m.get("teacher_sha256") and m["teacher_sha256"] != sha:
        raise ValueError(f"{checkpoint} was distilled from a graph with sha256 {m['teacher_sha256']}, "
                         f"not {graph} ({sha})")
    info_path = Path(teacher_dir) / INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    d = {"from": f"{info.get('layers', 6)}-layer int8 text graph, sha256 {sha}", "keep": m["keep"],
         **{k: m[k] for k in _RECIPE + ("val_texts", "best_val_pooled_mse", "head", "best_val_head_mse")
            if k in m and k != "keep"},
         "heldout": m.get("heldout")}
    return d, info.get("tuned")


def requantise_source(graph: Path) -> tuple[dict, dict | None]:
    """({"graph", "sha256", "quantisation"} for text_encoder.json's "requantised_from", the
    "tuned" summary) for an exported graph whose dequantised weights (`teacher_from_graph`) are
    re-quantised: read from the graph and its folder's text_encoder.json before an export into
    that folder replaces them."""
    from sdumc.manifest import sha256_file
    from sdumc.text_encoder.contract import INFO_FILE

    graph = Path(graph)
    if not graph.is_file():
        raise FileNotFoundError(f"int8 text graph not found: {graph}")
    info_path = graph.parent / INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    src = {"graph": f"{info.get('layers', 6)}-layer int8 text graph, sha256 {sha256_file(graph)}",
           "quantisation": info.get("quantisation"),
           "how": "its weights dequantised ((q - zero point) x scale, sdumc.text_distil.teacher_from_graph) and "
                  "quantised again; the fp32 tuning checkpoint is not kept"}
    return src, info.get("tuned")


def main(argv: list[str] | None = None) -> int:
    from sdumc.text_encoder.contract import INT8_FILE
    from sdumc.text_tune import _texts

    ap = argparse.ArgumentParser(prog="python -m sdumc.text_distil", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=MODELS_DIR / "corpus" / "v2")
    ap.add_argument("--teacher", type=Path, default=MODELS_DIR / "sdumc-v1" / INT8_FILE,
                    help="the int8 text graph to distil (default: the served one)")
    ap.add_argument("--keep", default="0,2,5", help="teacher layers the student starts from")
    ap.add_argument("--out", type=Path, default=RUNS_DIR / "text-distil")
    ap.add_argument("--init", type=Path, help="continue from this text-distil checkpoint (its --keep)")
    ap.add_argument("--cache", type=Path, help="a texttrain feature cache holding the teacher's train-text outputs")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--pooled-weight", type=float, default=0.0,
                    help="add this times the mean-pooled embedding's MSE to the token MSE (0: token MSE only)")
    ap.add_argument("--head-weight", type=float, default=0.0,
                    help="add this times the squared difference of a ridge valence head's outputs on the "
                         "student's vs the teacher's pooled embeddings (head fitted on the teacher's train "
                         "targets; 0: off)")
    ap.add_argument("--train-texts", type=int, default=0, help="train on a random sample of this many (0: all)")
    ap.add_argument("--head-balance", action="store_true",
                    help="weigh the head term per subset by 1 / the variance of the teacher head's output there "
                         "(subset_balance: Pearson r per subset is scale-free)")
    ap.add_argument("--augment", type=int, default=0,
                    help="add this many new texts per epoch, recombined from the train texts and labelled by "
                         "the teacher (sdumc.text_augment; 0: off)")
    ap.add_argument("--val-texts", type=int, default=1000, help="validation sample for epoch selection")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--heldout", type=Path, nargs="+", metavar="GRAPH",
                    help="instead of distilling: held-out r per subset of these int8 graphs side by side "
                         "(heldout_compare; the first is the baseline)")
    ap.add_argument("--record", type=Path, metavar="DIR",
                    help="with --heldout: write the comparison into DIR/text_encoder.json's \"distilled\" "
                         "(or \"requantised_from\") entry")
    a = ap.parse_args(argv)
    try:
        if a.heldout:
            res = heldout_compare(a.heldout, a.corpus, cache_dir=RUNS_DIR / "text-heldout",
                                  progress=not a.no_progress)
            print(json.dumps(res, indent=1))
            if a.record:
                from sdumc.text_encoder.contract import INFO_FILE
                info_path = a.record / INFO_FILE
                info = json.loads(info_path.read_text())
                entry = next((k for k in ("distilled", "requantised_from") if k in info), None)
                if entry is None:
                    raise ValueError(f"{info_path} describes no distilled or re-quantised graph")
                info[entry]["heldout"] = {"protocol": "sdumc.text_distil.heldout_compare: ridge head on "
                                                "pooled int8 batch-1 embeddings, 6000 train texts, test r",
                                                "graphs": res}
                info_path.write_text(json.dumps(info, indent=1) + "\n")
            return 0
        keep = tuple(int(k) for k in a.keep.split(","))
        init, continued_from = None, None
        if a.init:
            init = load_distilled(a.init)
            ck = torch.load(a.init, map_location="cpu")
            keep, continued_from = tuple(ck["keep"]), run_summary(ck["metrics"])
        texts, labels, split, subsets = _texts(a.corpus)
        from sdumc.manifest import sha256_file
        m = distil(texts, split, teacher_from_graph(a.teacher), keep, a.out, a.epochs, a.lr, a.batch_size,
                   a.seed, a.threads, cached_targets(a.cache) if a.cache else None,
                   a.val_texts, a.train_texts, sha256_file(a.teacher), init, a.pooled_weight, labels, a.head_weight,
                   a.augment, subsets, a.head_balance, continued_from, progress=not a.no_progress,
                   log=lambda s: print(s, file=sys.stderr))
    except (ValueError, DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: m[k] for k in ("keep", "init_val_mse", "best_val_mse")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
