"""Quitting returns to the shell at once, even while the answer model loads or evaluates.

llama.cpp has no way to stop a model load or a prompt evaluation part way, and either takes
seconds. The app must not wait for them: ctrl+q locks the vault and the process ends. Each
case runs the app as `reflect` does (`reflect.tui.app.run`, headless) in a child process,
with a fake model that blocks for 10 s, and times ctrl+q to the end of the process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

QUIT_WITHIN_SECONDS = 1.0
BLOCK_SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path

    from reflect.service import Reflect
    from reflect.testing import FakeChatModel
    from reflect.tui.app import run
    from tests.tui.support import (
        PASSPHRASE, PHONE_QUESTION, PHONE_REPLY, fill_and_submit, make_app, wait_until,
    )

    vault, stage, block = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    blocked = threading.Event()

    class PromptEvaluation(FakeChatModel):
        # Like llama.cpp evaluating a long prompt: nothing to cancel until the first word.
        def stream(self, messages, **kwargs):
            blocked.set()
            time.sleep(block)
            yield from super().stream(messages, **kwargs)

    def loading_model():
        blocked.set()
        time.sleep(block)
        return FakeChatModel([PHONE_REPLY])

    def model_factory():
        return loading_model() if stage == "load" else PromptEvaluation([PHONE_REPLY])

    real_lock = Reflect.lock

    def lock(self):
        real_lock(self)
        print("locked", flush=True)

    Reflect.lock = lock

    async def drive(pilot):
        app = pilot.app
        await fill_and_submit(pilot, "#passphrase", PASSPHRASE)
        if stage == "write":
            await wait_until(pilot, lambda: app.status.model == "ready")
            await fill_and_submit(pilot, "#question", PHONE_QUESTION)
        await wait_until(pilot, blocked.is_set)
        print("quitting", flush=True)
        await pilot.press("ctrl+q")

    app = make_app(vault, model_factory=model_factory)
    sys.exit(run(app, headless=True, size=(100, 30), auto_pilot=drive))
    """
)


@pytest.mark.parametrize("stage", ["load", "write"])
def test_quit_while_the_model_loads_or_writes_is_immediate(vault: Path, stage: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(vault), stage, str(BLOCK_SECONDS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    quit_at = None
    for line in child.stdout:
        lines.append(line.strip())
        if line.strip() == "quitting":
            quit_at = time.monotonic()
    child.wait(timeout=60)
    ended_at = time.monotonic()
    stderr = child.stderr.read() if child.stderr else ""
    assert quit_at is not None, stderr
    assert child.returncode == 0, stderr
    assert lines[lines.index("quitting") + 1 :] == ["locked"]
    assert ended_at - quit_at < QUIT_WITHIN_SECONDS, f"{ended_at - quit_at:.2f} s"
