"""Prometheus metrics in the text exposition format, kept in plain dicts.

A process-local registry (no global state) so that several apps in one process - tests, mostly -
never share counters. Counting is a dict increment on the hot path; formatting happens only when
``/metrics`` is scraped.
"""

from __future__ import annotations

from collections import defaultdict

from tidings.storage.logstatus import LogStatus

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}"


class Metrics:
    """Counters and a request-latency histogram for one app."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.latency_counts: defaultdict[str, list[int]] = defaultdict(
            lambda: [0] * (len(LATENCY_BUCKETS) + 1)
        )
        self.latency_sum: defaultdict[str, float] = defaultdict(float)
        self.items: defaultdict[tuple[str, str, str], int] = defaultdict(int)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        counts = self.latency_counts[route]
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        self.latency_sum[route] += seconds

    def count(self, source: str, kind: str, outcome: str, n: int = 1) -> None:
        """Items (events, decisions, messages, dropped) by source and outcome."""
        if n:
            self.items[(source, kind, outcome)] += n

    def render(self) -> str:
        lines = [
            "# HELP tidings_http_requests_total HTTP requests by method, route and status.",
            "# TYPE tidings_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            labels = _labels((("method", method), ("route", route), ("status", status)))
            lines.append(f"tidings_http_requests_total{labels} {n}")
        lines += [
            "# HELP tidings_http_request_duration_seconds Time to answer a request, by route.",
            "# TYPE tidings_http_request_duration_seconds histogram",
        ]
        for route, counts in sorted(self.latency_counts.items()):
            cumulative = 0
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                labels = _labels((("route", route), ("le", le)))
                lines.append(f"tidings_http_request_duration_seconds_bucket{labels} {cumulative}")
            labels = _labels((("route", route),))
            lines.append(
                f"tidings_http_request_duration_seconds_sum{labels} {self.latency_sum[route]}"
            )
            lines.append(f"tidings_http_request_duration_seconds_count{labels} {cumulative}")
        lines += [
            "# HELP tidings_ingested_items_total Items received, by source, kind and outcome.",
            "# TYPE tidings_ingested_items_total counter",
        ]
        for (source, kind, outcome), n in sorted(self.items.items()):
            labels = _labels((("source", source), ("kind", kind), ("outcome", outcome)))
            lines.append(f"tidings_ingested_items_total{labels} {n}")
        return "\n".join(lines) + "\n"


def render_lag(status: LogStatus) -> str:
    """``tidings_consumer_lag{consumer,partition}``: records waiting per consumer cursor."""
    lines = [
        "# HELP tidings_consumer_lag Event-log records waiting for a consumer, per partition.",
        "# TYPE tidings_consumer_lag gauge",
    ]
    for c in status.cursors:
        part = "" if c.partition is None else str(c.partition)
        labels = _labels((("consumer", c.consumer), ("partition", part)))
        lines.append(f"tidings_consumer_lag{labels} {c.lag}")
    return "\n".join(lines) + "\n"
