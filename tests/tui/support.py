"""Shared helpers for the TUI tests: invented sessions, a prepared vault, fake models, waiting.

No tests live here. The people and sessions below are invented.
"""

# Transcript lines are as long as people talk.
# ruff: noqa: E501

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from reflect import crypto
from reflect.ingest import ImportOptions
from reflect.llm import Message
from reflect.service import Reflect
from reflect.testing import FakeChatModel, FakeEmbedder
from reflect.tui.app import ReflectApp, create_app

PASSPHRASE = "tea by the window at noon"
ME = "Jonah"

SESSIONS: dict[str, str] = {
    "2025-03-04 first session.vtt": """WEBVTT

00:00:03.000 --> 00:00:08.000
<v Dr. Okafor>Hello Jonah. Come in, sit wherever you like. How has the week been?</v>

00:00:09.000 --> 00:00:21.000
<v Jonah>Tired, mostly. I keep waking up at three and then I just lie there scrolling until it gets light.</v>

00:00:22.000 --> 00:00:30.000
<v Dr. Okafor>That sounds exhausting. Where is your phone at night?</v>

00:00:31.000 --> 00:00:40.000
<v Jonah>On the pillow, honestly. Right next to my head.</v>

00:00:41.000 --> 00:01:02.000
<v Dr. Okafor>One small experiment for this week: leave the phone in the kitchen when you go to bed, and keep a paper book by the bed instead. If you wake at three, read a page rather than scroll.</v>

00:01:03.000 --> 00:01:12.000
<v Jonah>The phone in the kitchen. Okay. I can try that. I'll need an alarm clock though.</v>

00:01:13.000 --> 00:01:25.000
<v Dr. Okafor>A cheap alarm clock is a good idea. And notice how you feel on the mornings after, without judging it.</v>
""",
    "2025-03-18 second session.txt": """\
[00:00:04] Dr. Okafor: Welcome back, Jonah. How did the experiment with the phone go?
[00:00:10] Jonah: Better than I expected. I left the phone in the kitchen five nights out of seven, and I slept through on three of them.
[00:00:22] Dr. Okafor: That is a real change. What was different on the nights you slept through?
[00:00:30] Jonah: I read the paper book for ten minutes and my mind went quiet. On the other nights I went to get the phone.
[00:00:41] Dr. Okafor: Let's talk about your sister too. Last time you mentioned Ruth was visiting.
[00:00:48] Jonah: Ruth stayed for the weekend. We went running by the canal on Saturday, which we haven't done since we were teenagers.
[00:01:02] Dr. Okafor: How did that feel?
[00:01:05] Jonah: Good. Lighter. She said I seemed calmer than at Christmas.
""",
    "2025-04-01 third session.txt": """\
Dr. Okafor  0:02
Good to see you, Jonah. Where would you like to start today?

Jonah  0:07
Work, I think. My manager moved the deadline again and I felt my chest go tight in the meeting.

Dr. Okafor  0:19
What did you do when your chest went tight?

Jonah  0:24
I did the slow breathing we practised, four in and six out, under the table where nobody could see.

Dr. Okafor  0:36
And did it help?

Jonah  0:38
A bit. Enough to say I needed until Friday instead of just agreeing.
""",
}

# Two more sessions, to import during a test.
NEW_SESSIONS: dict[str, str] = {
    "2025-04-15 fourth session.txt": """\
[00:00:03] Dr. Okafor: Last time you said the deadline moved. How did Friday go?
[00:00:09] Jonah: I handed it in on Friday and my manager said thank you, which surprised me.
[00:00:18] Dr. Okafor: What did you notice in your body when she said that?
[00:00:24] Jonah: My shoulders dropped. I hadn't noticed they were up by my ears.
""",
    "2025-04-29 fifth session.txt": """\
[00:00:02] Dr. Okafor: How have the evenings been?
[00:00:06] Jonah: Quieter. I cooked with Ruth on Sunday and we laughed about the canal run.
[00:00:15] Dr. Okafor: It sounds like you're letting people closer again.
""",
}

# Two later sessions with an agreement and its follow-up, for the timeline and agreements
# views (a vault of their own: the other tests count three sessions).
ACROSS_SESSIONS: dict[str, str] = {
    "2025-05-06 sleep diary.txt": """\
[00:00:03] Dr. Okafor: How have the nights been since we last met?
[00:00:08] Jonah: Patchy. Some nights I sleep through, some nights I'm up at three again and I can't get back to sleep.
[00:00:19] Dr. Okafor: Would you be up for keeping a sleep diary this week? Just a line each morning: when you went to bed and when you woke.
[00:00:31] Jonah: Yeah, I'll try that. I'll keep it by the kettle so I see it.
[00:00:39] Dr. Okafor: Good. And the evening walks you mentioned?
[00:00:44] Jonah: I'm going to walk by the canal on Tuesday and Thursday after work.
""",
    "2025-05-20 after the diary.txt": """\
[00:00:02] Dr. Okafor: Did you manage the sleep diary?
[00:00:06] Jonah: I kept the sleep diary every morning except Sunday. It showed I sleep better after the canal walks.
[00:00:18] Dr. Okafor: That's useful to know. What else did the diary show you?
[00:00:24] Jonah: That I go to bed later on the nights I work late, and then the sleep is worse.
[00:00:33] Dr. Okafor: So the late work eats into the sleep twice: the hours, and the winding down after.
[00:00:41] Jonah: Exactly. I lie there going over emails in my head until one or two, and the next morning I'm wrecked and drink three coffees to get going.
[00:00:55] Dr. Okafor: What would a realistic limit on the late evenings look like for you?
[00:01:02] Jonah: I'll stop working past seven on weeknights. Maybe one late night a week if there's a deadline.
[00:01:12] Dr. Okafor: That sounds like a plan you could keep. And bring the diary next time, so we can see whether the early nights help the sleep.
[00:01:22] Jonah: I will. I'm curious myself whether it makes a difference to how I sleep and how I feel at work.
""",
}

# A reply the answer checks keep: it restates excerpt [4] of the phone question below.
PHONE_QUESTION = "what did we say about my phone at night?"
# [5]: the second session's "I left the phone in the kitchen five nights out of seven" (the
# first session's "Where is your phone at night?" is answered by [3], kept beside it).
PHONE_REPLY = "You said you left the phone in the kitchen five nights out of seven [5]."
NOT_FOUND_QUESTION = "did we talk about cooking pasta?"

SETTLE_SECONDS = 15.0


def write_sessions(
    folder: Path, sessions: dict[str, str] = SESSIONS, *, broken: bool = False
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sessions.items():
        (folder / name).write_text(text, encoding="utf-8")
    if broken:
        (folder / "broken notes.vtt").write_bytes(b"\x00\x01\x02 not a transcript \xff\xfe")
    return folder


_templates: dict[str, Path] = {}


def _built_once(factory: pytest.TempPathFactory, name: str, *session_sets: dict[str, str]) -> Path:
    """A vault holding `session_sets`, built once per test run under `name`."""
    if name not in _templates:
        root = factory.mktemp(name)
        service = Reflect.create(
            root / "vault",
            PASSPHRASE,
            kdf=crypto.floor_kdf_params(),
            embedder_factory=FakeEmbedder,
        )
        folder = root / "sessions"
        for sessions in session_sets:
            write_sessions(folder, sessions)
        service.import_paths([folder], ImportOptions(me=ME))
        service.lock()
        _templates[name] = root / "vault"
    return _templates[name]


def template_vault(factory: pytest.TempPathFactory) -> Path:
    """A vault holding the invented sessions, built once per test run."""
    return _built_once(factory, "tui-template", SESSIONS)


def across_template_vault(factory: pytest.TempPathFactory) -> Path:
    """A vault holding the invented sessions and the two later ones with agreements."""
    return _built_once(factory, "tui-across-template", SESSIONS, ACROSS_SESSIONS)


def copy_vault(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "vault"
    shutil.copytree(template, target)
    return target


def make_app(
    vault: Path,
    replies: Sequence[str] = (PHONE_REPLY,),
    *,
    model: FakeChatModel | None = None,
    model_factory: Callable[[], Any] | None = None,
    **options: Any,
) -> ReflectApp:
    def default_factory() -> FakeChatModel:
        return model if model is not None else FakeChatModel(list(replies))

    options.setdefault("embedder_factory", FakeEmbedder)
    return create_app(
        vault,
        model_factory=model_factory or default_factory,
        kdf=crypto.floor_kdf_params(),
        **options,
    )


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = SETTLE_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.02)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Key by key, as a person types (slow in Pilot: keep it for short texts)."""
    await pilot.press(*text)


async def fill_and_submit(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Put `text` in a box and press Enter: what typing does, minus a pause per key."""
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = text
    await pilot.press("enter")


async def run_command(pilot: Pilot[Any], words: str) -> None:
    """Open the command palette, type `words`, and pick the command it finds first."""
    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await type_text(pilot, words)

    def found() -> bool:
        commands = pilot.app.screen.query(CommandList)
        if not commands:
            return False
        option = commands.first(CommandList).highlighted_option
        return option is not None and words.casefold() in str(option.prompt).casefold()

    await wait_until(pilot, found)  # the palette searches as you type, in the background
    await pilot.press("enter")


async def unlock(pilot: Pilot[Any], passphrase: str = PASSPHRASE) -> None:
    """Type the passphrase, press Enter, and wait until the index and model are ready."""
    from reflect.tui.screens.main import MainScreen

    app = pilot.app
    assert isinstance(app, ReflectApp)
    await fill_and_submit(pilot, "#passphrase", passphrase)
    await wait_until(
        pilot,
        lambda: (
            any(isinstance(s, MainScreen) for s in app.screen_stack)
            and app.catalog.loaded
            and app.status.index_open
            and app.status.model in ("ready", "unavailable")
        ),
    )
    await pilot.pause()


async def ask(pilot: Pilot[Any], question: str) -> None:
    """Ask in the question box and wait for the answer to finish."""
    from reflect.tui.screens.main import MainScreen

    app = pilot.app
    await fill_and_submit(pilot, "#question", question)
    screen = app.screen
    assert isinstance(screen, MainScreen)
    await wait_until(pilot, lambda: not screen.answering)
    await pilot.pause()


class GatedChatModel(FakeChatModel):
    """Writes nothing until the test opens the gate: shows what is on screen before."""

    def __init__(self, replies: Sequence[str], gate: threading.Event) -> None:
        super().__init__(replies)
        self.gate = gate

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        if not self.gate.wait(SETTLE_SECONDS):
            raise AssertionError("the gate was never opened")
        yield from super().stream(messages, **kwargs)


class GatedImportEmbedder(FakeEmbedder):
    """Embeds queries at once, but the fourth session (an import) only once the gate opens."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def embed(self, texts: Sequence[str], **kwargs: Any) -> Any:
        held = any("shoulders" in text for text in texts)
        if held and not self.gate.wait(SETTLE_SECONDS):
            raise AssertionError("the gate was never opened")
        return super().embed(texts, **kwargs)


class SlowChatModel(FakeChatModel):
    """Streams a word every `delay` seconds, like a real model on a slow laptop."""

    def __init__(self, replies: Sequence[str], delay: float = 0.05) -> None:
        super().__init__(replies)
        self.delay = delay
        self.started = threading.Event()

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        for piece in super().stream(messages, **kwargs):
            self.started.set()
            time.sleep(self.delay)
            yield piece


def text_of(static: Static) -> str:
    return str(static.render())
