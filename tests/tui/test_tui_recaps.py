"""After unlock, the app seals the recaps of sessions that have none (imported before recaps
were sealed at import) in the background, without a word to the person."""

from __future__ import annotations

from pathlib import Path

from reflect.records import recap_name
from reflect.service import Reflect
from reflect.testing import FakeEmbedder, store_of, vault_of
from tests.tui.support import PASSPHRASE, make_app, unlock, wait_until


async def test_older_sessions_get_their_recaps_after_unlock(vault: Path) -> None:
    with Reflect.unlock(vault, PASSPHRASE, embedder_factory=FakeEmbedder) as service:
        ids = [s.id for s in service.sessions()]
        for session_id in ids:
            vault_of(service).delete(recap_name(session_id))
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(pilot)
        assert app.unlocked is not None
        store = store_of(app.unlocked.service)
        await wait_until(pilot, lambda: all(store.recap(i) is not None for i in ids))
        assert not app.query("Toast")
