"""The app with a vault whose key file is missing, or that is an older copy (issue #13)."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Input, Static

from reflect.service import Reflect
from reflect.tui.errors import ErrorModal
from reflect.tui.screens.unlock import UnlockScreen
from reflect.vault import KEY_FILE
from tests.tui.support import PASSPHRASE, fill_and_submit, make_app, text_of, unlock, wait_until


async def test_a_vault_missing_its_key_file_is_never_offered_to_be_created(
    vault: Path, tmp_path: Path
) -> None:
    (vault / KEY_FILE).rename(tmp_path / "moved.json")
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        note = text_of(app.screen.query_one("#unlock-message", Static))
        assert KEY_FILE in note and "backup" in note
        await fill_and_submit(pilot, "#passphrase", PASSPHRASE)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert isinstance(app.screen, ErrorModal)
        assert app.screen.error_title == "Vault key file missing"
        await pilot.press("enter")
        # Once the key file is back, the same screen opens the vault.
        (tmp_path / "moved.json").rename(vault / KEY_FILE)
        await unlock(pilot)


async def test_an_older_copy_is_mentioned_once_after_unlocking(
    vault: Path, tmp_path: Path
) -> None:
    shutil.copytree(vault, tmp_path / "yesterday")
    service = Reflect.unlock(vault, PASSPHRASE)
    service.update_settings(idle_lock_minutes=20)  # one change made after the copy
    service.lock()
    shutil.rmtree(vault)
    shutil.copytree(tmp_path / "yesterday", vault)
    for expected in (True, False):
        app = make_app(vault)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await unlock(pilot)
            await pilot.pause()
            said = any("older copy" in n.message for n in app._notifications)
            assert said is expected


async def test_a_vault_that_cant_be_created_says_why(tmp_path: Path) -> None:
    from reflect.tui.screens.create import CreateVaultScreen

    path = tmp_path / "new-vault"
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CreateVaultScreen)
        path.mkdir()
        (path / "holiday.jpg").write_bytes(b"not a vault")  # appeared meanwhile
        app.screen.query_one("#new-passphrase", Input).value = PASSPHRASE
        await fill_and_submit(pilot, "#repeat", PASSPHRASE)
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert isinstance(app.screen, ErrorModal)
        assert app.screen.error_title == "Vault already exists"
