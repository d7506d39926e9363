"""Deep-link schemes: blocked ones are refused wherever a campaign carries a URL, by path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from campaign_builders import campaign_json
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import tidings.cli.campaigns  # noqa: F401  (registers the sub-command)
from tidings.cli.app import app
from tidings.core.campaigns import parse_campaign
from tidings.core.campaigns.links import BLOCKED_SCHEMES, link_scheme
from tidings.core.errors import InvalidCampaign

HOSTILE = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " \tjava\nscript:alert(1)",
    "\x00\x1fjavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "vb\rscript:msgbox(1)",
]


def _with_url(url: str, **extra: object) -> dict[str, object]:
    return campaign_json(content={"url": url}, **extra)


@pytest.mark.parametrize("url", HOSTILE)
def test_blocked_schemes_are_refused_in_content(url: str) -> None:
    with pytest.raises(InvalidCampaign) as caught:
        parse_campaign(_with_url(url))
    assert caught.value.field == "content.url"
    assert "not allowed" in caught.value.reason


def test_blocked_schemes_are_refused_in_treatments() -> None:
    doc = _with_url(
        "myapp://promo",
        treatments=[
            {"id": "a", "sizePercent": 50, "content": {"url": "myapp://a"}},
            {"id": "b", "sizePercent": 50, "content": {"url": "javascript:alert(1)"}},
        ],
    )
    with pytest.raises(InvalidCampaign) as caught:
        parse_campaign(doc)
    assert caught.value.field == "treatments[1].content.url"


@pytest.mark.parametrize(
    "url", ["myapp://promo", "https://example.com/x", "tel:+4812345", "/relative/path", "promo"]
)
def test_other_links_pass_by_default(url: str) -> None:
    assert parse_campaign(_with_url(url)).content == {"url": url}


def test_an_allowed_list_narrows_the_schemes() -> None:
    allowed = ("myapp", "https")
    assert parse_campaign(_with_url("MyApp://promo"), allowed_schemes=allowed)
    for url, reason in (
        ("http://example.com", "the http: scheme is not allowed here"),
        ("promo/page", "must start with an allowed scheme"),
        ("javascript:alert(1)", "the javascript: scheme is not allowed in a deep link"),
    ):
        with pytest.raises(InvalidCampaign) as caught:
            parse_campaign(_with_url(url), allowed_schemes=allowed)
        assert (caught.value.field, caught.value.reason[: len(reason)]) == ("content.url", reason)


@given(
    scheme=st.sampled_from(sorted(BLOCKED_SCHEMES)),
    flips=st.lists(st.booleans(), min_size=10, max_size=10),
    lead=st.text(alphabet=[chr(c) for c in range(0x21)], max_size=4),
    cut=st.integers(min_value=0, max_value=10),
    junk=st.sampled_from(["\t", "\n", "\r"]),
)
def test_a_blocked_scheme_is_seen_through_case_controls_and_line_breaks(
    scheme: str, flips: list[bool], lead: str, cut: int, junk: str
) -> None:
    """What a browser would run is what is refused: case, leading controls and spaces, and
    tabs or line breaks inside the scheme do not hide it."""
    cased = "".join(c.upper() if up else c for c, up in zip(scheme, flips, strict=False))
    at = min(cut, len(cased))
    url = lead + cased[:at] + junk + cased[at:] + ":payload"
    assert link_scheme(url) == scheme
    with pytest.raises(InvalidCampaign):
        parse_campaign(_with_url(url))


def test_campaigns_validate_names_the_link_path(tmp_path: Path) -> None:
    path = tmp_path / "welcome.json"
    path.write_text(json.dumps([campaign_json("ok"), _with_url("javascript:alert(1)", id="bad")]))
    result = CliRunner().invoke(app, ["campaigns", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: [1].content.url: the javascript: scheme is not allowed" in result.output
