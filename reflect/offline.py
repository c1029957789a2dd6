"""No network, by construction: switch off every library's online paths before they load.

Imported first by `reflect/__init__.py`, so it runs before sentence-transformers, Hugging
Face hub, transformers or chromadb are imported anywhere in the process. Models are always
loaded from local paths; these settings make any accidental hub lookup fail fast instead of
reaching out, and silence telemetry.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "TOKENIZERS_PARALLELISM": "false",  # avoids fork warnings, not network; harmless
}


# llama.cpp and torch both use OpenMP; by default its idle threads spin, so on a laptop's few
# cores the embedder, the chat model and the UI starve each other (measured here: generation
# fell from ~20 to ~1.5 tokens/s under load). Passive waiting gives that back. A default only:
# a user's own setting wins.
THREADING_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}


def enforce_offline_environment() -> None:
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ[key] = value
    for key, value in THREADING_DEFAULTS.items():
        os.environ.setdefault(key, value)
