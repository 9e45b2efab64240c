"""Replay real matches into a running service, as a scorekeeper would.

- `plan`: the pure mapping from a data file (schema: shared/data/README.md) to requests
- `client`: posting them (paced, retried, idempotent) and checking the reported results
- `cli`: the `scoreboard replay` sub-command
"""
from .cli import add_replay_parser, run_replay
from .client import ReplayResult, ServiceError, finished_line, replay_file, replay_match, replay_plans, started_line
from .plan import (
    MatchPlan, ReplayDataError, Step, display_minute, event_client_id, event_order_key, format_score,
    load_plans, match_slug, order_events, plan_match, schedule, slugify, timeline, to_service_event,
)

__all__ = [
    "MatchPlan", "ReplayDataError", "ReplayResult", "ServiceError", "Step", "add_replay_parser",
    "display_minute", "event_client_id", "event_order_key", "finished_line", "format_score",
    "load_plans", "match_slug", "order_events", "plan_match", "replay_file", "replay_match",
    "replay_plans", "run_replay", "schedule", "slugify", "started_line", "timeline",
    "to_service_event",
]
