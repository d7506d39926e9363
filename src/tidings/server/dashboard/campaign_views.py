"""Campaign pages: the list by state, the Who / When / What editor with its dry run, start /
stop / delete following the admin API's state machine, and per-campaign stats."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.core.campaigns import validate_campaign
from tidings.core.errors import InvalidCampaign
from tidings.core.events import NEVER_SHOWN_TRIGGERS, NON_TRIGGERING_EVENTS, SYSTEM_EVENT_NAMES
from tidings.pipeline.delivery import list_instances
from tidings.server.admin import DELETABLE_STATES, TRANSITIONS, add_campaign
from tidings.server.campaign_checks import unknown_cohorts
from tidings.server.dashboard import (
    bodypreview,
    campaign_listing,
    conflicts,
    dryrun,
    paths,
    wording,
)
from tidings.server.dashboard.charts import stacked_bars
from tidings.server.dashboard.forms import (
    apply_action,
    body_text,
    campaign_from_form,
    new_campaign,
)
from tidings.server.dashboard.pager import pager
from tidings.server.dashboard.pages import (
    AppContext,
    access_of,
    app_context,
    campaign_or_404,
    signed_in,
    store,
)
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import Form, checked_form, safe_next
from tidings.server.dashboard.snippets import sdk_js_snippet
from tidings.server.errors import ApiError
from tidings.storage import (
    CampaignStats,
    Store,
    StoredCampaign,
    VersionConflict,
)

ARCHIVABLE_STATES = DELETABLE_STATES
"""A campaign that devices may be showing (Active) is stopped before it is archived."""


def _first(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


# --------------------------------------------------------------------------- the list


async def _list_page(
    request: Request, token: str, ctx: AppContext, error: str | None = None, status: int = 200
) -> Response:
    s = store(request)
    query = campaign_listing.ListQuery.parse(request.query_params)
    found = await campaign_listing.read_list(s, ctx.app.id, query)
    return render(
        request,
        "campaigns.html",
        {
            **ctx.as_context(),
            "tabs": campaign_listing.TABS,
            "tab": query.tab,
            "query": query,
            "counts": found.counts,
            "campaigns": found.campaigns,
            "truncated": found.truncated,
            "pager": pager(
                request,
                None if found.next_offset is None else str(found.next_offset),
                "offset",
            ),
            "transitions": TRANSITIONS,
            "deletable": DELETABLE_STATES,
            "archivable": ARCHIVABLE_STATES,
            "error": error,
            "notice": request.query_params.get("notice"),
            "sdk_js": await sdk_js_snippet(request, s, ctx.app),
        },
        token=token,
        status=status,
    )


@signed_in
async def campaign_list(request: Request, token: str) -> Response:
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    return await _list_page(request, token, ctx)


@signed_in
async def change_state(request: Request, token: str) -> Response:
    form = await checked_form(request, token)
    s = store(request)
    campaign = await campaign_or_404(access_of(request), request.path_params["campaign_id"])
    wanted = _first(form, "state")
    back = safe_next(_first(form, "next") or f"/apps/{campaign.app_id}/campaigns")
    ctx = await app_context(access_of(request), campaign.app_id)
    name = campaign.body.get("name") or campaign.id
    if wanted == campaign.state:
        return RedirectResponse(back, status_code=303)
    if wanted not in TRANSITIONS[campaign.state]:
        message = f"“{name}” is {campaign.state} and cannot become {wanted}."
        return await _list_page(request, token, ctx, message, 409)
    if wanted == "Active" and campaign_listing.is_archived(campaign.body):
        message = f"“{name}” is archived: restore it before starting it."
        return await _list_page(request, token, ctx, message, 409)
    if wanted == "Active" and (
        problems := validate_campaign(
            campaign.body, allowed_schemes=ctx.project.settings.deep_link_schemes
        )
    ):
        listed = "; ".join(str(p) for p in problems)
        message = f"“{name}” cannot start: {listed}. Fix it in the editor."
        return await _list_page(request, token, ctx, message, 400)
    await s.set_campaign_state(campaign.id, wanted)  # type: ignore[arg-type]
    notice = {"notice": "started" if wanted == "Active" else "stopped", "name": str(name)}
    return RedirectResponse(_with_query(back, notice), status_code=303)


def _with_query(url: str, extra: dict[str, str]) -> str:
    """``url`` with ``extra`` query parameters (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


@signed_in
async def delete(request: Request, token: str) -> Response:
    await checked_form(request, token)
    s = store(request)
    campaign = await campaign_or_404(access_of(request), request.path_params["campaign_id"])
    ctx = await app_context(access_of(request), campaign.app_id)
    if campaign.state not in DELETABLE_STATES:
        message = "An Active campaign must be stopped before it can be deleted."
        return await _list_page(request, token, ctx, message, 409)
    await s.delete_campaign(campaign.id)
    return RedirectResponse(f"/apps/{campaign.app_id}/campaigns?notice=deleted", status_code=303)


@signed_in
async def duplicate(request: Request, token: str) -> Response:
    """A Draft copy named "<name> (copy)", created as the admin API creates campaigns."""
    await checked_form(request, token)
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    try:
        copy = await add_campaign(
            access, campaign.app_id, campaign_listing.duplicate_body(campaign.body)
        )
    except ApiError as exc:
        ctx = await app_context(access, campaign.app_id)
        message = f"“{campaign.body.get('name') or campaign.id}” cannot be copied: {exc.message}"
        return await _list_page(request, token, ctx, message, exc.status)
    return RedirectResponse(f"/campaigns/{copy.id}?saved=1", status_code=303)


@signed_in
async def archive(request: Request, token: str) -> Response:
    """Archive (``archived=1``) or restore a Draft or Stopped campaign."""
    form = await checked_form(request, token)
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    wanted = _first(form, "archived") == "1"
    back = f"/apps/{campaign.app_id}/campaigns"
    if wanted and campaign.state not in ARCHIVABLE_STATES:
        ctx = await app_context(access, campaign.app_id)
        message = "An Active campaign must be stopped before it can be archived."
        return await _list_page(request, token, ctx, message, 409)
    if wanted != campaign_listing.is_archived(campaign.body):
        body = {k: v for k, v in campaign.body.items() if k != "archived"}
        if wanted:
            body["archived"] = True
        await store(request).replace_campaign(campaign.id, body)
    notice = "archived" if wanted else "restored"
    return RedirectResponse(f"{back}?notice={notice}", status_code=303)


# --------------------------------------------------------------------------- the editor


PICKER_CHOICES = 2000
"""Catalog entries (and cohorts) the editor offers at most; a trigger can always be typed."""


async def _pickers(s: Store, ctx: AppContext) -> dict[str, Any]:
    catalog = await s.event_catalog(ctx.app.id, limit=PICKER_CHOICES)
    custom = [e for e in catalog if e.type == "custom"]
    system = sorted(SYSTEM_EVENT_NAMES)
    return {
        "custom_events": custom,
        "system_events": system,
        "trigger_system_events": [
            n for n in system if n not in NON_TRIGGERING_EVENTS and n not in NEVER_SHOWN_TRIGGERS
        ],
        "properties": await s.property_catalog(ctx.app.id, limit=PICKER_CHOICES),
        "cohorts": await s.list_cohorts(ctx.project.id, limit=PICKER_CHOICES),
        "project_apps": ctx.apps,
        "destinations": [
            (i.id, f"{i.name} ({i.kind})")
            for i in await list_instances(s, ctx.app.id)
            if getattr(i.destination_kind, "rendered", None) is not None
        ],
    }


async def _editor(
    request: Request,
    token: str,
    ctx: AppContext,
    draft: dict[str, Any],
    campaign: StoredCampaign | None,
    *,
    errors: dict[str, str] | None = None,
    summary: list[wording.Problem] | None = None,
    dry: dryrun.DryRun | None = None,
    body_preview: bodypreview.BodyPreview | None = None,
    focus: str | None = None,
    conflict: tuple[list[conflicts.Change], int] | None = None,
    opened: StoredCampaign | None = None,
    status: int = 200,
) -> Response:
    """The editor page. ``opened`` is the stored campaign the form now builds on (its version and
    body go into hidden fields); it is ``campaign`` unless a conflicting save replaced it."""
    opened = opened or campaign
    content = draft.get("content")
    return render(
        request,
        "editor.html",
        {
            **ctx.as_context(),
            **(await _pickers(store(request), ctx)),
            "c": draft,
            "campaign": campaign,
            "errors": errors or {},
            "summary": summary
            if summary is not None
            else [wording.Problem(k, wording.label(k), v) for k, v in (errors or {}).items()],
            "focus": focus,
            "conflict": conflict,
            "version": opened.version if opened else "",
            "opened_json": conflicts.opened_json(dict(opened.body)) if opened else "",
            "dry": dry or dryrun.DryRun(script=dryrun.default_script(draft)),
            "default_script": dryrun.default_script(draft),
            "body_text": body_text(content.get("body") if isinstance(content, dict) else None),
            "preview": body_preview
            or bodypreview.BodyPreview(sample=bodypreview.default_sample(draft)),
            "transitions": TRANSITIONS,
            "saved": request.query_params.get("saved") == "1",
            "action_url": f"/campaigns/{campaign.id}"
            if campaign
            else f"/apps/{ctx.app.id}/campaigns/new",
        },
        token=token,
        status=status,
    )


@signed_in
async def new_page(request: Request, token: str) -> Response:
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    return await _editor(request, token, ctx, new_campaign(), None)


@signed_in
async def edit_page(request: Request, token: str) -> Response:
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    ctx = await app_context(access, campaign.app_id)
    return await _editor(request, token, ctx, dict(campaign.body), campaign)


@signed_in
async def create(request: Request, token: str) -> Response:
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    return await _submit(request, token, ctx, None)


@signed_in
async def update(request: Request, token: str) -> Response:
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    ctx = await app_context(access, campaign.app_id)
    return await _submit(request, token, ctx, campaign)


async def _submit(
    request: Request, token: str, ctx: AppContext, campaign: StoredCampaign | None
) -> Response:
    """Save, run the dry run, or change the form's shape (add / remove a row)."""
    form = await checked_form(request, token)
    action = _first(form, "action") or "save"
    draft = campaign_from_form(form, dict(campaign.body) if campaign else None)
    campaign_id = campaign.id if campaign else "draft"
    script = _first(form, "dryrun.script").replace("\r\n", "\n").strip()
    default = _first(form, "dryrun.default").replace("\r\n", "\n").strip()
    edited = bool(script) and script != default
    if not edited:
        script = dryrun.default_script(draft)  # not edited: follow the draft's trigger
    kept = dryrun.DryRun(script=script) if edited else None
    if action == "dryrun":
        dry: dryrun.DryRun | None = dryrun.run(draft, campaign_id, script, ctx.project.settings)
        errors: dict[str, str] = {}
        if dry and dry.error_field is not None and not dry.ran and _is_campaign_path(dry):
            errors[paths.anchor(dry.error_field)] = str(dry.error)
            dry = kept
        status = 400 if errors else 200
        return await _editor(
            request, token, ctx, draft, campaign, errors=errors, dry=dry, status=status
        )
    if action == "preview":
        sample = _first(form, "preview.sample").replace("\r\n", "\n").strip()
        shown = bodypreview.preview(draft, sample)
        return await _editor(request, token, ctx, draft, campaign, dry=kept, body_preview=shown)
    if action == "add-rule":
        action = f"add-rule:{_first(form, 'rule-kind')}"
    if action != "save":
        before = len(draft.get("targeting") or [])
        apply_action(draft, action)
        focus = None
        if action.startswith("add-rule:") and len(draft.get("targeting") or []) > before:
            focus = paths.dom_id(f"targeting[{before}]")  # the new rule, not the top of the page
        return await _editor(request, token, ctx, draft, campaign, dry=kept, focus=focus)
    problems = validate_campaign(draft, allowed_schemes=ctx.project.settings.deep_link_schemes)
    problems += await unknown_cohorts(store(request), ctx.project.id, draft)
    if problems:
        return await _editor(
            request,
            token,
            ctx,
            draft,
            campaign,
            errors=error_map(problems),
            summary=wording.problems(problems),
            dry=kept,
            status=400,
        )
    s = store(request)
    if campaign is None:
        saved = await s.create_campaign(ctx.app.id, draft, "Draft")
        return RedirectResponse(f"/campaigns/{saved.id}?saved=1", status_code=303)
    version = _first(form, "version") or None
    try:
        if version is not None and version != campaign.version:
            raise VersionConflict(campaign)
        saved = await s.replace_campaign(campaign.id, draft, if_version=version)
    except VersionConflict as exc:
        return await _conflict_page(
            request, token, ctx, draft, current=exc.current, form=form, kept=kept
        )
    return RedirectResponse(f"/campaigns/{saved.id}?saved=1", status_code=303)


async def _conflict_page(
    request: Request,
    token: str,
    ctx: AppContext,
    draft: dict[str, Any],
    *,
    current: StoredCampaign,
    form: Form,
    kept: dryrun.DryRun | None,
) -> Response:
    """The campaign changed since the editor was opened: nothing is saved; the form keeps this
    person's edits, now on top of the current version (a second save replaces it knowingly),
    and lists what the other edit changed."""
    opened = conflicts.read_opened(_first(form, "opened"))
    found = conflicts.changes(opened, dict(current.body)) if opened is not None else ([], 0)
    return await _editor(
        request,
        token,
        ctx,
        draft,
        current,
        dry=kept,
        conflict=found,
        opened=current,
        status=409,
    )


def error_map(problems: list[InvalidCampaign]) -> dict[str, str]:
    """Every problem by the editor field that shows it (two on one field share its message)."""
    out: dict[str, str] = {}
    for problem in wording.problems(problems):
        where, message = problem.anchor, problem.message
        out[where] = f"{out[where]}; {message}" if where in out else message
    return out


def _is_campaign_path(dry: dryrun.DryRun) -> bool:
    """Errors of the draft itself go next to its fields; script errors stay in the panel."""
    field = dry.error_field or ""
    return field not in ("script", "steps") and not field.startswith(
        ("steps", "device", "cohorts", "sessionTimeoutSeconds", "project")
    )


# --------------------------------------------------------------------------- stats


def _charts(stats: CampaignStats) -> dict[str, Any]:
    days = [d.day for d in stats.by_day]
    statuses = sorted({k for d in stats.by_day for k in d.decisions})
    results = sorted({k for d in stats.by_day for k in d.resolved})
    decisions = {k: [d.decisions.get(k, 0) for d in stats.by_day] for k in statuses}
    resolved = {k: [d.resolved.get(k, 0) for d in stats.by_day] for k in results}
    return {
        "days": days,
        "decisions_chart": stacked_bars("Decisions per day, by status", days, decisions),
        "shown_chart": stacked_bars(
            "Shows per day", days, {"shown": [d.shown for d in stats.by_day]}
        ),
        "gate_chart": stacked_bars("Gate results per day", days, resolved),
        "statuses": statuses,
        "results": results,
    }


@signed_in
async def stats_page(request: Request, token: str) -> Response:
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    ctx = await app_context(access, campaign.app_id)
    stats = await access.store.campaign_stats(campaign.id)
    return render(
        request,
        "stats.html",
        {**ctx.as_context(), "campaign": campaign, "stats": stats, **_charts(stats)},
        token=token,
    )
