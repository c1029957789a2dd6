"""The app with a vault whose key file is missing, or that is an older copy (issue #13)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from reflect.tui.errors import ErrorModal
from tests.tui.support import PASSPHRASE, fill_and_submit, make_app, wait_until


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
