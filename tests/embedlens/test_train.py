"""embedlens.train: schedule, data order, exact resume, truncation, logs, caches, bad input."""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlens.cache import EmbeddingCache  # noqa: E402
from embedlens.train import (  # noqa: E402
    Trainable,
    TrainConfig,
    batch_index,
    embed_texts,
    lr_at,
    train,
)
from inversion.inverter import Inverter  # noqa: E402
from tiny_models import tiny_causal_lm, tiny_embedder  # noqa: E402

TEXTS = ["the cat sat", "a dog ran", "red sun", "blue moon", "hello world", "green tree"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=16)


def _inverter(emb, **kwargs):
    args = {"prefix_tokens": 2, "max_length": 12, "finetune": "full", **kwargs}
    return Inverter(embedder=emb, decoder=tiny_causal_lm(hidden=32, seed=1), **args)


def _weights(inv):
    return {k: v.detach().clone() for k, v in inv.trainable_module().named_parameters()}


# --------------------------------------------------------------------------- pure parts


def test_learning_rate_warms_up_then_decays_along_a_cosine():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    mid = 10 + 45
    assert lr_at(mid, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(99, cfg) == pytest.approx(0.1, abs=1e-3)
    lrs = [lr_at(s, cfg) for s in range(10, 100)]
    assert all(a >= b for a, b in itertools.pairwise(lrs))
    assert TrainConfig(steps=100).warmup == 5


def test_data_order_covers_every_example_each_epoch_and_depends_only_on_the_seed():
    stream = batch_index(7, seed=3, start=0, size=21)
    for e in range(3):
        assert sorted(stream[7 * e : 7 * e + 7].tolist()) == list(range(7))
    assert np.array_equal(batch_index(7, 3, 5, 9), stream[5:14])
    assert not np.array_equal(batch_index(7, 4, 0, 21), stream)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": 0},
        {"batch_size": 0},
        {"grad_accum": 0},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"noise_std": -1.0},
        {"eval_every": -1},
        {"warmup_steps": -2},
    ],
)
def test_bad_configs_raise(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_embed_texts_computes_once_and_reads_the_cache_after(tmp_path, emb):
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    before = emb.queries
    first = embed_texts(emb, TEXTS, cache=cache)
    assert emb.queries - before == len(TEXTS)
    again = embed_texts(emb, [*TEXTS, "new one"], cache=tmp_path / "emb.sqlite")
    assert emb.queries - before == len(TEXTS) + 1
    np.testing.assert_array_equal(again[: len(TEXTS)], first)
    np.testing.assert_allclose(first, emb.embed(TEXTS), atol=1e-6)


# --------------------------------------------------------------------------- the loop


def test_inverter_is_a_trainable(emb):
    inv = _inverter(emb)
    inv._build(emb.dim)
    assert isinstance(inv, Trainable)


def test_resumed_run_equals_straight_run(tmp_path, emb):
    settings = {
        "steps": 4,
        "batch_size": 4,
        "lr": 1e-2,
        "warmup_steps": 1,
        "grad_accum": 2,
        "noise_std": 0.05,
        "log_every": 1,
        "progress": False,
    }
    straight = _inverter(emb).fit(TEXTS, **settings)

    class Interrupt(Exception):
        pass

    def stop_at_two(record):
        if record.get("step") == 2 and "loss" in record:
            raise Interrupt

    out = tmp_path / "run"
    first = _inverter(emb)
    with pytest.raises(Interrupt):
        first.fit(TEXTS, out_dir=out, checkpoint_every=2, callback=stop_at_two, **settings)
    assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 2
    halfway = _weights(first)
    assert any(not torch.equal(halfway[k], v) for k, v in _weights(straight).items())

    resumed = _inverter(emb).fit(TEXTS, out_dir=out, resume=True, checkpoint_every=2, **settings)
    assert resumed.history_.resumed_from == 2
    want, got = _weights(straight), _weights(resumed)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, msg=k)
    losses = lambda h: [r["loss"] for r in h if "loss" in r]  # noqa: E731
    assert losses(resumed.history_.history) == losses(straight.history_.history)[2:]
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4]  # no duplicates after resume
    assert [r["loss"] for r in log if "loss" in r] == losses(straight.history_.history)
    # a finished run resumed again does nothing more
    done = _inverter(emb).fit(TEXTS, out_dir=out, resume=True, checkpoint_every=2, **settings)
    assert done.history_.resumed_from == 4
    for k in want:
        assert torch.equal(_weights(done)[k], want[k])


def test_time_limit_stops_at_a_checkpointed_step_that_resume_continues(tmp_path, emb):
    settings = {"steps": 3, "batch_size": 4, "lr": 1e-2, "warmup_steps": 1, "progress": False}
    straight = _inverter(emb).fit(TEXTS, log_every=1, **settings)
    out = tmp_path / "run"
    # a limit any step overruns: the run stops after its first step, evaluated and saved
    cut = _inverter(emb).fit(
        TEXTS, out_dir=out, time_limit=1e-9, eval_texts=TEXTS[:2], log_every=1, **settings
    )
    assert cut.history_.steps == 1
    events = [r for r in cut.history_.history if r.get("event") == "time_limit"]
    assert events == [{"event": "time_limit", "step": 1, "of": 3}]
    assert [r["step"] for r in cut.history_.history if r.get("event") == "eval"] == [1]
    assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 1
    assert (out / "inverter" / "config.json").is_file()
    resumed = _inverter(emb).fit(TEXTS, out_dir=out, resume=True, log_every=1, **settings)
    assert resumed.history_.resumed_from == 1 and resumed.history_.steps == 3
    want, got = _weights(straight), _weights(resumed)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, msg=k)
    for bad in (0, -1.0, "10s"):
        with pytest.raises(ValueError, match="time_limit"):
            _inverter(emb).fit(TEXTS, time_limit=bad, **settings)


def test_resume_with_other_settings_is_refused(tmp_path, emb):
    out = tmp_path / "run"
    _inverter(emb).fit(TEXTS, steps=2, batch_size=2, out_dir=out, progress=False)
    with pytest.raises(ValueError, match="cannot resume"):
        _inverter(emb).fit(TEXTS, steps=2, batch_size=3, out_dir=out, resume=True, progress=False)
    with pytest.raises(ValueError, match="out_dir"):
        _inverter(emb).fit(TEXTS, steps=2, resume=True, progress=False)


def test_checkpoint_and_output_hold_no_pickles(tmp_path, emb):
    out = tmp_path / "run"
    _inverter(emb).fit(TEXTS, steps=2, batch_size=2, out_dir=out, progress=False)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "checkpoint/trainable.safetensors",
        "checkpoint/optimizer.safetensors",
        "checkpoint/optimizer.json",
        "checkpoint/rng.safetensors",
        "checkpoint/trainer_state.json",
        "train_log.jsonl",
        "inverter/config.json",
        "inverter/model.safetensors",
    } <= files
    assert not [f for f in files if f.endswith((".pt", ".bin", ".pkl", ".pickle"))]


def test_long_texts_are_truncated_with_one_warning_and_counted(tmp_path, emb):
    texts = [*TEXTS, "x" * 40, "y" * 50, "short"]
    with pytest.warns(UserWarning, match=r"2 of 9 training texts are longer") as caught:
        inv = _inverter(emb).fit(texts, steps=2, batch_size=3, out_dir=tmp_path, progress=False)
    assert sum("longer than" in str(w.message) for w in caught) == 1
    assert inv.history_.truncated == 2
    start = json.loads((tmp_path / "train_log.jsonl").read_text().splitlines()[0])
    assert start["event"] == "start" and start["truncated"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _inverter(emb).fit(TEXTS, steps=1, batch_size=2, progress=False)  # nothing to truncate


def test_held_out_evaluation_reports_metrics(emb):
    records = []
    inv = _inverter(emb).fit(
        TEXTS[:4],
        steps=4,
        batch_size=2,
        eval_texts=TEXTS[4:],
        eval_every=2,
        progress=False,
        callback=records.append,
    )
    evals = [r for r in records if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    for key in ("eval_loss", "bleu", "token_f1", "exact_match", "cosine"):
        assert all(np.isfinite(r[key]) for r in evals), key
    assert evals[-1]["examples"][0]["reference"] == TEXTS[4]
    custom = _inverter(emb).fit(
        TEXTS, steps=1, batch_size=2, eval_texts=TEXTS[:2], progress=False,
        eval_fn=lambda refs, hyps: {"n_refs": float(len(refs))},
    )  # fmt: skip
    assert [r["n_refs"] for r in custom.history_.history if r.get("event") == "eval"] == [2.0]
    assert inv.history_.final_loss is not None


def test_empty_corpus_and_mismatched_pairs_raise(emb):
    with pytest.raises(ValueError, match="corpus is empty"):
        _inverter(emb).fit([], steps=1)
    inv = _inverter(emb)
    inv._build(emb.dim)
    cfg = TrainConfig(steps=1, batch_size=2)
    with pytest.raises(ValueError, match="corpus is empty"):
        train(inv, np.zeros((0, 16)), [], cfg)
    with pytest.raises(ValueError, match="one vector per text"):
        train(inv, np.zeros((3, 16)), TEXTS, cfg)
    with pytest.raises(TypeError):
        train(inv, np.zeros((2, 16)), ["a", 3], cfg)
    with pytest.raises(TypeError, match="single str"):
        train(inv, np.zeros((3, 16)), "abc", cfg)
    bad = np.zeros((6, 16))
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        train(inv, bad, TEXTS, cfg)
    with pytest.raises(ValueError, match="eval_X"):
        train(inv, np.zeros((6, 16)), TEXTS, cfg, eval_texts=["a"])


def test_training_leaves_the_callers_rng_alone(emb):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _inverter(emb).fit(TEXTS, steps=2, batch_size=2, noise_std=0.1, progress=False)
    assert torch.equal(torch.rand(3), expected)


WORKER = """
import json, sys
import torch
torch.set_num_threads(1)
from tiny_models import tiny_causal_lm, tiny_embedder
from inversion.inverter import Inverter
texts = json.loads(sys.argv[1])
inv = Inverter(embedder=tiny_embedder(dim=16), decoder=tiny_causal_lm(hidden=32, seed=1),
               prefix_tokens=2, max_length=12, finetune="full")
inv.fit(texts, steps=3, batch_size=4, lr=1e-2, warmup_steps=1, log_every=1, progress=False,
        out_dir=sys.argv[2])
torch.distributed.barrier()
if torch.distributed.get_rank() == 0:
    from safetensors.torch import save_file
    params = inv.trainable_module().named_parameters()
    save_file({k: v.detach().contiguous() for k, v in params}, sys.argv[3])
"""


@pytest.mark.slow  # two fresh Python processes importing torch: ~10-30 s on a shared CPU
def test_data_parallel_run_equals_a_single_process(tmp_path, emb):
    """Two processes (as `accelerate launch` starts them) take the same steps as one process."""
    pytest.importorskip("accelerate")
    import os
    import socket
    import subprocess
    import sys

    from safetensors.torch import load_file

    texts = ["abcd", "efgh", "ijkl", "mnop", "qrst", "uvwx", "yzab", "cdef"]  # equal lengths
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "weights.safetensors"
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "CUDA_VISIBLE_DEVICES": "",
            # the library, and tests/ for tiny_models
            "PYTHONPATH": os.pathsep.join([os.getcwd(), str(Path(__file__).parents[1])]),
        }
        cmd = [sys.executable, str(script), json.dumps(texts), str(tmp_path / "run"), str(out)]
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True))
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    single = _inverter(emb).fit(
        texts, steps=3, batch_size=4, lr=1e-2, warmup_steps=1, progress=False
    )
    want = dict(single.trainable_module().named_parameters())
    got = load_file(str(out))
    assert set(got) == set(want)
    # Equal up to float summation order, which Adam's normalization amplifies to ~1e-6; a
    # wrong split or a missing all-reduce moves weights by ~lr = 1e-2.
    for k in want:
        torch.testing.assert_close(got[k], want[k], atol=1e-4, rtol=0, msg=k)
    log = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    assert len([line for line in log if '"loss"' in line]) == 3  # one writer, not two


def test_without_eval_fn_only_the_held_out_loss_is_reported(emb):
    inv = _inverter(emb)
    inv._build(emb.dim)
    X = emb.embed(TEXTS)
    result = train(
        inv, X, TEXTS, TrainConfig(steps=2, batch_size=3), eval_X=X[:2], eval_texts=TEXTS[:2]
    )
    (record,) = [r for r in result.history if r.get("event") == "eval"]
    assert set(record) == {"event", "step", "eval_loss"}
    assert result.steps == 2 and result.final_loss is not None


def test_config_pick_takes_the_fields_it_finds_and_defaults_the_rest():
    from embedlens.train import TrainConfig

    config = TrainConfig.pick({"steps": 7, "lr": 0.5, "texts": ["not a field"], "self": object()})
    assert (config.steps, config.lr) == (7, 0.5)
    assert config.batch_size == TrainConfig().batch_size
    with pytest.raises(ValueError, match="steps"):
        TrainConfig.pick({"steps": 0})


def test_a_tampered_checkpoint_is_refused_with_its_file(tmp_path, emb):
    from safetensors.torch import load_file, save_file

    out = tmp_path / "run"
    settings = {"steps": 2, "batch_size": 4, "log_every": 1, "progress": False}
    _inverter(emb).fit(TEXTS, out_dir=out, checkpoint_every=1, **settings)
    weights = out / "checkpoint" / "trainable.safetensors"
    tensors = load_file(str(weights))
    save_file({k: torch.full_like(v, float("nan")) for k, v in tensors.items()}, str(weights))
    with pytest.raises(ValueError, match=r"trainable\.safetensors"):
        _inverter(emb).fit(TEXTS, out_dir=out, resume=True, **{**settings, "steps": 3})
