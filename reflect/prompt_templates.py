"""The prompt templates and fixed messages answering uses, read from the `reflect.prompts` package.

The files live in the repository's top-level `prompts/` folder, installed as `reflect.prompts`,
so they can be edited as plain text. Templates use `string.Template` (`$name`); the variables
each one must use are declared here, and `validate_prompts()` checks the files against that
at start-up, so a damaged or mis-edited template fails loudly once instead of producing odd
prompts later.

(This module is not called `reflect/prompts.py` on purpose: that name would shadow the
`reflect.prompts` package of templates.)
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

from reflect.errors import ReflectError

PROMPTS_PACKAGE = "reflect.prompts"

# Every template and the exact set of variables it must use: a variable missing from a
# template would silently drop information, an unknown one would fail at the worst moment.
TEMPLATE_VARIABLES: Mapping[str, frozenset[str]] = {
    "system.txt": frozenset(),
    "answer.txt": frozenset({"excerpts", "question"}),
    "not_found.txt": frozenset(),
    "scope.txt": frozenset(),
    "safety.txt": frozenset({"resources", "emergency"}),
    "extractive.txt": frozenset({"date", "who", "quote", "n"}),
    "example.txt": frozenset(),
}
# example.txt is one worked example, given to the model as an earlier exchange: the user turn
# (in answer.txt's shape), this line, then the reply. A one-sentence example sent as its own
# turns was copied into 0 of 6 real answers; the same example inside the user turn, 4 of 6.
EXAMPLE_ANSWER_MARKER = "=== answer ==="
CRISIS_RESOURCES_FILE = "crisis_resources.json"
CRISIS_TERMS_FILE = "crisis_terms.txt"


class PromptError(ReflectError):
    title = "Prompt files damaged"


@dataclass(frozen=True, slots=True)
class CrisisResources:
    """Who to contact in one region, shown verbatim in the safety message."""

    region: str
    name: str
    emergency: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prompts:
    system: str
    answer: Template
    not_found: str
    scope: str
    safety: Template
    extractive: Template
    crisis_resources: Mapping[str, CrisisResources]
    default_region: str
    crisis_patterns: tuple[re.Pattern[str], ...]
    example_question: str
    example_answer: str

    def render_answer(self, *, excerpts: str, question: str) -> str:
        return self.answer.substitute(excerpts=excerpts, question=question).strip()

    def safety_message(self, region: str | None = None) -> str:
        """The fixed crisis message for `region` (default region when None or unknown)."""
        resources = self.crisis_resources.get(region or self.default_region)
        if resources is None:
            resources = self.crisis_resources[self.default_region]
        return self.safety.substitute(
            resources="\n".join(f"- {line}" for line in resources.lines),
            emergency=resources.emergency,
        ).strip()

    def extractive_line(self, *, date: dt.date, who: str, quote: str, n: int) -> str:
        return self.extractive.substitute(
            date=format_date(date), who=who, quote=quote, n=str(n)
        ).strip()

    def mentions_crisis(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.crisis_patterns)


def format_date(date: dt.date) -> str:
    """'8 January 2026': the spelled-out month reads unambiguously in every English locale."""
    return f"{date.day} {date:%B %Y}"


def validate_prompts(source: Traversable | Path | None = None) -> Prompts:
    """Load and check every prompt file; raises `PromptError` naming the first problem.

    `source` is a folder holding the files (tests pass their own); by default, the installed
    `reflect.prompts` package. The default set is read once and cached.
    """
    if source is None:
        return _default_prompts()
    return _load(source)


@functools.cache
def _default_prompts() -> Prompts:
    try:
        source = importlib.resources.files(PROMPTS_PACKAGE)
    except ModuleNotFoundError:
        raise PromptError(
            f"reflect's prompt files (package {PROMPTS_PACKAGE}) are not installed; "
            "reinstall reflect."
        ) from None
    return _load(source)


def _load(source: Traversable | Path) -> Prompts:
    templates = {
        name: _template(source, name, wanted) for name, wanted in TEMPLATE_VARIABLES.items()
    }
    resources, default_region = _crisis_resources(_read(source, CRISIS_RESOURCES_FILE))
    example_question, example_answer = _example(templates["example.txt"].template)
    return Prompts(
        system=templates["system.txt"].template.strip(),
        answer=templates["answer.txt"],
        not_found=templates["not_found.txt"].template.strip(),
        scope=templates["scope.txt"].template.strip(),
        safety=templates["safety.txt"],
        extractive=templates["extractive.txt"],
        crisis_resources=resources,
        default_region=default_region,
        crisis_patterns=_crisis_patterns(_read(source, CRISIS_TERMS_FILE)),
        example_question=example_question,
        example_answer=example_answer,
    )


def _read(source: Traversable | Path, name: str) -> str:
    file = source.joinpath(name)
    try:
        if not file.is_file():
            raise PromptError(f"The prompt file {name} is missing; reinstall reflect.")
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"The prompt file {name} could not be read ({exc}).") from exc


def _template(source: Traversable | Path, name: str, wanted: frozenset[str]) -> Template:
    template = Template(_read(source, name))
    if not template.is_valid():
        raise PromptError(
            f"The prompt file {name} has a '$' that is not a variable; write '$$' for a "
            "dollar sign."
        )
    used = set(template.get_identifiers())
    missing, unknown = sorted(wanted - used), sorted(used - wanted)
    if missing:
        raise PromptError(f"The prompt file {name} does not use ${', $'.join(missing)}.")
    if unknown:
        raise PromptError(
            f"The prompt file {name} uses unknown variable ${', $'.join(unknown)}; "
            f"it may use only: {', '.join('$' + v for v in sorted(wanted)) or 'no variables'}."
        )
    return template


def _example(text: str) -> tuple[str, str]:
    parts = text.split(f"\n{EXAMPLE_ANSWER_MARKER}\n")
    if len(parts) != 2 or not parts[0].strip() or not re.search(r"\[\d+\]", parts[1]):
        raise PromptError(
            f"The prompt file example.txt needs a question, a line '{EXAMPLE_ANSWER_MARKER}' "
            "and an answer that cites an excerpt like [1]."
        )
    return parts[0].strip(), parts[1].strip()


def _crisis_resources(text: str) -> tuple[dict[str, CrisisResources], str]:
    problem = f"The prompt file {CRISIS_RESOURCES_FILE} is not valid"
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise PromptError(f"{problem} JSON ({exc}).") from exc
    regions = data.get("regions") if isinstance(data, dict) else None
    default = data.get("default") if isinstance(data, dict) else None
    if not isinstance(regions, dict) or not regions:
        raise PromptError(f'{problem}: it needs a non-empty "regions" table.')
    resources: dict[str, CrisisResources] = {}
    for region, entry in regions.items():
        lines = entry.get("lines") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("emergency"), str)
            or not isinstance(lines, list)
            or not lines
            or not all(isinstance(line, str) and line.strip() for line in lines)
        ):
            raise PromptError(
                f"{problem}: region {region!r} needs a name, an emergency number and lines."
            )
        resources[region] = CrisisResources(region, entry["name"], entry["emergency"], tuple(lines))
    if default not in resources:
        raise PromptError(f'{problem}: "default" must name one of its regions.')
    return resources, str(default)


def _crisis_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            # Apostrophes vary with keyboards and transcription tools: "don't" / "don’t".
            body = line.replace("'", "['’]")
            patterns.append(re.compile(rf"\b(?:{body})\b", re.IGNORECASE))
        except re.error as exc:
            raise PromptError(
                f"Line {number} of the prompt file {CRISIS_TERMS_FILE} is not a valid "
                f"pattern ({exc})."
            ) from exc
    if not patterns:
        raise PromptError(f"The prompt file {CRISIS_TERMS_FILE} lists no patterns.")
    return tuple(patterns)
