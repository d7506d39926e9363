"""JSON paths (``targeting[2].eventCount.event.params[0]``) as form field names.

Every editor input is named by the JSON path of the campaign value it edits, the same path the
core names in its validation errors. An error from :func:`tidings.core.campaigns.parse_campaign`
therefore lands next to the input that caused it with no lookup table in between.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_LIST_ITEM = re.compile(r"^(.*\.(?:repeatValue|values))\[\d+\]$")

Token = str | int


def split(path: str) -> list[Token]:
    """``"a.b[2].c"`` → ``["a", "b", 2, "c"]``."""
    return [int(index) if index else key for key, index in _TOKEN.findall(path)]


def join(tokens: list[Token]) -> str:
    out = ""
    for token in tokens:
        if isinstance(token, int):
            out += f"[{token}]"
        else:
            out += f".{token}" if out else token
    return out


def dom_id(path: str) -> str:
    """An HTML id for the input that edits ``path``."""
    return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


def get(doc: Any, path: str, default: Any = None) -> Any:
    node = doc
    for token in split(path):
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                return default
        elif not isinstance(node, dict) or token not in node:
            return default
        node = node[token]
    return node


def remove(doc: Any, path: str) -> None:
    """Delete the value at ``path`` (a list item or an object key); a missing path is a no-op."""
    tokens = split(path)
    if not tokens:
        return
    parent = get(doc, join(tokens[:-1])) if len(tokens) > 1 else doc
    last = tokens[-1]
    if isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        del parent[last]
    elif isinstance(last, str) and isinstance(parent, dict):
        parent.pop(last, None)


def append(doc: Any, path: str, item: Any) -> bool:
    """Append ``item`` to the list at ``path``, creating the list (and objects) on the way."""
    node = doc
    tokens = split(path)
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                return False
            node = node[token]
            continue
        if not isinstance(node, dict):
            return False
        if token not in node or node[token] is None:
            node[token] = [] if last else {}
        node = node[token]
    if not isinstance(node, list):
        return False
    node.append(item)
    return True


def anchor(path: str) -> str:
    """The field that shows an error reported at ``path``.

    A list typed into one input (repeat values, country codes) is reported per item by the core
    (``values[1]``) but edited as one text field, so the item index is dropped; a server
    campaign's body is edited as one JSON text, so a problem inside it shows under that text.
    """
    if path.startswith(("content.body.", "content.body[")):
        return "content.body"
    match = _LIST_ITEM.match(path)
    return match.group(1) if match else path
