"""`reflect` on the command line: a thin layer over `reflect.service.Reflect`.

Every expected failure is a ReflectError, printed as one line ("reflect: title: sentence")
with a non-zero exit; a traceback here is a bug.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reflect import __version__, passphrase, paths
from reflect.errors import (
    DiskFull,
    ReflectError,
    UsageError,
    as_reflect_error,
)
from reflect.excerpts import clock
from reflect.fsutil import disable_core_dumps, private_umask
from reflect.safe_text import json_line, markup, terminal
from reflect.session import HANDOUT, NOTE, SESSION
from reflect.sources import citation, source_json, tally
from reflect.vault import Vault, missing_vault_error

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from reflect.agreements import Agreement
    from reflect.answer import Answer, AnswerEvent
    from reflect.answer.conversation import Conversation
    from reflect.answer.question import AskedQuestion
    from reflect.ingest import ImportOptions, ImportProgress, ImportReport
    from reflect.kept import SavedMoment
    from reflect.prep import Prep
    from reflect.recap import Recap
    from reflect.recording import TranscriptionProgress
    from reflect.retrieval import Hit
    from reflect.service import QuoteResult, Reflect, ReflectOptions, SearchFilters
    from reflect.session import Session
    from reflect.timeline import Timeline, TimelineSession
    from reflect.understanding import Understood

Handler = Callable[[argparse.Namespace], int]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def say(message: str) -> None:
    """Human-facing chatter goes to stderr so stdout stays clean for --json and pipes.

    `message` is Rich markup: text from outside goes in through `markup()`. Cleaning the
    whole line as well costs nothing, since reflect's own markup holds no control codes."""
    _console(stderr=True).print(terminal(message, multiline=True))


def out(line: str) -> None:
    """A plain line on stdout; any outside text in it is made safe for the terminal."""
    print(terminal(line))


def print_json(value: Any) -> None:
    sys.stdout.write(json_line(value) + "\n")
    sys.stdout.flush()


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} isn't a date; write it as YYYY-MM-DD.") from None


# ---- opening the vault ------------------------------------------------------------------


def vault_dir(args: argparse.Namespace) -> Path:
    return paths.resolve_vault_dir(getattr(args, "vault", None))


def output_file(args: argparse.Namespace, name: str) -> Path:
    """Where `export`, `backup` or `clip` may write: never over an existing file without
    --force, and never inside the vault folder, where plain text would sit in a synced
    folder and the next write would sweep away (or a file would replace) vault files."""
    target = Path(name).expanduser()
    vault = vault_dir(args).resolve()
    # The folder is resolved, not the file: a symlink named as the target is replaced, not
    # followed, by the atomic rename.
    where = target.parent.resolve() / target.name
    if where == vault or vault in where.parents:
        raise UsageError(
            f"{target} is inside the vault folder {vault}; choose a place outside it."
        )
    if target.exists() and not getattr(args, "force", False):
        raise UsageError(f"{target} already exists; add --force to replace it.")
    return target


@contextmanager
def open_vault(
    args: argparse.Namespace, options: ReflectOptions | None = None
) -> Iterator[Reflect]:
    """The vault, unlocked for the `with` block and locked however the block ends (an
    error included), so no command leaves the keys in memory behind it."""
    from reflect.service import Reflect

    path = vault_dir(args)
    if not Vault.exists(path):
        raise missing_vault_error(path)
    secret = passphrase.ask_existing(f"Passphrase for {terminal(str(path))}: ")
    with Reflect.unlock(path, secret, options) as service:
        service.set_activity(args.command, on_lock_wait=_say_waiting)
        if service.rolled_back is not None:
            say(f"[yellow]Note:[/yellow] {markup(service.rolled_back.message)}")
            service.accept_rollback()
        yield service


def _say_waiting(other: str | None) -> None:
    say(
        f"Waiting for another reflect ({other}) to finish…"
        if other
        else "Waiting for another reflect to finish with this vault…"
    )


# ---- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from reflect.service import Reflect

    path = vault_dir(args)
    Vault.check_can_create(path)  # before asking for a passphrase
    if sys.stdin.isatty() and passphrase.from_environment() is None and not args.passphrase_file:
        say(
            "Choose a passphrase for your vault. [bold]There is no way to recover your "
            "sessions without it[/bold]: write it down somewhere safe."
        )
    secret = passphrase.ask_new("Passphrase: ", file=args.passphrase_file)
    say("Creating the vault (tuning the key settings to this computer)...")
    with Reflect.create(path, secret) as service:
        st = service.status()
    say(f"Created an encrypted vault in {markup(str(path))}.")
    if args.json:
        print_json(st.to_json())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        st = service.status()
        if args.json:
            print_json(st.to_json())
        else:
            kdf = st.kdf
            out(f"Vault:     {st.path}")
            out(f"Format:    {st.format_version}")
            counts = {SESSION: st.sessions, NOTE: st.notes, HANDOUT: st.handouts}
            out(f"Holds:     {tally(counts)}")
            for job in st.unfinished_recordings:
                out(
                    f"Unfinished: {job.file}, transcribed {clock(job.done_s)} of "
                    f"{clock(job.duration_s)}; import the file again to carry on."
                )
            out(f"Size:      {st.size_bytes / 1e6:.2f} MB on disk, encrypted")
            out(
                f"Key:       Argon2id, {kdf.memory_mib} MiB, {kdf.iterations} passes, "
                f"{kdf.lanes} lane(s)"
            )
        return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        if args.new_passphrase_file:
            new = passphrase.read_passphrase_file(args.new_passphrase_file)
            if len(new) < passphrase.MIN_LENGTH:
                raise UsageError(
                    f"The passphrase needs at least {passphrase.MIN_LENGTH} characters."
                )
        else:
            if not sys.stdin.isatty():
                raise UsageError(
                    "Give the new passphrase with --new-passphrase-file FILE, "
                    "or run this in a terminal."
                )
            import getpass

            new = getpass.getpass("New passphrase: ")
            hint = passphrase.strength_hint(new)
            if len(new) < passphrase.MIN_LENGTH:
                raise UsageError(
                    f"The passphrase needs at least {passphrase.MIN_LENGTH} characters."
                )
            if hint:
                say(hint)
            if getpass.getpass("Type it again: ") != new:
                raise UsageError("The two passphrases don't match. Nothing was changed.")
        service.change_passphrase(new)
        say("Passphrase changed. The old one no longer opens this vault.")
        return 0


def cmd_import(args: argparse.Namespace) -> int:
    from reflect.ingest import ImportOptions
    from reflect.service import ReflectOptions

    with open_vault(args, ReflectOptions(asr_model_path=args.asr_model)) as service:
        if args.handout:
            return _import_handouts(service, args)
        if args.discard_unfinished:
            _discard_unfinished(service, [Path(p).expanduser() for p in args.paths])
            return 0
        if not args.paths:
            raise UsageError("Name the transcript or recording files (or folders) to import.")
        targets = [Path(p).expanduser() for p in args.paths]
        agreed = _recording_consent(args, service, targets)
        options = ImportOptions(
            date=parse_day(args.date) if args.date else None,
            me=args.me,
            replace=args.replace,
            language=args.language,
            keep_audio=not args.no_keep_audio,
            consent=agreed,
        )
        if args.json:

            def emit(p: ImportProgress) -> None:
                event: dict[str, Any] = {
                    "event": "progress",
                    "files_done": p.files_done,
                    "files_total": p.files_total,
                    "turns": p.turns_done,
                    "elapsed_s": round(p.elapsed, 2),
                }
                if p.recording is not None:
                    r = p.recording
                    event["recording"] = {
                        "file": r.file,
                        "audio_done_s": round(r.audio_done, 1),
                        "audio_total_s": round(r.audio_total, 1),
                        "realtime_factor": round(r.realtime_factor, 2)
                        if r.realtime_factor
                        else None,
                        "seconds_left": round(r.seconds_left) if r.seconds_left else None,
                    }
                if p.indexing is not None:
                    event["indexing"] = {
                        "file": p.current,
                        "passages_done": p.indexing[0],
                        "passages_total": p.indexing[1],
                    }
                print_json(event)

            report = service.import_paths(targets, options, progress=emit)
            for r in report.results:
                print_json({"event": "result", **r.to_dict()})
            print_json(
                {
                    "event": "summary",
                    "imported": report.count("imported"),
                    "replaced": report.count("replaced"),
                    "duplicates": report.count("duplicate"),
                    "failed": len(report.failed),
                    "skipped": report.skipped,
                }
            )
        else:
            report = _import_with_progress_bar(service, targets, options)
            for r in report.results:
                path, title = markup(r.path), markup(r.title or "")
                if r.status == "failed":
                    say(f"[red]✗[/red] {path}: {markup(r.reason or '')}")
                elif r.status == "duplicate":
                    say(f"[dim]= {path}: already in the vault as “{title}” ({r.session_id})[/dim]")
                elif r.status == "stopped":
                    say(f"[yellow]‖[/yellow] {path}: {markup(r.reason or '')}")
                else:
                    say(f"[green]✓[/green] {path} → “{title}” ({r.session_id}, {r.turns} turns)")
                    for warning in r.warnings:
                        say(f"    [yellow]note:[/yellow] {markup(warning)}")
            say(report.summary() + ".")
        return 1 if report.failed else 0


def _recording_consent(
    args: argparse.Namespace, service: Reflect, targets: list[Path]
) -> str | None:
    """Whether the therapist agreed to the recordings being imported (reflect.consent): from
    --consented / --no-consent, else asked here, only if a recording not yet in the vault
    would become a session. Off a terminal, with neither flag, the import then stops before
    doing anything (a usage error naming the flags)."""
    from reflect import consent

    if args.consented:
        return consent.AGREED
    if args.no_consent:
        return consent.NOT_AGREED
    if not service.asks_consent(targets):
        return None
    if not sys.stdin.isatty():
        raise UsageError(consent.SCRIPT_FLAGS)
    say(consent.QUESTION)
    while True:
        # The prompt on stderr too: with --json, stdout carries only JSON.
        sys.stderr.write("yes / no / not sure: ")
        sys.stderr.flush()
        try:
            typed = input()
        except EOFError:
            raise UsageError(consent.SCRIPT_FLAGS) from None
        answer = consent.understood(typed)
        if answer is not None:
            return answer


def _import_with_progress_bar(
    service: Reflect, targets: list[Path], options: ImportOptions
) -> ImportReport:
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    if not _console(stderr=True).is_terminal:
        return _import_with_progress_lines(service, targets, options)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("Importing", total=None, detail="")
        listening: dict[str, TaskID] = {}

        def tick(p: ImportProgress) -> None:
            if p.recording is not None:
                _recording_tick(bar, listening, p.recording)
                return
            rate = f" · {p.files_done / p.elapsed:.1f} files/s" if p.elapsed > 0.5 else ""
            if p.indexing is not None:
                rate = f" · indexing {p.indexing[0]:,} of {p.indexing[1]:,} passages"
            bar.update(
                task,
                total=p.files_total,
                completed=p.files_done,
                detail=f"{p.files_done}/{p.files_total} files · {p.turns_done} turns{rate}",
            )

        return service.import_paths(targets, options, progress=tick)


# Often enough that a log shows the import moving, rarely enough to stay readable.
INDEXING_LINE_SECONDS = 10.0


def _import_with_progress_lines(
    service: Reflect, targets: list[Path], options: ImportOptions
) -> ImportReport:
    """Off a terminal (a log, a pipe) a bar is invisible: a line as each file starts, and
    while a file's passages are embedded (a huge transcript takes minutes) a line every
    `INDEXING_LINE_SECONDS`, so a long import never looks stalled."""
    started: set[str] = set()
    last_line = 0.0

    def tick(p: ImportProgress) -> None:
        nonlocal last_line
        if p.current is not None and p.recording is None and p.current not in started:
            started.add(p.current)
            last_line = p.elapsed
            say(f"Importing {markup(p.current)} ({p.files_done + 1} of {p.files_total})…")
        if p.indexing is not None and p.elapsed - last_line >= INDEXING_LINE_SECONDS:
            last_line = p.elapsed
            done, total = p.indexing
            say(f"  indexing {markup(p.current or '')}: {done:,} of {total:,} passages…")

    return service.import_paths(targets, options, progress=tick)


def _recording_tick(bar: Progress, tasks: dict[str, TaskID], p: TranscriptionProgress) -> None:
    """A second bar for a recording: audio minutes done, speed, time left."""
    if p.file not in tasks:
        tasks[p.file] = bar.add_task("Transcribing", total=None, detail="")
    speed = f"{p.realtime_factor:.1f}× real time" if p.realtime_factor else "starting"
    left = f" · about {clock(p.seconds_left)} left" if p.seconds_left else ""
    bar.update(
        tasks[p.file],
        total=max(p.audio_total, 1e-9),
        completed=p.audio_done,
        detail=f"{markup(p.file)}: {clock(p.audio_done)} of {clock(p.audio_total)} · {speed}{left}",
    )


def _discard_unfinished(service: Reflect, targets: list[Path]) -> None:
    from reflect.recording import file_hash

    # By hash, not by reading each job: a damaged one must be removable too.
    chosen = service.pending_hashes()
    if targets:
        wanted = {file_hash(t) for t in targets if t.is_file()}
        chosen = [h for h in chosen if h in wanted]
    if not chosen:
        say("There is no unfinished transcription of those files.")
    for content_hash in chosen:
        source = service.discard_pending(content_hash)
        what = markup(source) if source else "a damaged recording"
        say(f"Forgot the unfinished transcription of {what} and its audio.")


def cmd_sessions(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        rows = service.sessions()
        if args.json:
            print_json(
                [
                    {
                        "id": s.id,
                        "title": s.title,
                        "date": s.date,
                        "date_source": s.date_source,
                        "source_file": s.source_file,
                        "speakers": s.speakers,
                        "turns": s.turns,
                        "recording": s.format == "recording",
                    }
                    for s in rows
                ]
            )
        elif not rows:
            say("No sessions yet. Add some with `reflect import FILE_OR_FOLDER`.")
        else:
            from rich.table import Table

            table = Table(box=None, header_style="bold")
            for col in ("#", "id", "date", "title", "speakers", "turns", "date from"):
                table.add_column(col, justify="right" if col in ("#", "turns") else "left")
            for i, s in enumerate(rows, 1):
                table.add_row(
                    str(i),
                    s.id,
                    s.date,
                    markup(s.title) + (" ♪" if s.format == "recording" else ""),
                    markup(", ".join(s.speakers)) or "—",
                    str(s.turns),
                    s.date_source,
                )
            _console().print(table)
        return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        session = service.session(args.session)
        if args.json:
            print_json(
                {
                    "id": session.id,
                    "title": session.title,
                    "date": session.date.isoformat(),
                    "date_source": session.date_source,
                    "source_file": session.source_file,
                    "speakers": session.speakers,
                    "agreement": _agreement_json(session),
                    "turns": [
                        {
                            "speaker": t.speaker,
                            "start": t.start,
                            "end": t.end,
                            "text": session.turn_text(t),
                        }
                        for t in session.turns
                    ],
                }
            )
        else:
            from reflect.consent import header_note

            console = _console()
            console.print(f"[bold]{markup(session.title)}[/bold] · {session.date:%d %B %Y}")
            note = header_note(session)
            if note:
                console.print(f"[dim]♪ {note}[/dim]")
            me = set(service.me_labels())
            # Numbers are what `reflect speakers SESSION --turns` takes: shown when asked, and
            # whenever some turns still wait for a speaker's name.
            numbered = args.numbers or any(t.speaker is None for t in session.turns)
            width = len(str(len(session.turns)))
            for t in session.turns:
                stamp = clock(t.start)
                who = t.speaker or ""
                style = "cyan" if t.speaker in me else "magenta"
                prefix = f"[dim]{stamp:>8}[/dim] " if stamp else ""
                if numbered:
                    prefix = f"[dim]{t.index + 1:>{width}}[/dim] {prefix}"
                label = f"[{style}]{markup(who)}:[/{style}] " if who else ""
                console.print(f"{prefix}{label}{markup(session.turn_text(t), multiline=True)}")
        return 0


def _agreement_json(session: Session) -> str | None:
    """A recording's answer to "did your therapist agree?" ("yes", "no", "not sure"), or
    None when it was not asked or the session is a transcript."""
    from reflect.consent import answer_of

    return answer_of(session)


def cmd_rename(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        s = service.rename(args.session, args.title)
        say(f"Renamed session {s.id} to “{markup(s.title)}”.")
        return 0


def cmd_redate(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        s = service.redate(args.session, parse_day(args.date))
        say(f"Session {s.id} is now dated {s.date.isoformat()}.")
        return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        summary = service.summary(args.session)
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("Removing a session needs confirmation; add --yes in scripts.")
            answer = input(f"Remove “{terminal(summary.title)}” ({summary.date}) for good? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                say("Nothing removed.")
                return 1
        service.remove(summary.id)
        say(f"Removed “{markup(summary.title)}” ({summary.id}).")
        return 0


def parse_turn_numbers(text: str) -> list[int]:
    """ "3", "3,5,7-9" -> [3, 5, 7, 8, 9] """
    numbers: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            a = int(first)
            b = int(last) if last else a
            if a < 1 or b < a:
                raise ValueError
            numbers.extend(range(a, b + 1))
    except ValueError:
        raise UsageError(
            f"“{text}” is not a list of turn numbers; write it like 3,5,7-9."
        ) from None
    return numbers


def _session_speakers(service: Reflect, args: argparse.Namespace) -> int:
    session = service.session(args.session)
    if args.label is not None or args.rename or args.unlabel:
        if args.rename:
            old, new = args.rename
            label: str | None = new
        else:
            old, label = None, (None if args.unlabel else args.label)
        session, changed = service.label_speakers(
            session.id,
            label,
            turns=parse_turn_numbers(args.turns) if args.turns else None,
            start=parse_clock(args.start) if args.start else None,
            end=parse_clock(args.end) if args.end else None,
            rename=old,
        )
        what = f"“{markup(label)}”" if label else "no label"
        say(f"{changed} turn(s) of “{markup(session.title)}” now have {what}.")
    counts: dict[str, int] = {}
    for turn in session.turns:
        key = turn.speaker or ""
        counts[key] = counts.get(key, 0) + 1
    me = set(service.me_labels())
    if args.json:
        print_json({"session": session.id, "me": sorted(me), "speakers": counts})
    else:
        for label_, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            name = label_ or "(no label)"
            mark = " (you)" if label_ in me else ""
            out(f"{name}{mark}: {count} turn(s)")
        if "" in counts:
            say(
                "[dim]Name unlabelled turns with --label NAME, chosen by --turns 3,5-9 "
                "(numbers as `reflect show` lists them) or --from/--to times.[/dim]"
            )
    return 0


def cmd_speakers(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        if args.session:
            return _session_speakers(service, args)
        if args.label is not None or args.rename or args.unlabel:
            raise UsageError(
                "Name the session whose speakers to label: reflect speakers SESSION ..."
            )
        if args.me:
            service.set_me(args.me)
            me_ = markup(args.me)
            say(f"“{me_}” is you: `--speaker me` now finds what {me_} said.")
        labels: dict[str, int] = {}
        for s in service.sessions():
            for sp in s.speakers:
                labels[sp] = labels.get(sp, 0) + 1
        me = set(service.me_labels())
        if args.json:
            print_json({"me": sorted(me), "speakers": labels})
        else:
            for label, count in sorted(labels.items(), key=lambda kv: -kv[1]):
                mark = " (you)" if label in me else ""
                out(f"{label}{mark}: {count} session(s)")
        return 0


def parse_clock(text: str) -> float:
    """A time in a recording: "12:31", "1:02:09", "00:12:31.5" or seconds ("751")."""
    parts = text.strip().split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(not p.strip() for p in parts):
            raise ValueError
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f"“{text}” is not a time; write it like 12:31 or 1:02:09.") from None
    if any(v < 0 for v in values) or any(v >= 60 for v in values[1:]):
        raise UsageError(f"“{text}” is not a time; write it like 12:31 or 1:02:09.")
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds


# Playing "from" a cited moment starts a little before it: the first words of an excerpt
# are easier to catch with a breath of what came before.
PLAY_LEAD_IN_SECONDS = 1.5


def cmd_play(args: argparse.Namespace) -> int:
    # The vault is locked once the clip is in memory: nothing else is needed while it plays.
    with open_vault(args) as service:
        start = max(0.0, parse_clock(args.at) - (0.0 if args.exact else PLAY_LEAD_IN_SECONDS))
        session = service.session(args.session)
        samples, rate = service.recording_clip(session.id, start, args.seconds)
    return _play_clip(session.title, start, samples, rate)


def _play_clip(title: str, start: float, samples: Any, rate: int) -> int:
    """Play a clip decoded in memory, until it ends or Ctrl-C (`play` and `moments play`)."""
    from reflect.audio import play

    say(
        f"Playing “{markup(title)}” from {clock(start)} for "
        f"{samples.shape[1] / rate:.0f} s (Ctrl-C stops)."
    )
    try:
        play(samples, rate, blocking=True)
    except KeyboardInterrupt:
        from reflect.audio import stop_playback

        stop_playback()
    return 0


# ---- saved moments (reflect.kept) ---------------------------------------------------------

# A saved moment plays whole, up to this long (its decoded audio is held in memory).
MOMENT_PLAY_MAX_SECONDS = 600.0
MOMENT_PLAY_TAIL_SECONDS = 1.0


def moment_to_json(moment: SavedMoment) -> dict[str, Any]:
    return moment.to_json()


def _moment_line(moment: SavedMoment) -> str:
    where = [
        f"{moment.session_date:%d %b %Y}".lstrip("0"),
        markup(moment.session_title),
        markup(moment.speaker or ""),
        clock(moment.start),
    ]
    label = f"“{markup(moment.label)}”  " if moment.label else ""
    sound = " ♪" if moment.has_recording else ""
    detail = " · ".join(w for w in where if w) + sound
    return f"[bold]{moment.number:>3}[/bold]  {label}[dim]{detail}[/dim]"


def cmd_keep(args: argparse.Namespace) -> int:
    turns = None
    if args.turn:
        numbers = parse_turn_numbers(args.turn)
        turns = (min(numbers), max(numbers))
    elif not args.at:
        raise UsageError("Say where the moment is: --at 12:31 (and --to), or --turn N.")
    with open_vault(args) as service:
        moment = service.keep(
            args.session,
            at=parse_clock(args.at) if args.at and not turns else None,
            to=parse_clock(args.to) if args.to and not turns else None,
            turns=turns,
            label=args.label,
        )
        if args.json:
            print_json(moment_to_json(moment))
        say(f"Kept as moment {moment.number}. `reflect moments` lists them.")
        return 0


def cmd_moments(args: argparse.Namespace) -> int:
    if args.action is not None and args.action != "play":
        raise UsageError(f"“{args.action}” isn't something moments does; try `moments play N`.")
    if args.action == "play":
        if args.number is None:
            raise UsageError("Say which moment to play: `reflect moments play N`.")
        return _play_moment(args)
    with open_vault(args) as service:
        if args.remove:
            gone = service.remove_moment(args.remove)
            say(f"Removed moment {gone.number}. The session itself is unchanged.")
            return 0
        if args.relabel:
            changed = service.relabel_moment(args.relabel[0], args.relabel[1])
            say(f"Moment {changed.number} is now “{markup(changed.label)}”.")
            return 0
        moments = service.moments()
        if args.json:
            print_json([moment_to_json(m) for m in moments])
            return 0
        if not moments:
            say("No saved moments yet. Keep one with `reflect keep SESSION --at 12:31`.")
            return 0
        console = _console()
        for moment in moments:
            console.print(_moment_line(moment))
            console.print(f"     {markup(moment.first_words)}")
        return 0


def _play_moment(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        moment = service.moment(args.number)
        if moment.start is None:
            raise UsageError(
                f"Moment {moment.number} has no time in a recording, so there is nothing to play."
            )
        start = max(0.0, moment.start - PLAY_LEAD_IN_SECONDS)
        end = (moment.end if moment.end is not None else moment.start) + MOMENT_PLAY_TAIL_SECONDS
        seconds = min(max(end - start, 1.0), MOMENT_PLAY_MAX_SECONDS)
        samples, rate = service.recording_clip(moment.session_id, start, seconds)
    return _play_clip(moment.label or moment.session_title, start, samples, rate)


def cmd_clip(args: argparse.Namespace) -> int:
    from reflect.audio import wav_bytes
    from reflect.fsutil import atomic_write

    target = output_file(args, args.output)
    with open_vault(args) as service:
        start = parse_clock(args.at)
        session = service.session(args.session)
        samples, rate = service.recording_clip(session.id, start, args.seconds)
    if target.suffix.lower() != ".wav":
        raise UsageError("The clip is written as a WAV file; give a name ending in .wav.")
    atomic_write(target, wav_bytes(samples, rate))
    say(
        f"Wrote {samples.shape[1] / rate:.0f} s of “{markup(session.title)}” from "
        f"{clock(start)} to {markup(str(target))}. This copy is not encrypted."
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from reflect.export import render

    target = output_file(args, args.output) if args.output else None
    with open_vault(args) as service:
        session = service.session(args.session)
        text = render(session, args.format)
        if target is not None:
            from reflect.fsutil import atomic_write

            atomic_write(target, text.encode("utf-8"))
            say(
                f"Wrote “{markup(session.title)}” as plain {args.format} to {markup(args.output)}. "
                "This copy is not encrypted."
            )
        else:
            sys.stdout.write(terminal(text, multiline=True))
        return 0


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", metavar="SESSION", help="only this session (id, number or title)")
    p.add_argument("--since", metavar="DATE", help='e.g. 2024-03-01, "last month", "March"')
    p.add_argument("--until", metavar="DATE", help="up to and including this date")
    p.add_argument("--speaker", metavar="WHO", help='"me", "therapist" or a speaker label')


def filters_from(args: argparse.Namespace) -> SearchFilters:
    from reflect.service import SearchFilters

    return SearchFilters(
        session=args.session, since=args.since, until=args.until, speaker=args.speaker
    )


def hit_to_json(hit: Hit) -> dict[str, Any]:
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "session_id": hit.session_id,
        "session_title": hit.session_title,
        "session_date": hit.session_date.isoformat(),
        "source_file": hit.source_file,
        "speaker": hit.speaker,
        "start": hit.start,
        "end": hit.end,
        "text": hit.text,
        **source_json(hit),
    }


def citation_line(hit: Hit) -> str:
    cited = citation(hit)
    if cited is not None:
        return cited  # a note or a handout: never a speaker, a session or "your therapist"
    when = clock(hit.start)
    if hit.end is not None and hit.start is not None:
        when += f"–{clock(hit.end)}"
    parts = [f"“{hit.session_title}”", f"{hit.session_date:%d %B %Y}".lstrip("0")]
    if hit.speaker:
        parts.append(hit.speaker)
    if when:
        parts.append(when)
    return " · ".join(parts)


def render_hit(console: Console, service: Reflect, hit: Hit, label: str) -> None:
    from rich.padding import Padding
    from rich.text import Text

    from reflect.excerpts import spans_in_line

    console.print(Text(f"{label} ", style="bold") + Text(terminal(citation_line(hit)), style="dim"))
    me = set(service.me_labels())
    lines = service.excerpt_lines(hit)
    for i, line in enumerate(lines):
        body = Text()
        if line.speaker and hit.source == "session" and (
            len(lines) > 1 or line.speaker != hit.speaker
        ):
            style = "cyan" if line.speaker in me else "magenta"
            body.append(f"{terminal(line.speaker)}: ", style=style)
        # Cleaned piece by piece, since cleaning may shorten the text the spans point into.
        shown = 0
        end = len(line.text)
        for a, b in [*sorted(spans_in_line(line, hit.match_spans)), (end, end)]:
            a = max(a, shown)
            body.append(terminal(line.text[shown:a], multiline=True))
            body.append(terminal(line.text[a:b], multiline=True), style="bold yellow")
            shown = max(shown, b)
        console.print(Padding(body, (0, 0, 1 if i == len(lines) - 1 else 0, 4)))


def understood_line(understood: Understood) -> str:
    """How reflect read the question, and how to search the words as typed instead."""
    return f"Looking for {understood.summary()}. Add --as-typed to search the words as typed."


def _load_index(service: Reflect) -> None:
    # One command, a few searches, then exit: exact search over the vectors as loaded is
    # ready at once, and building chromadb's index would only compete for the CPU.
    with _console(stderr=True).status("Opening your sessions…", spinner="dots"):
        service.open_index(vector_store=False)
    for note in service.index_notes():
        say(note)


def _query_lines(args: argparse.Namespace, single: str | None) -> list[str]:
    if args.from_file:
        try:
            text = Path(args.from_file).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"Can't read {args.from_file}: {e.strerror}.") from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    if not single:
        raise UsageError("Say what to look for, or give --from-file FILE.")
    return [single]


DEEPER_NOTE = (
    "Searching deeper: a larger model reads each of the top ten moments closely, one at a "
    "time. This takes a while, about half a minute a search."
)


def cmd_quotes(args: argparse.Namespace) -> int:
    if args.from_file and not args.json:
        raise UsageError("--from-file prints one JSON object per line; add --json.")
    queries = _query_lines(args, args.query)
    with open_vault(args) as service:
        filters = filters_from(args)
        service.resolve_filters(filters)  # a bad filter is reported before the index loads
        if args.deeper:
            # Not installed is said now, before the index is opened for nothing.
            with _console(stderr=True).status("Loading the deeper search…", spinner="dots"):
                service.judge_model()
        _load_index(service)
        if args.deeper:
            say(DEEPER_NOTE)
        for query in queries:
            result = _find_quotes(service, query, filters, args)
            understood = result.understood
            if args.json:
                print_json(
                    {
                        "query": query,
                        "understood": understood.to_dict() if understood else None,
                        "hits": [hit_to_json(h) for h in result.hits],
                        "timings": result.timings,
                    }
                )
                continue
            console = _console()
            if understood is not None and understood.changed_anything:
                console.print(understood_line(understood), style="dim")
            if not result.hits:
                console.print("Nothing in your sessions matches that.")
            for hit in result.hits:
                render_hit(console, service, hit, f"{hit.rank}.")
        return 0


def _find_quotes(
    service: Reflect, query: str, filters: SearchFilters, args: argparse.Namespace
) -> QuoteResult:
    if not args.deeper:
        return service.quotes(query, k=args.k, filters=filters, as_typed=args.as_typed)
    with _console(stderr=True).status("Searching…", spinner="dots") as status:

        def reading(done: int, of: int) -> None:
            status.update(f"Reading moment {done + 1} of {of}…" if done < of else "Reordering…")

        return service.deeper_quotes(
            query, k=args.k, filters=filters, as_typed=args.as_typed, progress=reading
        )


def understood_json(asked: AskedQuestion | None) -> dict[str, Any] | None:
    """How the question was read: its kind, what it is about, when, and whether it was
    completed from the conversation."""
    if asked is None:
        return None
    return {
        "kind": asked.kind,
        "about": asked.topic,
        "followup": asked.followup,
        "since": asked.since.isoformat() if asked.since else None,
        "until": asked.until.isoformat() if asked.until else None,
        "time": asked.time_words,
        "summary": asked.summary(),
    }


# ---- across sessions ---------------------------------------------------------------------

# Columns of the timeline chart: "29 Jul 2025  ████████████████████   12  Session title".
TIMELINE_BAR_WIDTH = 20


def _short_day(day: dt.date) -> str:
    return f"{day:%d %b %Y}".lstrip("0")


def timeline_to_json(timeline: Timeline) -> dict[str, Any]:
    return {
        "topic": timeline.topic,
        "sessions": [
            {
                "session_id": s.session_id,
                "session_date": s.session_date.isoformat(),
                "session_title": s.session_title,
                "source": s.source,
                "mentions": s.mentions,
                "hits": [hit_to_json(h) for h in s.hits],
            }
            for s in timeline.sessions
        ],
    }


def cmd_timeline(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        filters = filters_from(args)
        service.resolve_filters(filters)  # a bad filter is reported before the index loads
        _load_index(service)
        timeline = service.timeline(args.topic, filters)
        if args.json:
            print_json(timeline_to_json(timeline))
        else:
            _print_timeline(service, timeline)
        return 0


def _timeline_chart(sessions: Sequence[TimelineSession], most: int) -> Table:
    """A bar per session: its date, how many moments were about the theme, its title."""
    from rich.table import Table
    from rich.text import Text

    from reflect.timeline import bar

    chart = Table(box=None, show_header=False, padding=(0, 1))
    chart.add_column(justify="right", no_wrap=True)
    chart.add_column(no_wrap=True, width=TIMELINE_BAR_WIDTH)
    chart.add_column(justify="right", no_wrap=True)
    chart.add_column(overflow="ellipsis", no_wrap=True)
    for s in sessions:
        chart.add_row(
            _short_day(s.session_date),
            Text(bar(s.mentions, most, TIMELINE_BAR_WIDTH), style="cyan"),
            str(s.mentions),
            Text("your note" if s.source == "note" else terminal(s.session_title), style="dim"),
        )
    return chart


def _print_timeline(service: Reflect, timeline: Timeline) -> None:
    from rich.text import Text

    console = _console()
    total = len(service.sessions())
    topic = terminal(timeline.topic)
    if not timeline.sessions:
        console.print(f"“{topic}” didn't come up in your sessions.")
        return
    sessions = "session" if total == 1 else "sessions"
    in_sessions = sum(1 for s in timeline.sessions if s.source == "session")
    notes = timeline.count - in_sessions
    in_notes = f" and {notes} of your notes" if notes > 1 else " and one of your notes"
    console.print(
        Text(
            f"“{topic}” came up in {in_sessions} of your {total} {sessions}"
            + (in_notes if notes else ""),
            style="bold",
        )
    )
    if not timeline.by_meaning:
        console.print("(matched by its words only: the meaning index isn't ready)", style="dim")
    most = max(s.mentions for s in timeline.sessions)
    console.print(_timeline_chart(timeline.sessions, most))
    console.print("(bars: how many moments of each session are about it)\n", style="dim")
    for s in timeline.sessions:
        for hit in s.hits:
            render_hit(console, service, hit, "•")


def recap_to_json(recap: Recap) -> dict[str, Any]:
    return {
        "session_id": recap.session_id,
        "session_date": recap.session_date.isoformat(),
        "session_title": recap.session_title,
        "moments": [hit_to_json(h) for h in recap.moments],
    }


def cmd_recap(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        recap = service.recap(args.session)
        if args.json:
            print_json(recap_to_json(recap))
            return 0
        _print_recap(_console(), service, recap)
        return 0


def _print_recap(console: Console, service: Reflect, recap: Recap) -> None:
    day = f"{recap.session_date:%d %B %Y}".lstrip("0")
    console.print(
        f"[bold]“{markup(terminal(recap.session_title))}”, {day}[/bold]", highlight=False
    )
    if not recap.moments:
        console.print("This session has nothing to recap.")
    for hit in recap.moments:
        render_hit(console, service, hit, "•")


def agreement_to_json(agreement: Agreement) -> dict[str, Any]:
    return {
        "id": agreement.id,
        "status": agreement.status,
        "kind": agreement.kind,
        "declined": agreement.declined,
        "reply": hit_to_json(agreement.reply) if agreement.reply else None,
        "follow_ups": [hit_to_json(h) for h in agreement.follow_ups],
        **hit_to_json(agreement.words),
    }


# How each status is said; "dropped" is what `--drop` marks.
AGREEMENT_STATUS_WORDS = {"open": "open", "done": "done", "dropped": "not for me"}


def cmd_agreements(args: argparse.Namespace) -> int:
    given = (("done", args.done), ("dropped", args.drop), ("open", args.reopen))
    marking = [(status, agreement_id) for status, agreement_id in given if agreement_id]
    with open_vault(args) as service:
        if marking:
            [(status, agreement_id)] = marking
            agreement = service.mark_agreement(agreement_id, status)
            if args.json:
                print_json(agreement_to_json(agreement))
            else:
                out(f"{agreement.id}: {AGREEMENT_STATUS_WORDS[status]}.")
            return 0
        service.resolve_filters(service_filters(since=args.since, session=args.session))
        _load_index(service)
        agreements = service.agreements(since=args.since, session=args.session)
        if args.json:
            print_json([agreement_to_json(a) for a in agreements])
            return 0
        console = _console()
        if not agreements:
            console.print("No agreements found in these sessions.")
        for agreement in agreements:
            _print_agreement(console, service, agreement)
        return 0


def _print_agreement(console: Console, service: Reflect, agreement: Agreement) -> None:
    status = "" if agreement.status == "open" else f" · {AGREEMENT_STATUS_WORDS[agreement.status]}"
    declined = " · declined" if agreement.declined else ""
    console.print(f"[bold]{agreement.id}[/bold]{status}{declined}", highlight=False)
    render_hit(console, service, agreement.words, " ")
    if agreement.reply is not None:
        render_hit(console, service, agreement.reply, "  ↳")
    for hit in agreement.follow_ups:
        render_hit(console, service, hit, "  later:")


def prep_to_json(prep: Prep) -> dict[str, Any]:
    return {
        "last_session": recap_to_json(prep.last_session) if prep.last_session else None,
        "agreements": [agreement_to_json(a) for a in prep.agreements],
        "themes": [
            {"topic": t.topic, "sessions": timeline_to_json(t.timeline)["sessions"]}
            for t in prep.themes
        ],
        "notes": [note_to_json(None, note) for note in prep.notes],
    }


# Sessions of a theme's chart in `reflect prep`: the latest ones (its timeline has them all).
PREP_CHART_SESSIONS = 6


def cmd_prep(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        _load_index(service)
        prep = service.prep()
        if args.json:
            print_json(prep_to_json(prep))
        else:
            _print_prep(service, prep)
        if not sys.stdout.isatty():
            say("[yellow]Note:[/yellow] written as plain text: wherever it went is not encrypted.")
        return 0


def _print_prep(service: Reflect, prep: Prep) -> None:
    from rich.text import Text

    console = _console()
    if prep.last_session is None:
        console.print("There are no sessions yet: `reflect import FILE` brings one in.")
        return
    console.print(Text("Last time", style="bold underline"))
    _print_recap(console, service, prep.last_session)
    console.print(Text("\nStill open", style="bold underline"))
    if not prep.agreements:
        console.print("Nothing agreed in the last few sessions is still open.")
    else:
        console.print(
            "(mark one with `reflect agreements --done ID` or `--drop ID`)", style="dim"
        )
    for agreement in prep.agreements:
        _print_agreement(console, service, agreement)
    console.print(Text("\nWhat came up lately", style="bold underline"))
    if not prep.themes:
        console.print("No theme stood out in the last few sessions.")
    for theme in prep.themes:
        shown = theme.timeline.sessions[-PREP_CHART_SESSIONS:]
        count = len(theme.timeline.sessions)
        latest = f", the last {len(shown)} here" if count > len(shown) else ""
        heading = f"“{terminal(theme.topic)}”: {count} sessions{latest}"
        console.print(Text(heading, style="bold"))
        console.print(_timeline_chart(shown, max((s.mentions for s in shown), default=0)))
    console.print(Text("\nYour notes since then", style="bold underline"))
    if not prep.notes:
        console.print("None.")
    for note in prep.notes:
        _print_note(console, note)


def service_filters(**given: str | None) -> SearchFilters:
    from reflect.service import SearchFilters

    return SearchFilters(**given)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    t = answer.timings
    return {
        "question": answer.question,
        "answer": answer.text,
        "found": answer.found,
        "citations": [{"n": n, **hit_to_json(hit)} for n, hit in answer.citations],
        "closest": [hit_to_json(h) for h in answer.closest],
        "unverified_quotes": answer.unverified_quotes,
        "safety_message": answer.safety_message,
        "model": answer.model_id,
        "understood": understood_json(answer.asked),
        "timings": {
            "retrieval_ms": t.retrieval_ms,
            "prompt_tokens": t.prompt_tokens,
            "ttft_ms": t.ttft_ms,
            "total_ms": t.total_ms,
            "tokens_per_s": t.tokens_per_s,
        },
    }


def cmd_ask(args: argparse.Namespace) -> int:
    if args.from_file and not args.json:
        raise UsageError("--from-file prints one JSON object per line; add --json.")
    from reflect.service import ReflectOptions

    questions = _query_lines(args, args.question)
    with open_vault(args, ReflectOptions(model_path=args.model)) as service:
        filters = filters_from(args)
        service.resolve_filters(filters)
        # The chat model is not loaded in a background thread meanwhile: llama.cpp points the
        # process's stdout and stderr at /dev/null while it loads, which swallowed the excerpts.
        _load_index(service)
        # --conversation: the lines are one conversation, each question may lean on the last.
        conversation = service.new_conversation() if args.conversation else None
        for question in questions:
            if args.json:
                answer = service.ask(
                    question, filters=filters, k=args.k, conversation=conversation
                )
                print_json(answer_to_json(answer))
            else:
                _ask_streaming(service, question, filters, args.k, conversation)
        return 0


_NEW_CONVERSATION = ("/new", "new", "/clear")
_END_CHAT = ("/quit", "/exit", "quit", "exit")


def cmd_chat(args: argparse.Namespace) -> int:
    """Questions one after another, each able to build on the last ("did I keep it?")."""
    from reflect.service import ReflectOptions

    with open_vault(args, ReflectOptions(model_path=args.model)) as service:
        filters = filters_from(args)
        service.resolve_filters(filters)
        _load_index(service)
        conversation = service.new_conversation()
        say(
            "Ask about your sessions; a question can build on the last one. "
            "Type /new to start afresh, or press Enter on an empty line to finish."
        )
        try:
            while True:
                try:
                    question = input("› ").strip()
                except EOFError:
                    break
                if not question or question.lower() in _END_CHAT:
                    break
                if question.lower() in _NEW_CONVERSATION:
                    conversation.clear()
                    say("Starting afresh.")
                    continue
                _ask_streaming(service, question, filters, args.k, conversation, chat=True)
        except KeyboardInterrupt:
            pass
        return 0


def _ask_streaming(
    service: Reflect,
    question: str,
    filters: SearchFilters,
    k: int | None,
    conversation: Conversation | None = None,
    *,
    chat: bool = False,
) -> None:
    from rich.panel import Panel

    from reflect.answer import AnswerStarted, AnswerToken

    console = _console()
    status = _console(stderr=True).status("Thinking…", spinner="dots")
    status.start()
    shown: list[int] = []

    def on_event(event: AnswerEvent) -> None:
        if isinstance(event, AnswerStarted):
            status.stop()
            if event.safety_message:
                console.print(Panel(event.safety_message, border_style="yellow"))
            # The excerpts are known in milliseconds and the model takes seconds: show them
            # first, numbered as the answer will cite them.
            for excerpt in event.excerpts:
                render_hit(console, service, excerpt.hit, f"[{excerpt.n}]")
                shown.append(excerpt.n)
            sys.stdout.flush()
            status.start()
        elif isinstance(event, AnswerToken):
            status.stop()
            sys.stdout.write(terminal(event.text, multiline=True))
            sys.stdout.flush()

    try:
        answer = service.ask(
            question, filters=filters, k=k, on_event=on_event, conversation=conversation
        )
    finally:
        status.stop()
    sys.stdout.write("\n\n")
    if answer.asked is not None and (answer.asked.followup or answer.asked.kind != "recall"
                                      or answer.asked.time_words):
        note = f"Understood: {answer.asked.summary()}."
        if chat and answer.asked.followup:
            note += " Type /new to start afresh."
        console.print(markup(note), style="dim")
    if answer.unverified_quotes:
        console.print("[yellow]Not found word for word in your sessions:[/yellow]")
        for quote in answer.unverified_quotes:
            console.print(f"  “{markup(quote, multiline=True)}”")
        console.print()
    unshown = [(n, hit) for n, hit in answer.citations if n not in shown]
    if unshown:
        for n, hit in unshown:
            render_hit(console, service, hit, f"[{n}]")
    elif answer.closest and not answer.citations:
        console.print("[dim]Closest matches:[/dim]")
        for hit in answer.closest[:3]:
            render_hit(console, service, hit, "·")


def cmd_models(args: argparse.Namespace) -> int:
    from reflect.llm import list_models

    setting = None
    if args.use_asr or args.default_asr:
        asr_folder = None
        if args.use_asr:
            asr_folder = Path(args.use_asr).expanduser().resolve()
            if not (asr_folder / "model.bin").is_file():
                raise UsageError(
                    f"{asr_folder} isn't a faster-whisper (CTranslate2) model folder: "
                    "it has no model.bin."
                )
        with open_vault(args) as service:
            service.update_settings(asr_model=str(asr_folder) if asr_folder else None)
        say(
            "Saved: recordings are transcribed with it from now on."
            if asr_folder
            else "Recordings are transcribed with the bundled Whisper model again."
        )
        return 0
    if args.use_embedding or args.default_embedding:
        folder = None
        if args.use_embedding:
            folder = Path(args.use_embedding).expanduser().resolve()
            if not (folder / "config.json").is_file():
                raise UsageError(f"{folder} isn't a sentence-transformers model folder.")
        with open_vault(args) as service:
            service.update_settings(embedding_model=str(folder) if folder else None)
        say("Saved. Your sessions are re-embedded with it the next time the vault opens.")
        return 0
    if args.use or args.use_default:
        chosen = None
        if args.use:
            chosen = Path(args.use).expanduser().resolve()
            if not chosen.exists():
                raise UsageError(f"There is no model at {chosen}.")
        with open_vault(args) as service:
            setting = service.update_settings(model=str(chosen) if chosen else None).model
        say("Saved in the vault." if args.use else "The vault no longer names a model.")
    elif Vault.exists(vault_dir(args)) and passphrase.from_environment() is not None:
        # Only read the vault's choice when that needs no typing: listing should be quick.
        with open_vault(args) as service:
            setting = service.settings().model
    candidates = list_models(args.model, setting)
    if args.json:
        print_json(
            [
                {
                    "path": c.label,
                    "source": c.source,
                    "size_bytes": c.size_bytes,
                    "exists": c.exists,
                    "selected": c.selected,
                }
                for c in candidates
            ]
        )
        return 0
    for c in candidates:
        mark = "→" if c.selected else " "
        size = f"{c.size_bytes / 1e6:,.0f} MB" if c.size_bytes else "—"
        state = "" if c.exists else "  (missing)"
        out(f"{mark} {c.source:<20} {size:>9}  {c.label}{state}")
    print("\n→ marks the model reflect will use. See models/README.md to add another.")
    return 0


def _backup_passphrase(args: argparse.Namespace, *, new: bool) -> str:
    if args.passphrase_file:
        return passphrase.read_passphrase_file(args.passphrase_file)
    if not sys.stdin.isatty():
        raise UsageError("Give the backup's passphrase with --passphrase-file FILE.")
    import getpass

    secret = getpass.getpass("Backup passphrase: ")
    if new:
        if len(secret) < passphrase.MIN_LENGTH:
            raise UsageError(f"The passphrase needs at least {passphrase.MIN_LENGTH} characters.")
        if getpass.getpass("Type it again: ") != secret:
            raise UsageError("The two passphrases don't match. No backup was written.")
    return secret


def cmd_backup(args: argparse.Namespace) -> int:
    target = output_file(args, args.file)
    with open_vault(args) as service:
        secret = _backup_passphrase(args, new=True)
        try:
            report = service.backup(target, secret)
        except DiskFull as e:
            # A backup is about the size of the vault: say how much room it needs.
            raise DiskFull(e.folder, service.status().size_bytes) from None
        size = target.stat().st_size
        say(
            f"Backed up {tally(report.kinds)} to {markup(str(target))} "
            f"({size / 1e6:.1f} MB, encrypted)."
        )
        for note in report.left_out:
            say(markup(note))
        return 0


def cmd_restore(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        secret = _backup_passphrase(args, new=False)
        report = service.restore(Path(args.file).expanduser(), secret)
        present = report.already_present
        say(
            f"Restored {tally(report.kinds)}; "
            f"{present} {'was' if present == 1 else 'were'} already here."
        )
        return 0


# ---- notes and handouts -----------------------------------------------------------------
# Not sessions, but searchable and cited (reflect/documents.py): `reflect note`, `reflect
# notes`, `reflect import --handout`, `reflect handouts`.


def _note_text(args: argparse.Namespace) -> str:
    if args.file and args.text:
        raise UsageError("Give the note as text or with --file FILE, not both.")
    if args.file:
        try:
            return Path(args.file).expanduser().read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{args.file} isn't UTF-8 text.") from None
        except OSError as e:
            raise UsageError(f"Can't read {args.file}: {e.strerror}.") from None
    if args.text:
        return str(args.text)
    if sys.stdin.isatty():
        # Typed here, the note stays out of the shell's history file (an argument doesn't).
        say("Write your note; press Ctrl-D on an empty line when it's done.")
    return sys.stdin.read()


def cmd_note(args: argparse.Namespace) -> int:
    if args.recording:
        return _record_note(args)
    text = _note_text(args)
    day = parse_day(args.date) if args.date else None
    with open_vault(args) as service:
        if args.edit:
            note = service.documents.edit_note(args.edit, text)
            say(f"Note of {_short_day(note.date)} changed ({note.id}).")
        else:
            note = service.documents.write_note(text, day=day)
            say(f"Noted ({_short_day(note.date)}, {note.id}); sealed in your vault.")
        return 0


def _record_note(args: argparse.Namespace) -> int:
    """`reflect note --recording FILE`: a voice memo, transcribed here and kept as a note.
    No consent question: it is the user's own voice, not a session (reflect/voice_memo.py)."""
    if args.text or args.file or args.edit:
        raise UsageError("A voice memo is the note: give --recording FILE on its own.")
    path = Path(args.recording).expanduser()
    day = parse_day(args.date) if args.date else None
    with open_vault(args) as service:
        say(f"Transcribing {markup(path.name)} on this computer…")
        stored = service.documents.record_note(path, day=day)
        note = stored.session
        if stored.duplicate:
            what = "as a note" if note.kind == "note" else f"as “{markup(note.title)}”"
            say(f"[dim]= {markup(path.name)}: already in the vault {what} ({note.id}).[/dim]")
        else:
            written = _short_day(dt.date.fromisoformat(str(note.date)))
            say(
                f"Noted your voice memo ({written}, {note.id}); its words and its audio are "
                "sealed in your vault."
            )
        return 0


def _remove_confirmed(
    args: argparse.Namespace, what: str, remove: Callable[[], object], removed: str
) -> int:
    """Remove a note or handout for good once the person confirms (--yes in scripts): `what`
    names it in the question, `removed` is said when done. 1 if they said no."""
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"Removing {what} needs confirmation; add --yes in scripts.")
        answer = input(f"Remove {terminal(what)} for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            say("Nothing removed.")
            return 1
    remove()
    say(removed)
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    with open_vault(args) as service:
        documents = service.documents
        if args.remove:
            note = documents.note(args.remove)
            return _remove_confirmed(
                args,
                f"your note of {_short_day(note.date)}",
                lambda: documents.remove_note(note.id),
                f"Removed your note of {_short_day(note.date)} ({note.id}).",
            )
        notes = [documents.note(s.id) for s in documents.notes()]
        if args.json:
            print_json([note_to_json(n, note) for n, note in enumerate(notes, 1)])
            return 0
        if not notes:
            say('No notes yet. Write one with `reflect note "…"`.')
        console = _console()
        for n, note in enumerate(notes, 1):
            _print_note(console, note, f"{n}.")
        return 0


def note_to_json(n: int | None, note: Session) -> dict[str, Any]:
    """A note as `reflect notes --json` and `reflect prep --json` give it."""
    numbered = {} if n is None else {"n": n}
    return {
        **numbered,
        "id": note.id,
        "date": note.date.isoformat(),
        "written_at": note.imported_at,
        "source": "note",
        "text": note.text,
    }


def _print_note(console: Console, note: Session, label: str = "•") -> None:
    console.print(
        f"[bold]{label}[/bold] [dim]your note, {_short_day(note.date)} · {note.id}[/dim]"
    )
    console.print(f"    {markup(note.text, multiline=True)}\n", highlight=False)


def _import_handouts(service: Reflect, args: argparse.Namespace) -> int:
    from reflect.errors import TranscriptError

    if not args.paths:
        raise UsageError("Name the handout file to import: reflect import --handout FILE.")
    if len(args.paths) > 1 and (args.title or args.date):
        raise UsageError("--title and --date name one handout; import one file at a time.")
    day = parse_day(args.date) if args.date else None
    failed = 0
    for name in args.paths:
        path = Path(name).expanduser()
        try:
            stored = service.documents.import_handout(
                path, title=args.title, day=day, given_by=args.by
            )
        except TranscriptError as e:  # a HandoutError: names the file, nothing stored
            failed += 1
            if args.json:
                print_json(
                    {"event": "result", "path": str(path), "status": "failed", "reason": e.reason}
                )
            else:
                say(f"[red]✗[/red] {markup(str(path))}: {markup(e.reason)}")
            continue
        handout = stored.session
        status = "duplicate" if stored.duplicate else "imported"
        if args.json:
            print_json(
                {
                    "event": "result",
                    "path": str(path),
                    "status": status,
                    "source": "handout",
                    "id": handout.id,
                    "title": handout.title,
                }
            )
        elif stored.duplicate:
            say(
                f"[dim]= {markup(str(path))}: already in the vault as the handout "
                f"“{markup(handout.title)}” ({handout.id})[/dim]"
            )
        else:
            say(
                f"[green]✓[/green] {markup(str(path))} → handout “{markup(handout.title)}” "
                f"({handout.id})"
            )
    return 1 if failed else 0


def handout_to_json(n: int, handout: Session) -> dict[str, Any]:
    from reflect.documents import given_by
    from reflect.sources import page_of

    return {
        "n": n,
        "id": handout.id,
        "title": handout.title,
        "date": handout.date.isoformat(),
        "date_source": handout.date_source,
        "given_by": given_by(handout),
        "source_file": handout.source_file,
        "format": handout.format,
        "source": "handout",
        "pages": [
            {"page": page_of(handout, t.index), "text": handout.turn_text(t)} for t in handout.turns
        ],
    }


def cmd_handouts(args: argparse.Namespace) -> int:
    from reflect.documents import given_by
    from reflect.sources import page_of

    with open_vault(args) as service:
        documents = service.documents
        if args.remove:
            handout = documents.handout(args.remove)
            return _remove_confirmed(
                args,
                f"the handout “{handout.title}”",
                lambda: documents.remove_handout(handout.id),
                f"Removed the handout “{markup(handout.title)}” ({handout.id}).",
            )
        if args.show:
            handout = documents.handout(args.show)
            if args.json:
                print_json(handout_to_json(int(args.show) if args.show.isdigit() else 0, handout))
                return 0
            console = _console()
            console.print(f"[bold]handout: {markup(handout.title)}[/bold]", highlight=False)
            for t in handout.turns:
                console.print(f"\n[dim]page {page_of(handout, t.index)}[/dim]")
                console.print(markup(handout.turn_text(t), multiline=True), highlight=False)
            return 0
        handouts = [documents.handout(s.id) for s in documents.handouts()]
        if args.json:
            print_json([handout_to_json(n, h) for n, h in enumerate(handouts, 1)])
            return 0
        if not handouts:
            say("No handouts yet. Add one with `reflect import --handout FILE`.")
            return 0
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for col in ("#", "id", "date", "title", "pages", "given by"):
            table.add_column(col, justify="right" if col in ("#", "pages") else "left")
        for n, h in enumerate(handouts, 1):
            table.add_row(
                str(n),
                h.id,
                h.date.isoformat(),
                markup(h.title),
                str(len(h.turns)),
                markup(given_by(h) or "—"),
            )
        _console().print(table)
        return 0


# ---- the terminal app -------------------------------------------------------------------


def run_app(path: Path, *, demo: bool = False) -> int:
    """The terminal app on the vault at `path` (or the demo vault), until the person quits."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "The reflect app needs a terminal window. `reflect --help` lists the commands "
            "that work in scripts."
        )
    from reflect.tui.app import create_app, run  # Textual loads only for the app

    return run(create_app(path, demo=demo))


def cmd_app(args: argparse.Namespace) -> int:
    """`reflect` with no command: your vault in the app (it is created on first run)."""
    return run_app(vault_dir(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """`reflect demo`: the demo vault of invented sessions, made on first use."""
    return run_app(paths.demo_vault_dir(), demo=True)


# ---- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--vault",
        metavar="DIR",
        help="vault folder (default: REFLECT_VAULT, else your data folder)",
    )
    parser = argparse.ArgumentParser(
        prog="reflect",
        description="A private, offline companion for your therapy sessions. "
        "Everything stays encrypted on this computer.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"reflect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("init", cmd_init, "create a new encrypted vault")
    p.add_argument("--passphrase-file", metavar="FILE", help="read the new passphrase from FILE")
    p.add_argument("--json", action="store_true")

    p = add("status", cmd_status, "open the vault and describe it")
    p.add_argument("--json", action="store_true")

    p = add("passwd", cmd_passwd, "change the vault's passphrase")
    p.add_argument("--new-passphrase-file", metavar="FILE")

    p = add("import", cmd_import, "import transcripts or recordings (files or folders)")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument(
        "--language", metavar="CODE", help="a recording's language (en, de...); default: detected"
    )
    p.add_argument(
        "--no-keep-audio",
        action="store_true",
        help="keep only the transcript of a recording, not its audio",
    )
    p.add_argument("--asr-model", metavar="DIR", help="a faster-whisper model folder, this time")
    p.add_argument(
        "--discard-unfinished",
        action="store_true",
        help="forget unfinished transcriptions (of the given files, or all) instead of importing",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the session's date (one file only)")
    p.add_argument("--me", metavar="LABEL", help="the speaker label that is you")
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a session imported earlier from a file of the same name",
    )
    agreement = p.add_mutually_exclusive_group()
    agreement.add_argument(
        "--consented",
        action="store_true",
        help="your therapist agreed to the recordings being imported (asked otherwise)",
    )
    agreement.add_argument(
        "--no-consent",
        action="store_true",
        help="your therapist did not agree, or you are not sure (asked otherwise)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines of progress and results")
    p.add_argument(
        "--handout",
        action="store_true",
        help="the files are handouts or worksheets (PDF, .docx, .md), not sessions",
    )
    p.add_argument("--title", metavar="TITLE", help="a handout's title (default: its own)")
    p.add_argument("--by", metavar="NAME", help="who gave you the handout")

    p = add("sessions", cmd_sessions, "list your sessions")
    p.add_argument("--json", action="store_true")

    p = add("show", cmd_show, "show a session's transcript")
    p.add_argument("session", metavar="SESSION", help="id, id prefix, list number or title")
    p.add_argument("--numbers", action="store_true", help="number the turns")
    p.add_argument("--json", action="store_true")

    p = add("rename", cmd_rename, "give a session a new title")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("title", metavar="TITLE")

    p = add("redate", cmd_redate, "change a session's date")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("date", metavar="YYYY-MM-DD")

    p = add("remove", cmd_remove, "remove a session for good")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--yes", action="store_true", help="don't ask for confirmation")

    p = add("speakers", cmd_speakers, "list or name speakers; mark which one is you")
    p.add_argument("session", nargs="?", metavar="SESSION", help="one session's speakers")
    p.add_argument("--me", metavar="LABEL", help="this label is you, in every session")
    p.add_argument("--label", metavar="NAME", help="give turns of SESSION this speaker name")
    p.add_argument("--unlabel", action="store_true", help="take the name off the chosen turns")
    p.add_argument("--turns", metavar="N,M-K", help="which turns (numbers from `reflect show`)")
    p.add_argument("--from", dest="start", metavar="TIME", help="turns starting at or after")
    p.add_argument("--to", dest="end", metavar="TIME", help="turns starting before")
    p.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help="rename a speaker")
    p.add_argument("--json", action="store_true")

    p = add("play", cmd_play, "play a stretch of a session's recording")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--at", metavar="TIME", required=True, help="where, e.g. 12:31 or 1:02:09")
    p.add_argument("--seconds", type=float, default=20.0, help="how long (default 20)")
    p.add_argument(
        "--exact",
        action="store_true",
        help=f"start exactly at TIME, not {PLAY_LEAD_IN_SECONDS:g} s before it",
    )

    p = add("keep", cmd_keep, "keep a moment of a session to come back to")
    p.add_argument("session", metavar="SESSION", help="id, id prefix, list number or title")
    p.add_argument("--at", metavar="TIME", help="the turn spoken at TIME, e.g. 12:31")
    p.add_argument("--to", metavar="TIME", help="and every turn up to TIME")
    p.add_argument("--turn", metavar="N or N-M", help="turns by number (`reflect show --numbers`)")
    p.add_argument("--label", metavar="TEXT", help="a few words to find it by")
    p.add_argument("--json", action="store_true")

    p = add("moments", cmd_moments, "your saved moments: list them, play or remove one")
    p.add_argument("action", nargs="?", metavar="play", help="play moment N from its recording")
    p.add_argument("number", nargs="?", metavar="N")
    p.add_argument("--remove", metavar="N", help="forget moment N (the session stays)")
    p.add_argument("--relabel", nargs=2, metavar=("N", "TEXT"), help="give moment N a new label")
    p.add_argument("--json", action="store_true")

    p = add("clip", cmd_clip, "write a stretch of a recording as a WAV file (unencrypted)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--at", metavar="TIME", required=True, help="where, e.g. 12:31 or 1:02:09")
    p.add_argument("--seconds", type=float, default=20.0, help="how long (default 20)")
    p.add_argument("-o", "--output", metavar="FILE.wav", required=True)
    p.add_argument("--force", action="store_true", help="replace FILE.wav if it exists")

    p = add("export", cmd_export, "write a session as plain text (unencrypted, by your choice)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--format", choices=("txt", "vtt", "md"), default="txt")
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")

    p = add("quotes", cmd_quotes, "find the exact words in your sessions")
    p.add_argument(
        "query",
        nargs="?",
        metavar="QUERY",
        help='words or a memory; "in double quotes" for an exact phrase',
    )
    p.add_argument("--k", type=int, default=5, help="how many excerpts (default 5)")
    add_filter_options(p)
    p.add_argument(
        "--as-typed",
        action="store_true",
        help="search the words exactly as typed (don't read who said it or drop the framing)",
    )
    p.add_argument("--from-file", metavar="FILE", help="one query per line (with --json)")
    p.add_argument(
        "--deeper",
        action="store_true",
        help="a larger model reads the top ten closely and reorders them (about half a "
        "minute; the optional deep-search extra)",
    )
    p.add_argument("--json", action="store_true")

    p = add("ask", cmd_ask, "ask about your sessions; the answer cites the exact words")
    p.add_argument("question", nargs="?", metavar="QUESTION")
    p.add_argument("--k", type=int, default=None, help="how many excerpts to consider")
    add_filter_options(p)
    p.add_argument("--model", metavar="PATH", help="a GGUF chat model to use")
    p.add_argument("--from-file", metavar="FILE", help="one question per line (with --json)")
    p.add_argument(
        "--conversation",
        action="store_true",
        help="the questions are one conversation: each may build on the last (\"did I keep it?\")",
    )
    p.add_argument("--json", action="store_true")

    p = add("chat", cmd_chat, "ask question after question; each can build on the last")
    p.add_argument("--k", type=int, default=None, help="how many excerpts to consider")
    add_filter_options(p)
    p.add_argument("--model", metavar="PATH", help="a GGUF chat model to use")

    p = add("models", cmd_models, "list the chat models reflect sees and which it will use")
    p.add_argument("--model", metavar="PATH", help="show what reflect would do with --model PATH")
    p.add_argument("--use", metavar="PATH", help="remember this GGUF model in the vault")
    p.add_argument("--use-default", action="store_true", help="forget the vault's model choice")
    p.add_argument(
        "--use-embedding",
        metavar="DIR",
        help="search with this local sentence-transformers model folder",
    )
    p.add_argument(
        "--default-embedding",
        action="store_true",
        help="search with the bundled all-MiniLM-L6-v2 again",
    )
    p.add_argument(
        "--use-asr", metavar="DIR", help="transcribe recordings with this faster-whisper folder"
    )
    p.add_argument(
        "--default-asr", action="store_true", help="transcribe with the bundled Whisper again"
    )
    p.add_argument("--json", action="store_true")

    p = add("backup", cmd_backup, "write the whole vault to one encrypted file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--passphrase-file", metavar="FILE", help="the backup's own passphrase")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")

    p = add("restore", cmd_restore, "bring sessions back from a backup file (no duplicates)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--passphrase-file", metavar="FILE", help="the backup's passphrase")

    p = add("timeline", cmd_timeline, "every session where a theme came up, oldest first")
    p.add_argument("topic", metavar="TOPIC", help='a theme in your words: "sleep", "my dad"')
    add_filter_options(p)
    p.add_argument("--json", action="store_true")

    p = add("recap", cmd_recap, "what a session covered: its key moments, verbatim")
    p.add_argument("session", metavar="SESSION", help="id, id prefix, list number or title")
    p.add_argument("--json", action="store_true")

    p = add("agreements", cmd_agreements, "what you and your therapist agreed to try")
    p.add_argument("--since", metavar="DATE", help='e.g. 2024-03-01, "last month", "March"')
    p.add_argument("--session", metavar="SESSION", help="only this session")
    mark = p.add_mutually_exclusive_group()
    mark.add_argument("--done", metavar="ID", help="mark agreement ID done")
    mark.add_argument("--drop", metavar="ID", help="mark agreement ID not for me")
    mark.add_argument("--open", dest="reopen", metavar="ID", help="mark agreement ID open again")
    p.add_argument("--json", action="store_true")

    p = add(
        "prep",
        cmd_prep,
        "ready for your next session: the last recap, what is still open, recent themes",
    )
    p.description = (
        "Ready for your next session: the last session's recap, the agreements still open "
        "and what became of them, the themes that came up most lately, and your notes since. "
        "Printed as plain text: `reflect prep > FILE` writes it to FILE unencrypted, by your "
        "choice."
    )
    p.add_argument("--json", action="store_true")

    p = add("note", cmd_note, "write a note of your own: sealed, dated, searchable")
    p.add_argument("text", nargs="?", metavar="TEXT", help="the note (or --file, or stdin)")
    p.add_argument("--file", metavar="FILE", help="the note is this UTF-8 text file")
    p.add_argument(
        "--recording", metavar="FILE", help="a voice memo (audio file), transcribed here"
    )
    p.add_argument(
        "--date", metavar="YYYY-MM-DD", help="date it (default: today; a memo: its file's date)"
    )
    p.add_argument("--edit", metavar="N", help="replace the words of note N (`reflect notes`)")

    p = add("notes", cmd_notes, "list your notes")
    p.add_argument("--remove", metavar="N", help="remove note N for good")
    p.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    p.add_argument("--json", action="store_true")

    p = add("handouts", cmd_handouts, "list your therapist's handouts")
    p.add_argument("--show", metavar="N", help="print handout N, page by page")
    p.add_argument("--remove", metavar="N", help="remove handout N for good")
    p.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    p.add_argument("--json", action="store_true")

    add("demo", cmd_demo, "open a demo vault of invented sample sessions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    private_umask()
    disable_core_dumps()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", None) or cmd_app
    try:
        return handler(args)
    except (ReflectError, OSError) as e:
        known = as_reflect_error(e)
        if known is None:
            raise
        print(terminal(f"reflect: {known.title}: {known.message}"), file=sys.stderr)
        return known.exit_code
    except KeyboardInterrupt:
        print("\nreflect: interrupted. Everything finished before this is saved.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
