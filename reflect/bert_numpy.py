"""A BERT sentence encoder (transformer, mean pooling, L2 normalisation) in plain numpy.

Why: the bundled all-MiniLM-L6-v2 is six small layers, and a question is a dozen tokens,
yet loading it through sentence-transformers means importing torch and transformers: 4-5 s
of a `reflect quotes` that otherwise takes 1.5 s (bench/README.md, "Fast from cold"). Here
the weights are read from the model's own `model.safetensors` (no conversion, nothing
written anywhere) and the text is tokenised by `tokenizers` from its `tokenizer.json`, in
about 0.2 s. The vectors are those of sentence-transformers on torch, up to float rounding
(cosine > 0.99999, tested), so stored records stay valid.

Only the architecture sentence-transformers builds for such a folder is supported: a
`BertModel` with absolute positions and exact GELU, then mean pooling, then `Normalize`.
`supports(folder)` says whether a folder is one; anything else keeps the torch path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reflect import schema

Array = npt.NDArray[np.float32]

_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


# What this encoder reads from a model folder's JSON, checked before use: the folder may be
# one the user chose (`reflect model`), and an odd one is simply not "supported" here.
_MODULES_SCHEMA = schema.list_of({"type": schema.optional(str)})
_CONFIG_SCHEMA = {
    "num_attention_heads": schema.int_in(1, 1024),
    "num_hidden_layers": schema.int_in(1, 1024),
    "hidden_size": schema.int_in(1, 65_536),
    "layer_norm_eps": schema.optional(float),
}
_POOLING_SCHEMA = schema.dict_of(schema.anything)
_ST_CONFIG_SCHEMA = {"max_seq_length": schema.optional(schema.int_in(1, 1 << 20))}


class _Unsupported(Exception):
    pass


def _json(path: Path, spec: object) -> Any:
    return schema.load(path.read_bytes(), spec, _Unsupported)


def supports(folder: Path) -> bool:
    """True when `folder` is a BERT + mean pooling + Normalize sentence-transformers model."""
    try:
        modules = _json(folder / "modules.json", _MODULES_SCHEMA)
        config = _json(folder / "config.json", _CONFIG_SCHEMA)
        pooling = _json(folder / "1_Pooling" / "config.json", _POOLING_SCHEMA)
        st_config = folder / "sentence_bert_config.json"
        if st_config.is_file():
            _json(st_config, _ST_CONFIG_SCHEMA)
    except (OSError, _Unsupported):
        return False
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    return (
        [m.get("type") for m in modules] == _MODULES
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and modes == ["pooling_mode_mean_tokens"]
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


class NumpyBert:
    def __init__(self, folder: Path, *, max_tokens: int | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        st_config_file = folder / "sentence_bert_config.json"
        st_config = json.loads(st_config_file.read_text()) if st_config_file.is_file() else {}
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_tokens = int(max_tokens or st_config.get("max_seq_length") or 512)
        weights = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.w: dict[str, Array] = {
            k.removeprefix(prefix): v.astype(np.float32, copy=False)
            for k, v in weights.items()
            if v.dtype != np.int64
        }
        # Linear weights are stored (out, in); transposed once so each layer is x @ W.
        for name in list(self.w):
            if name.endswith(".weight") and "LayerNorm" not in name and "embeddings" not in name:
                self.w[name] = np.ascontiguousarray(self.w[name].T)
        self.dimension = int(config["hidden_size"])
        tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # As sentence-transformers calls it: cut at max_seq_length, pad to the longest.
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self.tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> Array:
        """Unit vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        hidden = self._forward(ids, types, mask)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
            mask.sum(axis=1, keepdims=True), 1e-9
        )
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def _forward(self, ids: npt.NDArray[np.int64], types: npt.NDArray[np.int64],
                 mask: Array) -> Array:
        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x.astype(np.float32), "embeddings.LayerNorm")
        # Padding gets a large negative score before the softmax, as in BertModel.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        head = x.shape[-1] // self.heads
        for n in range(self.layers):
            p = f"encoder.layer.{n}."

            def split(t: Array) -> Array:
                return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head)) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = self._norm(self._linear(context, p + "attention.output.dense") + x,
                           p + "attention.output.LayerNorm")
            inner = _gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def _linear(self, x: Array, name: str) -> Array:
        out: Array = x @ self.w[name + ".weight"] + self.w[name + ".bias"]
        return out

    def _norm(self, x: Array, name: str) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        out: Array = (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"]
        return out + self.w[name + ".bias"]


def _gelu(x: Array) -> Array:
    """Exact GELU, x * Phi(x), with erf to float32 precision (numpy has no erf)."""
    return (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error: below float32's resolution of
    # the activations it feeds.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                        + t * 1.061405429))))
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out
