"""A small terminal app that uses the Tidings SDK end to end.

Start a server and create an app (the JSON it prints holds the keys):

    tidings serve &
    tidings apps create --name "Terminal demo" --platform python > app.json

then run the app and type commands (or pipe them in):

    python examples/terminal_app.py --credentials app.json

``app.json`` holds the app's API secret: keep it out of version control (``.gitignore`` has it).
The app talks to ``--backend URL``, by default ``$TIDINGS_SERVER`` or http://127.0.0.1:8000
(where ``tidings serve`` listens unless told otherwise).

Commands:
    track NAME [key=value ...]   record an event (values: numbers, true/false, else text)
    gated NAME [key=value ...]   record an event and wait for a gate campaign, if one fires
    set KEY VALUE                set a custom property        unset KEY   remove it
    user ID | user -             sign in as ID / sign out
    bg | fg                      send the app to the background / bring it back
    recent [N]                   the newest recorded events (times in UTC, ISO 8601)
    data KIND                    a data set: @device @user @custom @session
    flush                        upload everything queued now
    quit                         finish the session and exit

Deep links print as ``-> deep link: URL``. URLs under ``demo://gate/`` are presented by a
terminal "paywall" gate that completes when the URL has ``accept=1`` and is dismissed otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from tidings.core.events import EventRecord
from tidings.core.timeparse import format_instant
from tidings.sdk import Resolution, Tidings

DEFAULT_BACKEND = "http://127.0.0.1:8000"


def parse_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_props(words: list[str]) -> dict[str, Any]:
    props = {}
    for word in words:
        key, _, value = word.partition("=")
        props[key] = parse_value(value)
    return props


def on_deep_link(url: str, info: dict[str, Any]) -> bool:
    print(f"-> deep link: {url} (campaign {info['campaignName']!r})", flush=True)
    return True


def paywall(params: dict[str, str], info: dict[str, Any], resolution: Resolution) -> None:
    print(f"-> gate: showing {info['url']}", flush=True)
    if params.get("accept") == "1":
        resolution.completed()
    else:
        resolution.dismissed()


CONFIG_READY = threading.Event()


def on_system_event(event: EventRecord) -> None:
    if event.name == "ConfigFetchFinished":
        CONFIG_READY.set()
    if event.name in ("SessionStarted", "SessionFinished", "ConfigFetchFinished", "CampaignShown"):
        print(f"   [{event.name}] {json.dumps(dict(event.properties))}", flush=True)


def run_command(client: Tidings, line: str) -> bool:
    words = line.split()
    if not words:
        return True
    cmd, args = words[0], words[1:]
    if cmd == "quit":
        return False
    if cmd == "track" and args:
        client.track(args[0], parse_props(args[1:]))
    elif cmd == "gated" and args:
        decision = client.track_gated(args[0], parse_props(args[1:]))
        print(f"-> gate decision: {decision.outcome} ({decision.reason})", flush=True)
    elif cmd == "set" and len(args) == 2:
        client.set_custom_property(args[0], parse_value(args[1]))
    elif cmd == "unset" and len(args) == 1:
        client.remove_custom_property(args[0])
    elif cmd == "user" and len(args) == 1:
        client.set_user_id(None if args[0] == "-" else args[0])
    elif cmd == "bg":
        client.background()
    elif cmd == "fg":
        client.foreground()
    elif cmd == "recent":
        for event in client.get_recent_events(int(args[0]) if args else 10):
            when = format_instant(event.timestamp)
            print(f"   {when} {event.type:<6} {event.name} {dict(event.properties)}")
    elif cmd == "data" and len(args) == 1:
        print(json.dumps(client.get_data_set_snapshot(args[0]), indent=2))
    elif cmd == "flush":
        print("-> flushed" if client.flush(10) else "-> not delivered yet (kept on disk)")
    else:
        print(f"?? {line.strip()} (see the commands at the top of this file)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description="Tidings SDK terminal demo")
    parser.add_argument("--credentials", type=Path, help="JSON printed by `tidings apps create`")
    parser.add_argument("--app-id")
    parser.add_argument("--public-key")
    parser.add_argument("--secret-key")
    parser.add_argument(
        "--backend",
        default=os.environ.get("TIDINGS_SERVER") or DEFAULT_BACKEND,
        help=f"the Tidings server (default: $TIDINGS_SERVER or {DEFAULT_BACKEND})",
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    keys: dict[str, str] = {}
    if args.credentials:
        keys = json.loads(args.credentials.read_text())
    client = Tidings(
        app_id=args.app_id or keys.get("appId"),
        api_key_public=args.public_key or keys.get("apiKeyPublic"),
        api_key_secret=args.secret_key or keys.get("apiKeySecret"),
        backend_url=args.backend,
        data_dir=args.data_dir,
        device={"app_version": "1.0.0"},
    )
    with client:
        client.set_system_events_listener(on_system_event)
        client.register_deep_link_listener(on_deep_link)
        client.register_gate("demo://gate/", paywall, on_abort="cancel", timeout=10.0)
        # Campaigns arrive with the first config fetch; give it a moment before taking commands.
        CONFIG_READY.wait(5.0)
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                print("tidings> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                break
            try:
                if not run_command(client, line):
                    break
            except ValueError as exc:
                print(f"!! {exc}", flush=True)
        delivered = client.flush(10)
        print("-> all events delivered" if delivered else "-> some events wait for next time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
