"""Prompt files: loading, the variables each template must use, crisis resources and terms."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
from pathlib import Path

import pytest

from reflect.prompt_templates import (
    CRISIS_RESOURCES_FILE,
    CRISIS_TERMS_FILE,
    PROMPTS_PACKAGE,
    TEMPLATE_VARIABLES,
    PromptError,
    validate_prompts,
)

ALL_FILES = [*TEMPLATE_VARIABLES, CRISIS_RESOURCES_FILE, CRISIS_TERMS_FILE]


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    """A writable copy of the installed prompt files."""
    source = importlib.resources.files(PROMPTS_PACKAGE)
    folder = tmp_path / "prompts"
    folder.mkdir()
    for name in ALL_FILES:
        (folder / name).write_text(source.joinpath(name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    return folder


def test_installed_prompts_are_valid() -> None:
    prompts = validate_prompts()
    assert "excerpt" in prompts.system.lower()
    assert prompts.not_found.startswith("I couldn't find that in your sessions.")
    assert "therapist" in prompts.scope
    assert "[1]" in prompts.example_answer
    rendered = prompts.render_answer(excerpts='[1] 2 May 2024, You: "hello there"',
                                     question="what did I say?")
    assert '[1] 2 May 2024, You: "hello there"' in rendered
    assert "what did I say?" in rendered


def test_a_copy_of_the_files_validates(prompt_dir: Path) -> None:
    assert validate_prompts(prompt_dir).system == validate_prompts().system


def test_us_is_the_default_region() -> None:
    message = validate_prompts().safety_message()
    assert "988" in message
    assert "findahelpline.com" in message
    assert "$" not in message


def test_uk_and_ireland_get_samaritans() -> None:
    message = validate_prompts().safety_message("UK/IE")
    assert "Samaritans" in message and "116 123" in message


def test_unknown_region_falls_back_to_the_default() -> None:
    prompts = validate_prompts()
    assert prompts.safety_message("Atlantis") == prompts.safety_message("US")


def test_extractive_line() -> None:
    line = validate_prompts().extractive_line(
        date=dt.date(2026, 1, 8), who="you", quote="I wake at four", n=2
    )
    assert line == 'On 8 January 2026 you said: "I wake at four" [2]'


@pytest.mark.parametrize("name", ALL_FILES)
def test_missing_file_is_named(prompt_dir: Path, name: str) -> None:
    (prompt_dir / name).unlink()
    with pytest.raises(PromptError, match=name.replace(".", r"\.")):
        validate_prompts(prompt_dir)


def test_missing_variable(prompt_dir: Path) -> None:
    (prompt_dir / "answer.txt").write_text("Excerpts:\n$excerpts\n", encoding="utf-8")
    with pytest.raises(PromptError, match=r"answer\.txt does not use \$question"):
        validate_prompts(prompt_dir)


def test_unknown_variable(prompt_dir: Path) -> None:
    (prompt_dir / "not_found.txt").write_text("Not found, $name.", encoding="utf-8")
    with pytest.raises(PromptError, match=r"unknown variable \$name"):
        validate_prompts(prompt_dir)


def test_stray_dollar_sign(prompt_dir: Path) -> None:
    (prompt_dir / "scope.txt").write_text("That costs $5.", encoding="utf-8")
    with pytest.raises(PromptError, match=r"\$\$"):
        validate_prompts(prompt_dir)


def test_escaped_dollar_is_fine(prompt_dir: Path) -> None:
    (prompt_dir / "scope.txt").write_text("That costs $$5.", encoding="utf-8")
    assert validate_prompts(prompt_dir).scope == "That costs $$5."


def test_example_needs_an_answer_with_a_citation(prompt_dir: Path) -> None:
    (prompt_dir / "example.txt").write_text("Question: hi\n=== answer ===\nHello.\n",
                                            encoding="utf-8")
    with pytest.raises(PromptError, match=r"example\.txt"):
        validate_prompts(prompt_dir)


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        {"default": "US", "regions": {}},
        {"default": "FR", "regions": {"US": {"name": "US", "emergency": "911", "lines": ["x"]}}},
        {"default": "US", "regions": {"US": {"name": "US", "emergency": "911", "lines": []}}},
        {"default": "US", "regions": {"US": {"name": "US", "lines": ["988"]}}},
    ],
)
def test_bad_crisis_resources(prompt_dir: Path, data: object) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    (prompt_dir / CRISIS_RESOURCES_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(PromptError, match=r"crisis_resources\.json"):
        validate_prompts(prompt_dir)


def test_bad_crisis_pattern_names_its_line(prompt_dir: Path) -> None:
    (prompt_dir / CRISIS_TERMS_FILE).write_text("# note\nsuicid\\w*\n(unclosed\n",
                                                encoding="utf-8")
    with pytest.raises(PromptError, match="Line 3"):
        validate_prompts(prompt_dir)


@pytest.mark.parametrize(
    "text",
    [
        "I've had suicidal thoughts",
        "sometimes I want to die",
        "I wanted to kill myself",
        "I thought about ending my life",
        "it would be easier not to wake up",
        "I don’t want to be alive",
        "I've been self-harming again",
        "I was cutting myself",
        "she took an overdose",
        "I'd be better off dead",
    ],
)
def test_crisis_language_is_recognised(text: str) -> None:
    assert validate_prompts().mentions_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "my back is killing me",
        "I'm dying to see the new film",
        "the deadline is killing the team",
        "I feel like I'm drowning in emails",
        "the suit was a killer",
        "we talked about my sleep",
    ],
)
def test_everyday_phrases_are_not_crisis_language(text: str) -> None:
    assert not validate_prompts().mentions_crisis(text)
