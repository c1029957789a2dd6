"""The across-sessions commands: `reflect timeline`, `reflect recap`, `reflect agreements`.

Kept apart from cli.py, which they share helpers with (opening the vault, printing hits), so
the view across sessions can grow without crowding the single-moment commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from reflect import cli
from reflect.safe_text import terminal

# Columns of the timeline chart: "29 Jul 2025  ████████████████████   12  Session title".
BAR_WIDTH = 20


def add_commands(add: Callable[[str, cli.Handler, str], argparse.ArgumentParser]) -> None:
    p = add("timeline", cmd_timeline, "every session where a theme came up, oldest first")
    p.add_argument("topic", metavar="TOPIC", help='a theme in your words: "sleep", "my dad"')
    cli.add_filter_options(p)
    p.add_argument("--json", action="store_true")


def _day(day: Any) -> str:
    return f"{day:%d %b %Y}".lstrip("0")


def timeline_to_json(timeline: Any) -> dict[str, Any]:
    return {
        "topic": timeline.topic,
        "sessions": [
            {
                "session_id": s.session_id,
                "session_date": s.session_date.isoformat(),
                "session_title": s.session_title,
                "mentions": s.mentions,
                "hits": [cli.hit_to_json(h) for h in s.hits],
            }
            for s in timeline.sessions
        ],
    }


def cmd_timeline(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from reflect.timeline import bar

    service = cli.open_service(args)
    filters = cli.filters_from(args)
    service.resolve_filters(filters)  # a bad filter is reported before the index loads
    cli._load_index(service)
    timeline = service.timeline(args.topic, filters)
    if args.json:
        cli.print_json(timeline_to_json(timeline))
        service.lock()
        return 0
    console = cli._console()
    total = len(service.sessions())
    topic = terminal(timeline.topic)
    if not timeline.sessions:
        console.print(f"“{topic}” didn't come up in your sessions.")
        service.lock()
        return 0
    sessions = "session" if total == 1 else "sessions"
    console.print(
        Text(f"“{topic}” came up in {timeline.count} of your {total} {sessions}", style="bold")
    )
    if not timeline.by_meaning:
        console.print("(matched by its words only: the meaning index isn't ready)", style="dim")
    most = max(s.mentions for s in timeline.sessions)
    chart = Table(box=None, show_header=False, padding=(0, 1))
    chart.add_column(justify="right", no_wrap=True)
    chart.add_column(no_wrap=True, width=BAR_WIDTH)
    chart.add_column(justify="right", no_wrap=True)
    chart.add_column(overflow="ellipsis", no_wrap=True)
    for s in timeline.sessions:
        chart.add_row(
            _day(s.session_date),
            Text(bar(s.mentions, most, BAR_WIDTH), style="cyan"),
            str(s.mentions),
            Text(terminal(s.session_title), style="dim"),
        )
    console.print(chart)
    console.print("(bars: how many moments of each session are about it)\n", style="dim")
    for s in timeline.sessions:
        for hit in s.hits:
            cli.render_hit(console, service, hit, "•")
    service.lock()
    return 0
