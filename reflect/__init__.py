"""reflect: a private, fully offline companion for people in therapy.

The core (vault, ingest, index, retrieval, answers) lives in this package and never imports
the terminal UI; `reflect.tui` and `reflect.cli` are thin layers over `reflect.service`.
"""

from reflect.offline import enforce_offline_environment

enforce_offline_environment()

__version__ = "0.1.0"
