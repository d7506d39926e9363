"""The public surface, pinned: a change to an exported name must be a deliberate edit here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "tidings": [
        "DeviceProfile",
        "EventRecord",
        "GateDecision",
        "InvalidCampaign",
        "InvalidConfig",
        "InvalidEvent",
        "InvalidInput",
        "InvalidScenario",
        "Resolution",
        "Tidings",
        "TidingsError",
        "__version__",
    ],
    "tidings.core": [
        "Campaign",
        "CampaignEngine",
        "Decision",
        "Device",
        "DeviceProfile",
        "DeviceState",
        "EngineState",
        "EvaluationContext",
        "EventRecord",
        "IdFactory",
        "InvalidCampaign",
        "InvalidConfig",
        "InvalidEvent",
        "InvalidInput",
        "InvalidScenario",
        "ProjectSettings",
        "Scenario",
        "SessionMachine",
        "SessionState",
        "Simulation",
        "TidingsError",
        "parse_campaign",
        "parse_project_settings",
        "parse_scenario",
        "simulate",
    ],
    "tidings.core.campaigns": [
        "CAMPAIGN_CAP",
        "Campaign",
        "CampaignEngine",
        "DAILY_CAP",
        "Decision",
        "EXPIRED",
        "EngineState",
        "EvaluationContext",
        "EventFilter",
        "HOLDOUT",
        "LOWER_PRIORITY",
        "Limit",
        "ProjectSettings",
        "QUIET_TIME",
        "Repeat",
        "SESSION_CAP",
        "SUCCESS",
        "Status",
        "Treatment",
        "holdout_bucket",
        "local_day",
        "murmur3_32",
        "parse_campaign",
        "parse_campaigns",
        "parse_data_set_params",
        "parse_event_filter",
        "parse_project_settings",
        "pick_treatment",
        "zone",
    ],
    "tidings.core.mapping": [
        "AllOf",
        "AnyOf",
        "Compare",
        "CompiledFields",
        "Exists",
        "Field",
        "FieldType",
        "Trigger",
        "UNDEFINED",
        "coerce",
        "compile_mapping",
        "format_path",
        "get_path",
        "json_equal",
        "parse_path",
        "parse_trigger",
        "render_value",
        "resolve",
    ],
    "tidings.sdk": [
        "GateDecision",
        "Resolution",
        "Tidings",
    ],
    "tidings.storage": [
        "ApiKeyInfo",
        "AppCredentials",
        "Application",
        "CAMPAIGN_STATES",
        "Campaign",
        "CampaignState",
        "CampaignStats",
        "Cohort",
        "CohortChange",
        "DEFAULT_DB_URL",
        "DatabaseUrl",
        "DayStats",
        "DecisionIn",
        "Document",
        "EventCatalogEntry",
        "EventIn",
        "IngestOutcome",
        "IngestResult",
        "KeyPair",
        "LogKind",
        "LogRecord",
        "NotFoundError",
        "Project",
        "ProjectSettings",
        "PropertyCatalogEntry",
        "RenderResponse",
        "SigningKey",
        "Store",
        "StoreError",
        "StoreOptions",
        "StoredResponse",
        "open_store",
        "parse_db_url",
    ],
    "tidings.server": [
        "ServerSettings",
        "create_app",
        "create_app_for_url",
        "sign",
    ],
    "tidings.streams": [
        "Backoff",
        "ConsumerStats",
        "CursorLog",
        "FilePosition",
        "JsonlSink",
        "ListSource",
        "NatsSink",
        "PositionStore",
        "RecordSource",
        "SessionSpan",
        "Sink",
        "SinkRunner",
        "SinkUnavailableError",
        "StreamConsumer",
        "StreamContext",
        "StreamError",
        "WebhookSink",
        "app_event_records",
        "decision_record",
        "event_from_json",
        "records_from_payload",
        "records_from_row",
        "split_properties",
    ],
    "tidings.destinations": [
        "MessageContext",
        "Request",
        "to_segment_message",
    ],
    "tidings.destinations.amplitude": [
        "ACTIONS",
        "AmplitudeSender",
        "BatchPolicy",
        "Currents",
        "Destination",
        "HOSTS",
        "Outcome",
        "PRESETS",
        "Pending",
        "Settings",
        "Subscription",
        "Work",
        "currents_from_json",
        "default_subscriptions",
        "get_action",
        "parse_user_agent",
        "preview",
        "to_pending",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_exactly_the_pinned_ones(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == PUBLIC[module]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert missing == []


def test_sdk_import_does_not_load_server_side_packages() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tidings; "
        "bad = [m for m in ('tidings.server', 'tidings.storage', 'tidings.pipeline', "
        "'starlette', 'psycopg') if m in sys.modules]; print(bad)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr
