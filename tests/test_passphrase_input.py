"""A passphrase reads the same from a file, the environment or the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflect import passphrase
from reflect.errors import PassphraseUnavailable

SECRET = "lanterns over the quay"


@pytest.mark.parametrize(
    "content",
    [
        SECRET,
        SECRET + "\n",
        SECRET + "\r\n",
        SECRET + "\n\n",
        "\ufeff" + SECRET + "\n",  # Notepad's UTF-8 BOM
        "\ufeff" + SECRET + "\r\n",
    ],
)
def test_file_and_variable_give_the_same_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    file = tmp_path / "pass.txt"
    file.write_bytes(content.encode("utf-8"))
    assert passphrase.read_passphrase_file(file) == SECRET
    monkeypatch.setenv("REFLECT_PASSPHRASE", content)
    assert passphrase.from_environment() == SECRET


def test_a_multi_line_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "pass.txt"
    file.write_text(SECRET + "\nsecond line\n")
    with pytest.raises(PassphraseUnavailable, match="more than one line"):
        passphrase.read_passphrase_file(file)
    monkeypatch.setenv("REFLECT_PASSPHRASE", SECRET + "\nsecond line")
    with pytest.raises(PassphraseUnavailable, match="more than one line"):
        passphrase.from_environment()


def test_spaces_stay_part_of_the_passphrase(tmp_path: Path) -> None:
    file = tmp_path / "pass.txt"
    file.write_text(" " + SECRET + " \n")
    assert passphrase.read_passphrase_file(file) == " " + SECRET + " "
