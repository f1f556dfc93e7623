"""Fine-tuning Whisper tiny.en (sdumc.speech.tune): the training forward is the served model's
forward, the loss reads only the transcript, the checkpoint round trip, and the row choice
never touches the held-out voice or the test split."""
from pathlib import Path

import numpy as np
import pytest
import torch

from sdumc.speech import export as ex
from sdumc.speech import tune
from sdumc.speech.golden import CLIPS, read_wav
from sdumc.speech.model import load_whisper

SPEECH = Path(__file__).resolve().parent.parent / "speech-whisper-tiny-en"


@pytest.fixture(scope="module")
def w():
    return load_whisper(ex.package_dir() / "model.bin")


@pytest.fixture(scope="module")
def mel():
    """Two golden clips as a batch at a 3 s context (short: the test stays cheap)."""
    return tune.mel_batch([read_wav(SPEECH / "golden" / f"{c}.wav") for c in list(CLIPS)[:2]], 3.0)


def test_encode_with_frozen_blocks_equals_the_served_encoder(w, mel):
    with torch.no_grad():
        full = w.encoder(mel)
        for frozen in (0, 2, 4):
            assert torch.allclose(tune.encode(w, mel, frozen), full, atol=1e-5)


def test_teacher_forced_logits_equal_the_cached_decoders_step_by_step(w, mel):
    with torch.no_grad():
        states = w.encoder(mel[:1])
        tokens = torch.tensor([[50257, 50362, 383, 3290, 318, 257]])
        seq = tune.sequence_logits(w, states, tokens)[0]
        ck, cv = w.cross_kv(states)
        pk, pv = w.empty_cache()
        for t in range(tokens.shape[1]):
            step, pk, pv = w.decoder(tokens[:, t:t + 1], pk, pv, ck, cv, torch.tensor([t]))
            assert torch.allclose(seq[t], step[0], atol=1e-3), t


def test_loss_reads_the_transcript_only_and_ignores_padding(w, mel):
    eot = 50256
    short, long = [50257, 50362, 383, eot], [50257, 50362, 383, 3290, 318, eot]
    with torch.no_grad():
        both = tune.batch_loss(w, mel, [short, long], eot, 4, 2)
        one = [tune.batch_loss(w, mel[i:i + 1], [s], eot, 4, 2) for i, s in enumerate((short, long))]
    # per-token mean over both rows: 2 predicted tokens in the short row, 4 in the long one
    assert float(both) == pytest.approx((2 * float(one[0]) + 4 * float(one[1])) / 6, rel=1e-4)
    changed_prompt = [[50257, 50363, 383, eot], long]  # the prompt's own token is given, not scored
    with torch.no_grad():
        assert float(tune.batch_loss(w, mel, changed_prompt, eot, 4, 2)) != pytest.approx(float(both), abs=0)
        assert float(tune.batch_loss(w, mel, [short + [eot, eot], long], eot, 4, 2)) != pytest.approx(float(both), rel=1e-6)


def test_trainable_keeps_the_front_end_and_token_table_as_shipped(w):
    names = tune.trainable(w, 2)
    assert "decoder.tok.weight" not in names and "encoder.conv1.weight" not in names
    assert not any(n.startswith(("encoder.blocks.0.", "encoder.blocks.1.")) for n in names)
    assert "encoder.blocks.3.qkv.weight" in names and "decoder.blocks.0.cross_kv.weight" in names
    assert all(p.requires_grad == (n in names) for n, p in w.named_parameters())


def test_checkpoint_round_trip_and_a_foreign_tensor_is_refused(tmp_path):
    bin_ = ex.package_dir() / "model.bin"
    base = load_whisper(bin_)
    moved = base.decoder.ln.bias.detach() + 0.5
    torch.save({"state": {"decoder.ln.bias": moved}}, tmp_path / "a.pt")
    tuned = tune.load_tuned(tmp_path / "a.pt", bin_)
    assert torch.equal(tuned.decoder.ln.bias, moved)
    assert torch.equal(tuned.decoder.ln.weight, base.decoder.ln.weight)
    torch.save({"state": {"decoder.nothing": moved}}, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="does not have"):
        tune.load_tuned(tmp_path / "b.pt", bin_)


def test_family_rows_take_only_the_training_voice_of_the_asked_split():
    rows = [{"split": s, "voice_family": f, "text": t, "audio_len": n}
            for s in ("train", "val", "test") for f in ("espeak", "flite")
            for t, n in (("a b", 16000), ("", 16000), ("c d", 200000))]
    for split in ("train", "val"):
        got = tune.family_rows(rows, split, 10, 0, 10.0)
        assert got and all(rows[i]["split"] == split and rows[i]["voice_family"] == "espeak"
                           and rows[i]["text"] and rows[i]["audio_len"] <= 160000 for i in got)
    assert tune.family_rows(rows, "train", 10, 0, 10.0) == tune.family_rows(rows, "train", 10, 0, 10.0)


def test_target_tokens_are_prompt_transcript_end():
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(SPEECH / "tokenizer.json"))
    seq = tune.target_tokens(tok, [50257, 50362], 50256, " I love it. ")
    assert seq[:2] == [50257, 50362] and seq[-1] == 50256
    assert tok.decode(seq[2:-1]) == " I love it."
    assert np.all(np.array(seq[2:-1]) < 50256)


def _moved_checkpoint(w, names, step, train, batch=8):
    """A checkpoint as an older run wrote it (trained tensors only, no optimizer state), with
    two trained tensors moved away from the shipped ones."""
    state = {n: p.detach().clone() for n, p in w.named_parameters() if n in names}
    state["decoder.ln.bias"] += 0.5
    state["encoder.blocks.3.qkv.weight"] *= 1.01
    return {"state": state, "step": step, "args": {"batch": str(batch)}, "train_rows": train}


def test_init_starts_at_the_checkpoints_weights_step_and_a_rewarmed_schedule(tmp_path):
    bin_, train = ex.package_dir() / "model.bin", list(range(100, 180))
    src = load_whisper(bin_)
    ck = _moved_checkpoint(src, tune.trainable(src, 2), 7, train)
    torch.save(ck, tmp_path / "old.pt")
    w = load_whisper(bin_)
    names = tune.trainable(w, 2)
    opt, sched = tune.optimiser([p for p in w.parameters() if p.requires_grad], 4e-5, 4, 20)
    step, restored = tune.continue_from(tmp_path / "old.pt", w, names, opt, sched, train, 8, 4)
    assert (step, restored) == (7, False)
    got = dict(w.named_parameters())
    assert all(torch.equal(got[n], t) for n, t in ck["state"].items())
    assert not torch.equal(got["decoder.ln.bias"], load_whisper(bin_).decoder.ln.bias)
    # no stored moments: the rate warms up again from the checkpoint's step, then follows the decay
    assert sched.get_last_lr()[0] == pytest.approx(4e-5 * (1 / 4) * (1 - 7 / 20))
    for _ in range(3):
        opt.step()
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(4e-5 * (1 - 10 / 20))


def test_init_restores_a_stored_optimizer_and_refuses_other_rows_or_batch(tmp_path, mel):
    bin_, train = ex.package_dir() / "model.bin", list(range(100, 180))
    w = load_whisper(bin_)
    names = tune.trainable(w, 2)
    opt, sched = tune.optimiser([p for p in w.parameters() if p.requires_grad], 4e-5, 4, 20)
    tune.batch_loss(w, mel, [[50257, 50362, 383, 50256]] * 2, 50256, 2, 2).backward()
    opt.step()
    sched.step()
    torch.save(tune.checkpoint(w, names, 1, opt, sched, train, [], {"batch": 8}), tmp_path / "new.pt")
    w2 = load_whisper(bin_)
    names2 = tune.trainable(w2, 2)
    opt2, sched2 = tune.optimiser([p for p in w2.parameters() if p.requires_grad], 4e-5, 4, 20)
    assert tune.continue_from(tmp_path / "new.pt", w2, names2, opt2, sched2, train, 8, 4) == (1, True)
    assert all(torch.equal(p, dict(w.named_parameters())[n]) for n, p in w2.named_parameters())
    a, b = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert a.keys() == b.keys() and all(torch.equal(a[k]["exp_avg_sq"], b[k]["exp_avg_sq"]) for k in a)
    assert sched2.last_epoch == 1
    with pytest.raises(ValueError, match="other rows"):
        tune.continue_from(tmp_path / "new.pt", w2, names2, opt2, sched2, train[1:], 8, 4)
    with pytest.raises(ValueError, match="batch"):
        tune.continue_from(tmp_path / "new.pt", w2, names2, opt2, sched2, train, 4, 4)


def test_epoch_batches_skip_the_rows_seen_and_finish_the_epoch_before_the_next():
    train = list(range(1000, 1083))  # 10 batches of 8 per epoch, 3 rows left over
    full = list(tune.epoch_batches(train, 8, 2, 0))
    assert [s for _, s, _ in full] == list(range(20))
    # the order the first run trained on (one seeded permutation per epoch)
    rng = np.random.default_rng(0)
    assert [r for _, _, ids in full[:10] for r in ids] == [int(i) for i in rng.permutation(train)[:80]]
    rest = list(tune.epoch_batches(train, 8, 2, 0, skip=7))
    assert rest == full[7:]
    seen = {r for _, _, ids in full[:7] for r in ids}
    unseen_first = [r for e, _, ids in rest if e == 0 for r in ids]
    assert len(unseen_first) == 24 and not seen & set(unseen_first)
