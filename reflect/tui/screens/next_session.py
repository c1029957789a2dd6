"""Ready for the next session: what `reflect prep` prints, as one list to move through.

In the order `reflect prep` prints them (reflect/prep.py):

- "Last time": the last session's key moments (its sealed recap), verbatim, each under its
  speaker and time; Enter opens the reader there;
- "Still open": the agreements of the last few sessions not marked done or not for me, each
  with its reply and the later moments that talk about it, as in the Agreements view (where
  `d`, `x` and `o` mark them);
- "What came up lately": the themes said most in the last few sessions, each with a bar per
  session (the timeline view's chart rows); Enter on a theme opens its whole timeline, on a
  session's bar that session's best moment;
- "Your notes since then": the user's own notes written since the last session (left out
  when there are none).

Headings are disabled rows, so the cursor moves from one thing to open to the next. Nothing
here is written anywhere: unlike `reflect prep > FILE`, the view stays in the app.

Gathered in a worker: the themes' timelines and the agreements' follow-ups each search the
index (a second or so on a long history).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.visual import Visual
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from reflect.safe_text import terminal
from reflect.session import Session
from reflect.tui.errors import worker_failed
from reflect.tui.formatting import QUIET_STYLE, brief_excerpt, short_date
from reflect.tui.messages import OpenQuote, PrepGathered, Quote, ThemeQuotes
from reflect.tui.screens.agreements import agreed_quotes, agreement_row, agreement_rows
from reflect.tui.screens.reader import ReaderScreen
from reflect.tui.screens.timeline import TimelineScreen, chart_row
from reflect.tui.state import Unlocked, reflect_app, wait_for
from reflect.tui.widgets.quotes import QUOTE_BINDINGS, copy_quote, keep_quote, play_quote
from reflect.tui.widgets.status import StatusBar

# A theme's latest sessions shown, a bar each, as `reflect prep` prints them (its timeline,
# Enter on the theme, has them all).
CHART_SESSIONS = 6
HEADING_STYLE = "bold $text-primary"
GATHERING = "Gathering what to take along…"
NO_SESSIONS = "No sessions yet — press ctrl+o to import your transcripts."
READY = "To take along · Enter opens a moment, or a theme's timeline"

# What Enter does on a row: open a moment, open a theme's timeline (its topic), or nothing.
Target = Quote | str | None


def note_prompt(note: Session) -> Content:
    """A note of the user's, dated, in its own words."""
    body = terminal(note.text)
    head = Content.styled(f"your note, {short_date(note.date)}", QUIET_STYLE)
    return Content("\n").join([head, Content(body)])


def theme_prompt(theme: ThemeQuotes) -> Content:
    sessions = "session" if theme.count == 1 else "sessions"
    latest = f", the last {len(theme.sessions)} here" if theme.count > len(theme.sessions) else ""
    return Content.assemble(
        (f"“{terminal(theme.topic)}”", "bold"),
        (f" came up in {theme.count} {sessions}{latest}", QUIET_STYLE),
    )


class PrepList(OptionList):
    """The parts of the next-session view as rows; Enter opens what a row is about."""

    BINDINGS: ClassVar[list[BindingType]] = QUOTE_BINDINGS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.targets: list[Target] = []  # each option's target, by its index

    def show(self, message: PrepGathered, me: Sequence[str]) -> None:
        options: list[Option | None] = []
        targets: list[Target] = []

        def heading(text: Content | str) -> None:
            if options:
                options.append(None)  # a divider between the parts
            add(Content.styled(text, HEADING_STYLE) if isinstance(text, str) else text, None)
            options[-1].disabled = True  # type: ignore[union-attr]

        def add(prompt: Visual, target: Target) -> None:
            options.append(Option(prompt, id=str(len(targets))))
            targets.append(target)

        last = message.prep.last_session
        if last is not None:
            heading(
                Content.assemble(
                    ("Last time", HEADING_STYLE),
                    (f" · {short_date(last.session_date)} · ", QUIET_STYLE),
                    (terminal(last.session_title), "bold"),
                )
            )
            for quote in message.recap:
                add(brief_excerpt(quote.hit, quote.lines, me), quote)
        heading("Still open")
        if not message.agreements:
            add(
                Content.styled("Nothing agreed in the last few sessions is open.", QUIET_STYLE),
                None,
            )
        for item in message.agreements:
            for kind, quote in agreement_rows(item):
                add(agreement_row(item, kind, quote, me), quote)
        heading("What came up lately")
        if not message.themes:
            add(Content.styled("No theme stood out in the last few sessions.", QUIET_STYLE), None)
        for theme in message.themes:
            add(theme_prompt(theme), theme.topic)
            most = max((s.mentions for s in theme.sessions), default=0)
            for session, best in zip(theme.sessions, theme.best, strict=True):
                add(Content.assemble("  ", chart_row(session, most)), best)  # under its theme
        if message.prep.notes:
            heading("Your notes since then")
            for note in message.prep.notes:
                add(note_prompt(note), None)
        self.targets = targets
        self.set_options(options)
        first = next((i for i, t in enumerate(targets) if t is not None), None)
        self.highlighted = first

    def forget(self) -> None:
        self.targets = []
        self.clear_options()

    @property
    def current(self) -> Target:
        row = self.highlighted
        return self.targets[row] if row is not None and row < len(self.targets) else None

    @property
    def current_quote(self) -> Quote | None:
        target = self.current
        return target if isinstance(target, Quote) else None

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        target = self.current
        if isinstance(target, Quote):
            self.post_message(OpenQuote(target))
        elif isinstance(target, str):
            self.app.push_screen(TimelineScreen(target))

    def action_play(self) -> None:
        play_quote(self, self.current_quote)

    def action_copy_quote(self) -> None:
        copy_quote(self, self.current_quote)

    def action_keep(self) -> None:
        keep_quote(self, self.current_quote)


class NextSessionScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("Ready for the next session", classes="pane-title")
        yield Static(GATHERING, id="prep-status", markup=False)
        yield PrepList(id="prep-list")
        yield StatusBar()
        yield Footer()

    def __init__(self) -> None:
        super().__init__()
        self._stale = False  # an agreement was marked since this was gathered

    def on_mount(self) -> None:
        self.query_one(PrepList).display = False
        app = reflect_app(self)
        if app.unlocked is not None:
            self._gather(app.unlocked)

    def forget_transcripts(self) -> None:
        self.query_one(PrepList).forget()

    def agreements_changed(self) -> None:
        """Called by the Agreements view when a mark is stored: what is still open changed."""
        self._stale = True

    def on_screen_resume(self) -> None:
        app = reflect_app(self)
        if self._stale and app.unlocked is not None:
            self._stale = False
            self._status(GATHERING)
            self._gather(app.unlocked)

    @work(thread=True, exit_on_error=False, exclusive=True, group="prep", name="prep")
    def _gather(self, unlocked: Unlocked) -> None:
        if not wait_for(unlocked.searchable):
            return
        service = unlocked.service
        prep = service.prep()

        def quote(hit: Any) -> Quote:
            return Quote(hit, service.excerpt_lines(hit))

        recap = [quote(h) for h in prep.last_session.moments] if prep.last_session else []
        themes = []
        for theme in prep.themes:
            shown = theme.timeline.sessions[-CHART_SESSIONS:]
            best = [quote(s.hits[0]) if s.hits else None for s in shown]
            themes.append(ThemeQuotes(theme.topic, len(theme.timeline.sessions), shown, best))
        agreements = [agreed_quotes(service, a) for a in prep.agreements]
        self.post_message(PrepGathered(prep, recap, agreements, themes))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "prep" and worker_failed(self, event):
            self._status("What to take along couldn't be gathered.")

    def on_prep_gathered(self, message: PrepGathered) -> None:
        found = message.prep.last_session is not None
        prep_list = self.query_one(PrepList)
        prep_list.display = found
        if not found:
            self._status(NO_SESSIONS)
            return
        prep_list.show(message, reflect_app(self).catalog.me)
        prep_list.focus()
        self._status(READY)

    def _status(self, text: str) -> None:
        self.query_one("#prep-status", Static).update(text)

    def on_open_quote(self, message: OpenQuote) -> None:
        message.stop()
        self.app.push_screen(ReaderScreen(message.quote.hit.session_id, message.quote))
