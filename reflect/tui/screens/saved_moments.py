"""My moments: the moments the person kept (reflect.kept), one key from the main screen.

Each shows its label, the session's date and title, who speaks and the first words (read from
the session as stored). Enter reads it in its transcript; `p` plays it from the sealed
recording where there is one. Calm on purpose: a list, nothing counted, nothing to remind.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from reflect.excerpts import clock
from reflect.kept import SavedMoment
from reflect.safe_text import terminal
from reflect.tui.formatting import QUIET_STYLE, short_date
from reflect.tui.messages import MomentsRead, Quote
from reflect.tui.screens.prompt import TextPrompt
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.state import Unlocked, reflect_app
from reflect.tui.widgets.status import StatusBar

EMPTY = (
    "No saved moments yet. Press k on an excerpt, a search result or a line of a transcript "
    "to keep it here, to read or listen to again when it is hard."
)


def moment_prompt(moment: SavedMoment) -> Content:
    label = terminal(moment.label) or "(no label)"
    where = [
        short_date(moment.session_date),
        terminal(moment.session_title),
        terminal(moment.speaker or ""),
        clock(moment.start),
    ]
    detail = " · ".join(w for w in where if w) + (" · ♪" if moment.has_recording else "")
    return Content.assemble(
        (label, "bold" if moment.label else QUIET_STYLE),
        "\n",
        (detail, QUIET_STYLE),
        "\n",
        terminal(moment.first_words),
    )


class MomentList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Read in transcript"),
        Binding("p", "play", "Play / stop"),
        Binding("l", "relabel", "Label"),
        Binding("d,delete", "remove", "Remove"),
    ]

    def action_play(self) -> None:
        screen = self.screen
        if isinstance(screen, MomentsScreen):
            screen.play_current()

    def action_relabel(self) -> None:
        screen = self.screen
        if isinstance(screen, MomentsScreen):
            screen.relabel_current()

    def action_remove(self) -> None:
        screen = self.screen
        if isinstance(screen, MomentsScreen):
            screen.remove_current()


class MomentsScreen(Screen[None]):
    AUTO_FOCUS = "#moment-list"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.moments: list[tuple[SavedMoment, Quote]] = []
        self._reads = 0

    def compose(self) -> ComposeResult:
        yield Static("My moments", classes="pane-title")
        yield Static("Opening your moments…", id="moments-empty", markup=False)
        yield MomentList(id="moment-list")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MomentList).display = False
        self.reload()

    def on_screen_resume(self) -> None:
        # Back from the reader, where `k` may have kept another.
        self.reload()

    def forget_transcripts(self) -> None:
        self._reads += 1
        self.moments = []
        self.query_one(MomentList).clear_options()

    def reload(self) -> None:
        app = reflect_app(self)
        if app.unlocked is not None:
            self._reads += 1
            self._read(app.unlocked, self._reads)

    @work(
        thread=True, exit_on_error=False, exclusive=True, group="read-moments", name="read-moments"
    )
    def _read(self, unlocked: Unlocked, read: int) -> None:
        service = unlocked.service
        found = []
        for moment in service.moments():
            hit = service.moment_hit(moment)
            found.append((moment, Quote(hit, service.excerpt_lines(hit))))
        self.post_message(MomentsRead(read, found))

    def on_moments_read(self, message: MomentsRead) -> None:
        if message.read != self._reads:
            return
        moment_list = self.query_one(MomentList)
        highlighted = moment_list.highlighted
        self.moments = list(message.moments)
        options: list[Option | None] = []
        for i, (moment, _) in enumerate(self.moments):
            if i:
                options.append(None)
            options.append(Option(moment_prompt(moment), id=str(i)))
        moment_list.set_options(options)
        moment_list.display = bool(self.moments)
        if self.moments:
            moment_list.highlighted = min(highlighted or 0, len(self.moments) - 1)
        empty = self.query_one("#moments-empty", Static)
        empty.display = not self.moments
        empty.update(EMPTY)

    @property
    def current(self) -> tuple[SavedMoment, Quote] | None:
        option = self.query_one(MomentList).highlighted_option
        if option is None or option.id is None or int(option.id) >= len(self.moments):
            return None
        return self.moments[int(option.id)]

    @on(OptionList.OptionSelected, "#moment-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            moment, quote = self.moments[int(event.option.id)]
            self.app.push_screen(ReaderScreen(moment.session_id, quote))

    def play_current(self) -> None:
        current = self.current
        if current is not None:
            reflect_app(self).toggle_playback(current[1].hit)

    def relabel_current(self) -> None:
        current = self.current
        if current is None:
            return
        moment = current[0]

        def relabel(label: str | None) -> None:
            if label is not None:
                self._change(moment.id, label)

        self.app.push_screen(
            TextPrompt(
                "Label this moment",
                "A few words to find it by. Leave it empty for no label.",
                terminal(moment.label),
                optional=True,
                keys="enter to save · esc to leave it as it is",
            ),
            relabel,
        )

    def remove_current(self) -> None:
        current = self.current
        if current is not None:
            self._change(current[0].id, None, remove=True)

    @work(thread=True, exit_on_error=False, group="change-moment", name="change-moment")
    def _change(self, moment_id: str, label: str | None, *, remove: bool = False) -> None:
        service = reflect_app(self).service
        if remove:
            service.remove_moment(moment_id)
            self.app.call_from_thread(self.notify, "Removed from your moments.", timeout=3)
        else:
            service.relabel_moment(moment_id, label)
        self.app.call_from_thread(self.reload)
