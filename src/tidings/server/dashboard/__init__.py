"""The web dashboard served at ``/``: campaigns (Who / When / What), catalogs, live stream, stats,
destinations and cohorts.

Server-rendered pages (Jinja2) over the same store the admin API uses, behind a sign-in with an
admin token. Forms work without JavaScript; the small script in ``static/`` only narrows
operator lists, polls the live stream and a new app's first events, and copies snippets. See
docs/dashboard.md.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tidings.server.dashboard import (
    audience_views,
    auth_views,
    campaign_views,
    cohort_views,
    data_views,
    delivery_views,
    results_views,
    setup_views,
    stream_views,
    token_views,
)


def routes() -> list[BaseRoute]:
    """The dashboard's routes, registered after the API's by the app factory."""
    return [
        Route("/", setup_views.home, methods=["GET"]),
        Route("/signin", auth_views.sign_in_page, methods=["GET"]),
        Route("/signin", auth_views.sign_in, methods=["POST"]),
        Route("/signout", auth_views.sign_out, methods=["POST"]),
        Route("/projects/{project_id}", setup_views.project_page, methods=["GET"]),
        Route("/tokens", token_views.tokens_page, methods=["GET"]),
        Route("/tokens", token_views.create, methods=["POST"]),
        Route("/tokens/{token_id}/revoke", token_views.revoke, methods=["POST"]),
        Route("/projects", setup_views.create_project, methods=["POST"]),
        Route("/projects/{project_id}/apps", setup_views.create_app, methods=["POST"]),
        Route("/apps/{app_id}/campaigns", campaign_views.campaign_list, methods=["GET"]),
        Route("/apps/{app_id}/campaigns/new", campaign_views.new_page, methods=["GET"]),
        Route("/apps/{app_id}/campaigns/new", campaign_views.create, methods=["POST"]),
        Route("/apps/{app_id}/audience", audience_views.estimate_page, methods=["POST"]),
        Route("/campaigns/{campaign_id}", campaign_views.edit_page, methods=["GET"]),
        Route("/campaigns/{campaign_id}", campaign_views.update, methods=["POST"]),
        Route("/campaigns/{campaign_id}/state", campaign_views.change_state, methods=["POST"]),
        Route("/campaigns/{campaign_id}/delete", campaign_views.delete, methods=["POST"]),
        Route("/campaigns/{campaign_id}/duplicate", campaign_views.duplicate, methods=["POST"]),
        Route("/campaigns/{campaign_id}/archive", campaign_views.archive, methods=["POST"]),
        Route("/campaigns/{campaign_id}/stats", campaign_views.stats_page, methods=["GET"]),
        Route("/campaigns/{campaign_id}/results", results_views.results_page, methods=["GET"]),
        Route("/campaigns/{campaign_id}/results.csv", results_views.results_csv, methods=["GET"]),
        Route("/apps/{app_id}/events", data_views.catalog_page, methods=["GET"]),
        Route("/apps/{app_id}/stream", stream_views.stream_page, methods=["GET"]),
        Route("/apps/{app_id}/stream.json", stream_views.stream_poll, methods=["GET"]),
        Route("/apps/{app_id}/cohorts", cohort_views.cohorts_page, methods=["GET"]),
        Route("/apps/{app_id}/cohorts", cohort_views.key_action, methods=["POST"]),
        *delivery_views.routes(),
        Mount("/static", StaticFiles(packages=[("tidings.server", "static")]), name="static"),
    ]


__all__ = ["routes"]
