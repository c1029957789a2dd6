"""End to end: the app with the real bundled models answers one question, offline.

The real embedding model and the real chat model (llama.cpp evaluating a multi-token
prompt), a socket guard that records and refuses any name lookup or outside connection, and
the app driven by keys from unlock to a cited answer.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto, service
from reflect.embedding import default_embedder
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.tui.app import create_app
from reflect.tui.screens.main import MainScreen
from tests.tui.support import ME, PASSPHRASE, PHONE_QUESTION, unlock, wait_until, write_sessions


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []

    def local(host: object) -> bool:
        return isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost"))

    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family != socket.AF_UNIX and not local(address[0]):
            attempts.append(repr(address))
            raise OSError("network access is forbidden in this test")
        return real_connect(sock, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not local(host):
            attempts.append(repr(host))
            raise OSError("name lookups are forbidden in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.mark.slow
async def test_app_answers_with_real_models_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network_attempts: list[str]
) -> None:
    monkeypatch.setattr(service, "_default_embedder_factory", default_embedder)
    vault = tmp_path / "vault"
    setup = Reflect.create(vault, PASSPHRASE, kdf=crypto.floor_kdf_params())
    setup.import_paths([write_sessions(tmp_path / "sessions")], ImportOptions(me=ME))
    setup.lock()

    app = create_app(vault, kdf=crypto.floor_kdf_params())  # real embedder, real chat model
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(pilot, lambda: app.service.model_loaded, timeout=240)
        question = screen.query_one("#question")
        question.value = PHONE_QUESTION  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.answering, timeout=30)
        await wait_until(pilot, lambda: not screen.answering, timeout=240)
        exchange = next(iter(screen._exchanges.values()))
        answer = exchange.state.answer
        assert answer is not None and answer.found
        assert answer.citations, "the answer cites no excerpt"
        assert answer.timings.prompt_tokens and answer.timings.prompt_tokens > 100
        for _, hit in answer.citations:  # verbatim, cut from the stored transcript
            stored = app.service.session_of(hit)
            assert stored.text[hit.char_start : hit.char_end] == hit.text
    assert network_attempts == []
