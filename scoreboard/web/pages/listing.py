"""Fixture lists as score sites lay them out: "Live now", "Upcoming" by day and "Results",
each grouped (by competition on the home page, by stage on a competition's page).

This is the server's first paint, with days in UTC; static/fixture-list.js places each card by
the same rules in the viewer's own time zone, and moves it when its status changes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Match = Mapping[str, Any]

SECTIONS = (("live", "Live now"), ("upcoming", "Upcoming"), ("results", "Results"))
SECTION_OF = {
    "live": "live", "half_time": "live", "scheduled": "upcoming", "postponed": "upcoming",
    "finished": "results", "abandoned": "results",
}


@dataclass
class Group:
    """The matches of one competition (or stage) within a section or day."""

    key: str
    title: str
    href: str | None
    matches: list[Match] = field(default_factory=list)


@dataclass
class Day:
    """Upcoming matches of one day (`key` YYYY-MM-DD in UTC, "" when the date is unknown);
    live and results sections have a single day with no heading (`key` None)."""

    key: str | None
    starts_at: str | None
    groups: list[Group] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    days: list[Day] = field(default_factory=list)

    @property
    def matches(self) -> list[Match]:
        return [match for day in self.days for group in day.groups for match in group.matches]

    @property
    def empty(self) -> bool:
        return not self.matches


def kickoff(match: Match) -> str:
    """What orders matches in time: the kickoff, else when the match was created."""
    return str(match.get("starts_at") or match.get("created_at") or "")


def by_competition(match: Match) -> tuple[str, str, str | None]:
    """A home page group: the competition, linked to its page; "Other matches" without one."""
    slug = match.get("competition_slug")
    if not slug:
        return "", "Other matches", None
    return str(slug), str(match.get("competition") or slug), f"/competitions/{slug}"


def by_stage(match: Match) -> tuple[str, str, str | None]:
    """A competition page group: the stage ("Group C", "Final")."""
    stage = match.get("stage")
    return (str(stage), str(stage), None) if stage else ("", "Matches", None)


Grouper = Callable[[Match], tuple[str, str, str | None]]


def sections(
    matches: Iterable[Match], group_by: Grouper = by_competition, results: int | None = None,
) -> list[Section]:
    """Live (earliest kickoff first), upcoming by UTC day, results (latest first; the latest
    `results` of them when given)."""
    found: dict[str, list[Match]] = {key: [] for key, _ in SECTIONS}
    for match in matches:
        found[SECTION_OF.get(str(match["status"]), "results")].append(match)
    result = []
    for key, title in SECTIONS:
        items = sorted(found[key], key=lambda m: (kickoff(m), m["id"]), reverse=key == "results")
        if key == "results" and results is not None:
            items = items[:results]
        if key == "upcoming":
            days = _days(items, group_by)
        else:
            days = [Day(None, None, _groups(items, group_by))]
        result.append(Section(key, title, days))
    return result


def _days(matches: list[Match], group_by: Grouper) -> list[Day]:
    dated: dict[str, list[Match]] = {}
    for match in matches:
        starts_at = match.get("starts_at")
        dated.setdefault(str(starts_at)[:10] if starts_at else "", []).append(match)
    keys = sorted(key for key in dated if key) + ([""] if "" in dated else [])
    return [Day(key, dated[key][0].get("starts_at"), _groups(dated[key], group_by)) for key in keys]


def _groups(matches: list[Match], group_by: Grouper) -> list[Group]:
    groups: dict[str, Group] = {}
    for match in matches:  # already in display order: a group sits where its first match does
        key, title, href = group_by(match)
        groups.setdefault(key, Group(key, title, href)).matches.append(match)
    return list(groups.values())
