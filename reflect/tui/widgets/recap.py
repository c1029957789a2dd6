"""A session's key moments (reflect/recap.py) as the reader's header: one line each.

Each line is the moment's time, speaker and first words, verbatim (cut at the edge of the
screen, never reworded); Enter takes the transcript below to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from reflect.excerpts import clock
from reflect.safe_text import terminal
from reflect.tui.formatting import QUIET_STYLE, speaker_style
from reflect.tui.messages import Quote


def moment_line(quote: Quote, me: Sequence[str]) -> Content:
    hit = quote.hit
    return Content.assemble(
        (f"{clock(hit.start):>7}  ", QUIET_STYLE),
        (f"{terminal(hit.speaker)}  " if hit.speaker else "", speaker_style(hit.speaker, me)),
        # On one line: the whole moment is in the transcript below.
        " ".join(hit.text.split()),
    )


class RecapList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Go to this moment"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.moments: list[Quote] = []

    def show(self, moments: Sequence[Quote], me: Sequence[str]) -> None:
        self.moments = list(moments)
        self.set_options(Option(moment_line(q, me), id=str(i)) for i, q in enumerate(moments))
        if self.moments:
            self.highlighted = 0

    def forget(self) -> None:
        self.moments = []
        self.clear_options()
