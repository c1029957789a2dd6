"""The chat model: which GGUF file to use, and llama.cpp to run it.

How reflect picks the chat template: it does not choose one itself. `llama_cpp.Llama` reads
the GGUF's `tokenizer.chat_template` metadata when it loads the file; when that template is
not one of the few it recognises byte for byte (ChatML, Mistral, Llama-3), it renders the
template itself with Jinja2 (chat format "chat_template.default"), with the model's own BOS
and EOS tokens and a stop on the EOS token. Only a GGUF with no template at all falls back to
the "llama-2" format. The bundled Qwen2.5-Coder-0.5B-Instruct carries Qwen's ChatML-style
template with tool support, so it is rendered from its metadata ("chat_template.default").
`create_chat_completion` then uses that handler; `LlamaChatModel.chat_format` reports which.

Prompt caching: without a `cache` object, `Llama.generate` compares the new prompt's tokens
with the tokens already in the context and evaluates only what follows their longest common
prefix. reflect keeps the system prompt and the worked example first and identical on every
question, so only the excerpts and the question are evaluated after the first question.
Measured (bench/bench_answer.py, bundled model, 2 threads, busy machine): 233 of 583 prompt
tokens reused; prompt evaluation 15.7 s cold vs 8.7 s warm (22.2 vs 11.0 s in a busier run).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reflect.errors import ReflectError
from reflect.paths import user_models_dir

Message = dict[str, str]

MODEL_ENV = "REFLECT_MODEL"
DEFAULT_CONTEXT = 4096


class ChatModelError(ReflectError):
    title = "Chat model problem"


@runtime_checkable
class ChatModel(Protocol):
    """A loaded chat model. `stream` yields text pieces (about one token each)."""

    @property
    def model_id(self) -> str: ...

    @property
    def context_size(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of the whole prompt these messages become, chat template included."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        stop: Sequence[str],
        temperature: float = 0.0,
    ) -> Iterator[str]: ...

    def cancel(self) -> None:
        """Ask a running `stream` to stop after its current token; safe from any thread."""
        ...


@dataclass(frozen=True, slots=True)
class PromptUsage:
    """What the last prompt cost: `reused_tokens` of it were already in the KV cache."""

    prompt_tokens: int
    reused_tokens: int


def load_llama(
    path: Path, *, n_ctx: int, n_threads: int | None, what: str = "chat model file"
) -> Any:
    """A GGUF file loaded by llama.cpp (all cores unless told), or a ChatModelError."""
    # Imported here: loading llama.cpp's shared library is only worth it once a model is.
    import llama_cpp

    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count() or 1,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ChatModelError(
            f"The {what} {path.name} could not be loaded; is it a GGUF model?"
        ) from exc


class LlamaChatModel:
    """A GGUF chat model on llama.cpp, loaded once and used by one stream at a time."""

    def __init__(
        self, path: Path, *, n_ctx: int = DEFAULT_CONTEXT, n_threads: int | None = None
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ChatModelError(f"The chat model file {path} does not exist.")
        # Imported here: loading llama.cpp's shared library is only worth it once a model is.
        from llama_cpp import llama_chat_format

        self.path = path
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._llama: Any = load_llama(path, n_ctx=n_ctx, n_threads=n_threads)
        # The same formatter llama.cpp builds from the GGUF metadata, kept only to count the
        # rendered prompt's tokens; generation goes through create_chat_completion.
        self._formatter: Any = None
        template = self._llama.metadata.get("tokenizer.chat_template")
        if template and self.chat_format == "chat_template.default":
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(self._llama.token_eos()),
                bos_token=self._token_text(self._llama.token_bos()),
            )
        self.last_usage: PromptUsage | None = None

    @property
    def model_id(self) -> str:
        return self.path.stem

    @property
    def context_size(self) -> int:
        return int(self._llama.n_ctx())

    @property
    def chat_format(self) -> str:
        return str(self._llama.chat_format)

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_tokens(messages))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        stop: Sequence[str],
        temperature: float = 0.0,
    ) -> Iterator[str]:
        with self._lock:
            self._cancel.clear()
            self._record_usage(messages)
            chunks = self._llama.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                stop=list(stop),
                temperature=temperature,
                stream=True,
            )
            try:
                for chunk in chunks:
                    if self._cancel.is_set():
                        break
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                # Closing the generator ends llama.cpp's decoding loop; the tokens it did
                # evaluate stay in the context and count towards the next prefix match.
                with contextlib.suppress(Exception):
                    chunks.close()

    def cancel(self) -> None:
        """Stop after the current token. llama.cpp evaluates the prompt in one call with no
        hook, so a cancel during prompt evaluation takes effect at the first token."""
        self._cancel.set()

    def _prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        if self._formatter is None:
            text = "\n".join(m["content"] for m in messages)
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))
        prompt = self._formatter(messages=list(messages)).prompt
        return list(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def _record_usage(self, messages: Sequence[Message]) -> None:
        tokens = self._prompt_tokens(messages)
        cached = list(self._llama._input_ids)
        reused = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            reused += 1
        self.last_usage = PromptUsage(len(tokens), reused)

    def _token_text(self, token: int) -> str:
        return "" if token == -1 else str(self._llama._model.token_get_text(token))


# ---- which model file ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelCandidate:
    """A chat model reflect could use; `selected` marks the one it will."""

    path: Path | None
    source: str
    size_bytes: int | None
    exists: bool
    selected: bool = False

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "(not set)"


SOURCE_OPTION = "--model"
SOURCE_ENV = MODEL_ENV
SOURCE_VAULT = "vault setting"
SOURCE_USER_FOLDER = "models folder"
SOURCE_REPOSITORY = "repository models/"
SOURCE_BUNDLED = "bundled"


def resolve_model_path(
    cli_path: str | os.PathLike[str] | None = None,
    vault_setting: str | os.PathLike[str] | None = None,
) -> tuple[Path, str]:
    """The chat model to load and where that choice came from; the first match wins.

    `--model PATH`, then $REFLECT_MODEL, then the vault's setting (a named file must exist:
    a typo is an error, not a silent fall-back), then the first `*.gguf` in the user's models
    folder, then in the repository's `models/` folder (source checkouts only), then the
    bundled model, unpacked into the cache on first use.
    """
    for path, source in _explicit_choices(cli_path, vault_setting):
        return _existing_model(path, source), source
    for folder, source in _model_folders():
        found = _ggufs(folder)
        if found:
            return found[0], source
    from reflect.bundled import chat_model_path

    return chat_model_path(), SOURCE_BUNDLED


def list_models(
    cli_path: str | os.PathLike[str] | None = None,
    vault_setting: str | os.PathLike[str] | None = None,
) -> list[ModelCandidate]:
    """Every chat model reflect sees, in the order it would consider them.

    Cheap: nothing is loaded or unpacked. The bundled model is listed at its cache path with
    its known size, unpacked or not.
    """
    from reflect.bundled import (
        BUNDLED_CHAT_MODEL_SIZE,
        CHAT_MODEL_FILENAME,
        default_model_cache_dir,
    )

    candidates: list[ModelCandidate] = []
    for path, source in _explicit_choices(cli_path, vault_setting):
        target = _gguf_in(path) if path.is_dir() else path
        candidates.append(_candidate(target or path, source))
    for folder, source in _model_folders():
        candidates.extend(_candidate(path, source) for path in _ggufs(folder))
    bundled = default_model_cache_dir() / CHAT_MODEL_FILENAME
    candidates.append(ModelCandidate(bundled, SOURCE_BUNDLED, BUNDLED_CHAT_MODEL_SIZE, exists=True))
    chosen = next((i for i, c in enumerate(candidates) if c.exists or c.source in _EXPLICIT), None)
    if chosen is not None:
        c = candidates[chosen]
        candidates[chosen] = ModelCandidate(c.path, c.source, c.size_bytes, c.exists, True)
    return candidates


_EXPLICIT = (SOURCE_OPTION, SOURCE_ENV, SOURCE_VAULT)


def _explicit_choices(
    cli_path: str | os.PathLike[str] | None, vault_setting: str | os.PathLike[str] | None
) -> list[tuple[Path, str]]:
    choices = [
        (cli_path, SOURCE_OPTION),
        (os.environ.get(MODEL_ENV) or None, SOURCE_ENV),
        (vault_setting, SOURCE_VAULT),
    ]
    return [(Path(value).expanduser(), source) for value, source in choices if value]


def _model_folders() -> list[tuple[Path, str]]:
    folders = [(user_models_dir(), SOURCE_USER_FOLDER)]
    repository = repository_models_dir()
    if repository is not None:
        folders.append((repository, SOURCE_REPOSITORY))
    return folders


def repository_models_dir() -> Path | None:
    """`models/` beside the package, when reflect runs from a source checkout; else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    return None


def _existing_model(path: Path, source: str) -> Path:
    if path.is_dir():
        found = _gguf_in(path)
        if found is None:
            raise ChatModelError(f"The folder {path} (from {source}) has no .gguf chat model.")
        return found
    if not path.is_file():
        raise ChatModelError(
            f"The chat model {path} (from {source}) does not exist; check the path, or "
            "run `reflect models` to see the models reflect can find."
        )
    return path


def _gguf_in(folder: Path) -> Path | None:
    found = _ggufs(folder)
    return found[0] if found else None


def _ggufs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.gguf") if p.is_file())
    except OSError:
        return []


def _candidate(path: Path, source: str) -> ModelCandidate:
    try:
        size: int | None = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    return ModelCandidate(path, source, size, exists=size is not None)
