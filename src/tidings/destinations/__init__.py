"""Destinations: turn stored events into requests for third parties, and deliver them.

Request building is pure (a request is method, URL, headers and a JSON or form body); sending is a
separate step so an outbox can drive it, retry it and record why something was dead-lettered.
"""

from tidings.destinations.message import MessageContext, to_segment_message
from tidings.destinations.request import Request

__all__ = ["MessageContext", "Request", "to_segment_message"]
