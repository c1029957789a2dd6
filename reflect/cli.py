"""`reflect` on the command line: a thin layer over `reflect.service.Reflect`.

Every expected failure is a ReflectError, printed as one line ("reflect: title: sentence")
with a non-zero exit; a traceback here is a bug.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reflect import __version__, passphrase, paths
from reflect.errors import ReflectError, UsageError, VaultNotFound
from reflect.fsutil import disable_core_dumps, private_umask
from reflect.vault import Vault

Handler = Callable[[argparse.Namespace], int]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def say(message: str) -> None:
    """Human-facing chatter goes to stderr so stdout stays clean for --json and pipes."""
    _console(stderr=True).print(message)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} isn't a date; write it as YYYY-MM-DD.") from None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


# ---- opening the vault ------------------------------------------------------------------


def vault_dir(args: argparse.Namespace) -> Path:
    return paths.resolve_vault_dir(getattr(args, "vault", None))


def open_service(args: argparse.Namespace) -> Any:
    from reflect.service import Reflect

    path = vault_dir(args)
    if not Vault.exists(path):
        raise VaultNotFound(f"There is no reflect vault in {path}. Create one with `reflect init`.")
    secret = passphrase.ask_existing(f"Passphrase for {path}: ")
    return Reflect.unlock(path, secret)


# ---- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from reflect.service import Reflect

    path = vault_dir(args)
    if Vault.exists(path):
        raise ReflectError(
            f"A vault already exists in {path}; reflect won't overwrite it.",
            title="Vault already exists",
        )
    if sys.stdin.isatty() and passphrase.from_environment() is None and not args.passphrase_file:
        say(
            "Choose a passphrase for your vault. [bold]There is no way to recover your "
            "sessions without it[/bold]: write it down somewhere safe."
        )
    secret = passphrase.ask_new("Passphrase: ", file=args.passphrase_file)
    say("Creating the vault (tuning the key settings to this computer)...")
    service = Reflect.create(path, secret)
    st = service.status()
    say(f"Created an encrypted vault in {path}.")
    if args.json:
        print_json(st)
    service.lock()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    service = open_service(args)
    st = service.status()
    if args.json:
        print_json(st)
    else:
        kdf = st["kdf"]
        print(f"Vault:     {st['path']}")
        print(f"Format:    {st['format_version']}")
        print(f"Sessions:  {st['sessions']}")
        print(f"Size:      {st['size_bytes'] / 1e6:.2f} MB on disk, encrypted")
        print(
            f"Key:       Argon2id, {kdf['memory_mib']} MiB, {kdf['iterations']} passes, "
            f"{kdf['lanes']} lane(s)"
        )
    service.lock()
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    service = open_service(args)
    if args.new_passphrase_file:
        new = passphrase.read_passphrase_file(args.new_passphrase_file)
        if len(new) < passphrase.MIN_LENGTH:
            raise UsageError(f"The passphrase needs at least {passphrase.MIN_LENGTH} characters.")
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
            raise UsageError(f"The passphrase needs at least {passphrase.MIN_LENGTH} characters.")
        if hint:
            say(hint)
        if getpass.getpass("Type it again: ") != new:
            raise UsageError("The two passphrases don't match. Nothing was changed.")
    service.change_passphrase(new)
    service.lock()
    say("Passphrase changed. The old one no longer opens this vault.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from reflect.ingest import ImportOptions, ImportProgress

    service = open_service(args)
    options = ImportOptions(
        date=parse_day(args.date) if args.date else None, me=args.me, replace=args.replace
    )
    targets = [Path(p).expanduser() for p in args.paths]
    if args.json:

        def emit(p: ImportProgress) -> None:
            print_json(
                {
                    "event": "progress",
                    "files_done": p.files_done,
                    "files_total": p.files_total,
                    "turns": p.turns_done,
                    "elapsed_s": round(p.elapsed, 2),
                }
            )

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
            if r.status == "failed":
                say(f"[red]✗[/red] {r.path}: {r.reason}")
            elif r.status == "duplicate":
                say(f"[dim]= {r.path}: already in the vault as “{r.title}” ({r.session_id})[/dim]")
            else:
                say(f"[green]✓[/green] {r.path} → “{r.title}” ({r.session_id}, {r.turns} turns)")
        say(report.summary() + ".")
    service.lock()
    return 1 if report.failed else 0


def _import_with_progress_bar(service: Any, targets: list[Path], options: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from reflect.ingest import ImportProgress

    with Progress(
        TextColumn("Importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[turns]} turns · {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None, turns=0, rate="")

        def tick(p: ImportProgress) -> None:
            rate = f"{p.files_done / p.elapsed:.1f} files/s" if p.elapsed > 0.5 else ""
            bar.update(
                task, total=p.files_total, completed=p.files_done, turns=p.turns_done, rate=rate
            )

        return service.import_paths(targets, options, progress=tick)


def cmd_sessions(args: argparse.Namespace) -> int:
    service = open_service(args)
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
                s.title,
                ", ".join(s.speakers) or "—",
                str(s.turns),
                s.date_source,
            )
        _console().print(table)
    service.lock()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    service = open_service(args)
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
        from rich.markup import escape

        console = _console()
        console.print(f"[bold]{escape(session.title)}[/bold] · {session.date:%d %B %Y}")
        me = set(service.me_labels())
        for t in session.turns:
            stamp = format_seconds(t.start)
            who = t.speaker or ""
            style = "cyan" if t.speaker in me else "magenta"
            prefix = f"[dim]{stamp:>8}[/dim] " if stamp else ""
            label = f"[{style}]{escape(who)}:[/{style}] " if who else ""
            console.print(f"{prefix}{label}{escape(session.turn_text(t))}")
    service.lock()
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    service = open_service(args)
    s = service.rename(args.session, args.title)
    say(f"Renamed session {s.id} to “{s.title}”.")
    service.lock()
    return 0


def cmd_redate(args: argparse.Namespace) -> int:
    service = open_service(args)
    s = service.redate(args.session, parse_day(args.date))
    say(f"Session {s.id} is now dated {s.date.isoformat()}.")
    service.lock()
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    service = open_service(args)
    summary = service.store.resolve(args.session)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("Removing a session needs confirmation; add --yes in scripts.")
        answer = input(f"Remove “{summary.title}” ({summary.date}) for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            say("Nothing removed.")
            return 1
    service.remove(summary.id)
    say(f"Removed “{summary.title}” ({summary.id}).")
    service.lock()
    return 0


def cmd_speakers(args: argparse.Namespace) -> int:
    service = open_service(args)
    if args.me:
        service.set_me(args.me)
        say(f"“{args.me}” is you: `--speaker me` now finds what {args.me} said.")
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
            print(f"{label}{mark}: {count} session(s)")
    service.lock()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from reflect.export import render

    service = open_service(args)
    session = service.session(args.session)
    text = render(session, args.format)
    if args.output:
        from reflect.fsutil import atomic_write

        atomic_write(Path(args.output).expanduser(), text.encode("utf-8"))
        say(
            f"Wrote “{session.title}” as plain {args.format} to {args.output}. "
            "This copy is not encrypted."
        )
    else:
        sys.stdout.write(text)
    service.lock()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from reflect.demo import open_demo

    service, secret, created = open_demo(paths.demo_vault_dir())
    say(f"[bold]reflect demo[/bold]: a vault of invented sample sessions in {service.vault.path}")
    say(f"Its passphrase is: [bold]{secret}[/bold]" + (" (just created)" if created else ""))
    args.json = False
    rows = service.sessions()
    for s in rows:
        say(f"  {s.date}  {s.title}  ({s.turns} turns, {', '.join(s.speakers)})")
    say("Try: REFLECT_VAULT=<the folder above> reflect sessions")
    service.lock()
    return 0


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

    p = add("import", cmd_import, "import transcript files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the session's date (one file only)")
    p.add_argument("--me", metavar="LABEL", help="the speaker label that is you")
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a session imported earlier from a file of the same name",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines of progress and results")

    p = add("sessions", cmd_sessions, "list your sessions")
    p.add_argument("--json", action="store_true")

    p = add("show", cmd_show, "show a session's transcript")
    p.add_argument("session", metavar="SESSION", help="id, id prefix, list number or title")
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

    p = add("speakers", cmd_speakers, "list speakers; mark which one is you")
    p.add_argument("--me", metavar="LABEL")
    p.add_argument("--json", action="store_true")

    p = add("export", cmd_export, "write a session as plain text (unencrypted, by your choice)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--format", choices=("txt", "vtt", "md"), default="txt")
    p.add_argument("-o", "--output", metavar="FILE")

    add("demo", cmd_demo, "open a demo vault of invented sample sessions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    private_umask()
    disable_core_dumps()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    handler: Handler = args.handler
    try:
        return handler(args)
    except ReflectError as e:
        print(f"reflect: {e.title}: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("\nreflect: interrupted. Everything finished before this is saved.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
