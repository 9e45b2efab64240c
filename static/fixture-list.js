// A fixture list kept in order as matches change: "Live now", "Upcoming" by day in the
// viewer's time zone, "Results", each in groups (competitions on the home page, stages on a
// competition's page). The rules of scoreboard/web/pages/listing.py, which paints the first
// view with UTC days: a card moves when its status (or kickoff) puts it somewhere else.
import { localizeTimes } from "./time.js";

const SECTION_OF = {
  live: "live", half_time: "live", scheduled: "upcoming", postponed: "upcoming",
  finished: "results", abandoned: "results",
};
const UNDATED = "";   // the "Date to be confirmed" day, after every dated one
const NO_DAY = "*";   // live and results have one day without a heading

/** The local calendar day of an instant, "2026-11-29"; "" when unknown. */
export function localDay(iso) {
  const date = new Date(iso || "");
  if (!iso || Number.isNaN(date.getTime())) return UNDATED;
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const GROUPERS = {
  competition: (m) => (m.competition_slug
    ? { key: m.competition_slug, title: m.competition || m.competition_slug, href: `/competitions/${m.competition_slug}` }
    : { key: "", title: "Other matches", href: null }),
  stage: (m) => (m.stage ? { key: m.stage, title: m.stage, href: null } : { key: "", title: "Matches", href: null }),
};

const kickoffOf = (li) => Date.parse(li.dataset.kickoff || "") || 0;

export class FixtureList {
  /** root: the list's `.fixtures` element (templates/_fixtures.html). */
  constructor(root) {
    this.root = root;
    this.groupOf = GROUPERS[root.dataset.groupBy] || GROUPERS.competition;
    this.empty = document.getElementById("empty");
  }

  /** Put a painted card where its match belongs now (a no-op when it is there already). */
  place(li, match) {
    const sectionKey = SECTION_OF[match.status] || "results";
    const section = this.root.querySelector(`[data-section="${sectionKey}"]`);
    const day = this._day(section, sectionKey === "upcoming" ? localDay(match.starts_at) : NO_DAY, match.starts_at);
    const list = this._group(day, this.groupOf(match)).querySelector(".match-list");
    const descending = sectionKey === "results";
    const before = (other) => {
      const a = kickoffOf(li);
      const b = kickoffOf(other);
      if (a !== b) return descending ? a > b : a < b;
      return li.dataset.match < other.dataset.match;
    };
    const cards = [...list.children].filter((other) => other !== li);
    const next = cards.find((other) => before(other)) || null;
    const old = li.parentElement;
    if (old === list && li.nextElementSibling === next) return;
    list.insertBefore(li, next);
    section.hidden = false;
    this._sortGroups(day, descending);
    if (old && old !== list) this._prune(old);
    if (this.empty) this.empty.hidden = true;
  }

  /** Take a card out (a match that became private to this viewer). */
  remove(li) {
    const old = li.parentElement;
    li.remove();
    if (old) this._prune(old);
  }

  _day(section, key, startsAt) {
    const days = [...section.querySelectorAll(":scope > .fixture-day")];
    let day = days.find((el) => el.dataset.day === key);
    if (day) return day;
    day = document.createElement("div");
    day.className = "fixture-day";
    day.dataset.day = key;
    if (key !== NO_DAY) {
      const heading = document.createElement("h3");
      heading.className = "day-title";
      if (key === UNDATED) {
        heading.textContent = "Date to be confirmed";
      } else {
        const time = document.createElement("time");
        time.dataset.format = "heading";
        time.setAttribute("datetime", startsAt);
        heading.append(time);
        localizeTimes(heading);
      }
      day.append(heading);
    }
    // Days in date order, the undated one last.
    const after = days.find((el) => key !== UNDATED && (el.dataset.day === UNDATED || el.dataset.day > key));
    section.insertBefore(day, after || null);
    return day;
  }

  _group(day, { key, title, href }) {
    let group = [...day.querySelectorAll(":scope > .fixture-group")].find((el) => el.dataset.group === key);
    if (group) return group;
    group = document.createElement("section");
    group.className = "fixture-group";
    group.dataset.group = key;
    const heading = document.createElement(day.dataset.day === NO_DAY ? "h3" : "h4");
    heading.className = "group-title";
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = title;
      heading.append(link);
    } else {
      heading.textContent = title;
    }
    const list = document.createElement("ul");
    list.className = "match-list";
    group.append(heading, list);
    day.append(group);
    return group;
  }

  /** A group sits where its first match does: order the day's groups by their first card. */
  _sortGroups(day, descending) {
    const groups = [...day.querySelectorAll(":scope > .fixture-group")];
    const first = (group) => kickoffOf(group.querySelector(".card")) * (descending ? -1 : 1);
    const sorted = [...groups].sort((a, b) => first(a) - first(b));
    if (sorted.every((group, i) => group === groups[i])) return;
    day.append(...sorted);
  }

  /** Remove the group, day and section a card left if nothing is left in them. */
  _prune(list) {
    if (list.children.length) return;
    const group = list.closest(".fixture-group");
    const day = group.parentElement;
    group.remove();
    if (!day.querySelector(".card")) {
      const section = day.closest(".fixture-section");
      if (day.dataset.day !== NO_DAY) day.remove();
      if (section && !section.querySelector(".card")) section.hidden = true;
    }
    if (this.empty) this.empty.hidden = Boolean(this.root.querySelector(".card"));
  }
}
