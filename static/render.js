// Text and DOM for matches and events. Mirrors templates/_event.html, _card.html and
// scoreboard/web/pages/labels.py and facts.py, so a live update looks exactly like the
// server's first paint. Every piece of text that came from a user (team, player,
// notification, reason) goes through textContent, never HTML.
import { fitNames } from "./fit.js";
import { localizeTimes } from "./time.js";
import { clockLabel, periodInfo } from "./match-clock.js";

const STATUS_LABELS = {
  scheduled: "Scheduled",
  live: "Live",
  half_time: "Half time",
  finished: "Full time",
  postponed: "Postponed",
  abandoned: "Abandoned",
};

// A fixture row's narrow "when" column; a scheduled match with a kickoff shows its time there,
// a live one its ticking minute.
const SHORT_STATUS = {
  scheduled: "TBC", live: "Live", half_time: "HT", finished: "FT",
  postponed: "Postponed", abandoned: "Abandoned",
};
const FINISHED_SHORT = { extra_time: "AET", overtime: "OT", penalties: "Pens" };
const SHORT_BREAKS = { "Half time": "HT", "Extra time half time": "HT" };
// Sparse fields of an event frame: absent means null (templates/docs/protocol.md).
const SPARSE = ["added_time", "shootout", "winner", "decided_by", "result"];

const CARD_LABELS = { yellow: "Yellow card", red: "Red card", second_yellow: "Second yellow" };

// Icons are symbols of the page's inline SVG sprite (templates/_icons.html), not emoji: an
// emoji shows as an empty box where no emoji font is installed. The label is what a screen
// reader says for the icon.
const ICON_LABELS = {
  goal: "Goal", points: "Points", card: "Card", period_start: "Period start",
  period_end: "Period end", status: "Status change", notification: "Notification",
  retract: "Correction", substitution: "Substitution", added_time: "Added time",
  kick_scored: "Penalty scored", kick_missed: "Penalty missed",
};
// Scorekeeping moves a fan does not read as news: a clock correction shows in the minute.
export const HIDDEN_TYPES = new Set(["clock"]);

export const statusLabel = (status) => STATUS_LABELS[status] || status || "";

/** The status in full ("Full time"), or the service's own label when it sends one ("AET"). */
export const longStatus = (match) => match.status_label || statusLabel(match.status);

/** Finished or abandoned: nothing live to show (no live badge, no "Notify me"). */
export const isClosed = (match) => match.status === "finished" || match.status === "abandoned";

/** "67'", "HT", "FT", "AET"; empty for a scheduled match whose kickoff time is shown. */
export function shortStatus(match, nowMs = Date.now()) {
  if (match.status === "scheduled" && match.starts_at) return "";
  if (match.status === "finished") return FINISHED_SHORT[match.decided_by] || "FT";
  if (match.status === "live") return clockLabel(match, nowMs) || match.status_label || "Live";
  if (match.status === "half_time" && match.status_label) {
    return SHORT_BREAKS[match.status_label] || match.status_label;
  }
  return SHORT_STATUS[match.status] || match.status || "";
}

/** The clock beside the status: "67'"; a countdown without the period the status names
 * ("4:12" beside "Q3") (labels.hero_clock). */
export function heroClock(match, nowMs) {
  const label = clockLabel(match, nowMs);
  return label && match.countdown ? label.slice(label.indexOf(" ") + 1) : label;
}

/** "home" or "away": the side ahead, or the winner (a shootout decides a drawn score). */
export function leader(match) {
  if (match.winner === "home" || match.winner === "away") return match.winner;
  if (match.status === "scheduled") return "";
  const { home, away } = match.score;
  return home > away ? "home" : away > home ? "away" : "";
}

/** "World Cup · Final": the competition and stage that are known. */
export const matchContext = (match) => [match.competition, match.stage].filter(Boolean).join(" · ");

export const scoreText = (match) => `${match.home} ${match.score.home}–${match.score.away} ${match.away}`;

/** The tab title: "Argentina 1–0 France · 67'" (labels.page_title). */
export function pageTitle(match, nowMs = Date.now()) {
  if (match.status === "scheduled" || match.status === "postponed") return `${match.home} v ${match.away}`;
  const state = shortStatus(match, nowMs);
  return state ? `${scoreText(match)} · ${state}` : scoreText(match);
}

/**
 * A match view after an event frame: the frame's live fields (score, status, clock, period and
 * whatever else the service sends with them) over the last view. The fields a frame leaves out
 * while they are null (added time, shootout, result) are null; a status label the frame does
 * not renew is dropped when the status changes, so it never outlives its status.
 */
export function withFrame(match, msg) {
  const { type: _type, match_id: _id, event: _event, ...live } = msg;
  const next = { ...match, ...live };
  if (live.clock !== undefined) for (const name of SPARSE) next[name] = live[name] ?? null;
  if (live.status !== undefined && live.status !== match.status && live.status_label === undefined) {
    delete next.status_label;
  }
  return next;
}
/** "Period 2", only for a view without the service's status label ("2nd half" says it). */
export const periodLabel = (match) => (match.period && !match.status_label ? `Period ${match.period}` : "");

export function teamName(match, side) {
  if (side === "home") return match.home;
  if (side === "away") return match.away;
  return "";
}

/** The one-line title of an event, e.g. "Goal · Argentina", "Half time" (facts.title);
 * `period` is the one being played when it happened (the one a period_start starts, the one
 * a period_end ends): events need not name it. */
export function eventTitle(ev, match, period) {
  const team = teamName(match, ev.team);
  const basketball = match.sport === "basketball";
  switch (ev.type) {
    case "goal": return `Goal · ${team}`;
    case "points": return `+${ev.value ?? 1} · ${team}`;
    case "card": return `${CARD_LABELS[ev.color] || "Card"} · ${team}`;
    case "substitution": return `Substitution · ${team}`;
    case "shootout_kick": return `Penalty ${ev.scored ? "scored" : "missed"} · ${team}`;
    case "added_time": {
      const minutes = Number(ev.minutes) || 0;
      return `${minutes} minute${minutes === 1 ? "" : "s"} of added time`;
    }
    case "period_start": {
      const number = ev.period || period;
      if (number === 1) return basketball ? "Tip-off" : "Kick-off";
      const name = number ? periodInfo(match.periods, number)?.name : undefined;
      if (name === "Penalty shootout") return name;
      return name ? `${name} begins` : "Period started";
    }
    case "period_end": {
      if (ev.final) return basketball ? "Final" : "Full time";
      const info = period ? periodInfo(match.periods, period) : undefined;
      return info?.break || "End of period";
    }
    case "status": return `Match ${statusLabel(ev.status).toLowerCase()}`;
    case "notification": return ev.title || "";
    case "retract": return "Correction";
    default: return ev.type;
  }
}

export const goalNote = (ev) => (ev.penalty ? " (pen.)" : ev.own_goal ? " (o.g.)" : "");

/** The detail after the title: scorer, player, what a retract undid (facts.detail). */
export function eventDetail(ev, match, lookup = () => undefined) {
  switch (ev.type) {
    case "goal":
      return `${ev.player || ""}${goalNote(ev)}`.trim() + (ev.assist ? ` · assist ${ev.assist}` : "");
    case "points":
    case "card":
    case "shootout_kick":
      return ev.player || "";
    case "substitution":
      return `${ev.player_in || "?"} replaces ${ev.player_out || "?"}`;
    case "period_end":
      return ev.final ? match.result || "" : "";
    case "notification":
      return ev.text || "";
    case "retract": {
      const target = lookup(ev.target);
      const what = target ? eventTitle(target, match) : `Event #${ev.target}`;
      return `${what} no longer counts${ev.reason ? ` — ${ev.reason}` : ""}`;
    }
    default:
      return "";
  }
}

/** "23'", "45+7'", "Q3 4:12": the service's `minute_label`, else the bare minute. */
export function minuteLabel(ev) {
  if (ev.minute_label) return ev.minute_label;
  return ev.minute === undefined || ev.minute === null ? "" : `${ev.minute}'`;
}

function iconOf(ev) {
  if (ev.type === "shootout_kick") return ev.scored ? "kick_scored" : "kick_missed";
  return Object.hasOwn(ICON_LABELS, ev.type) ? ev.type : "other";
}

/**
 * A timeline <li> for one event, cloned from the page's #event-template. `period`: the period
 * being played when it happened; `lookup(seq)`: an earlier event (what a retract undid).
 */
export function eventItem(ev, match, { retracted = false, lookup, period } = {}) {
  const template = document.getElementById("event-template");
  const li = template.content.firstElementChild.cloneNode(true);
  li.classList.add(`ev-${ev.type}`);
  if (ev.type === "notification") li.classList.add(`level-${ev.level || "info"}`);
  if (ev.type === "card" && ev.color) li.classList.add(`card-${ev.color}`);
  if (ev.type === "retract" && ["goal", "points"].includes(lookup?.(ev.target)?.type)) {
    li.classList.add("retracts-goal");
  }
  li.dataset.seq = String(ev.seq);
  li.dataset.type = ev.type;
  let minute = minuteLabel(ev);
  const info = ev.type === "added_time" && period ? periodInfo(match.periods, period) : undefined;
  if (info) minute = `${Math.floor(info.end / 60)}'`;
  li.querySelector(".ev-minute").textContent = minute;
  paintIcon(li.querySelector(".ev-icon"), iconOf(ev));
  li.querySelector(".ev-title").textContent = eventTitle(ev, match, period);
  const detail = li.querySelector(".ev-detail");
  if (ev.type === "substitution") {
    detail.replaceChildren(substitute("sub-in", "On: ", ev.player_in), " ",
      substitute("sub-out", "Off: ", ev.player_out));
  } else {
    detail.textContent = eventDetail(ev, match, lookup);
  }
  markRetracted(li, retracted);
  return li;
}

function substitute(className, spoken, player) {
  const span = document.createElement("span");
  span.className = className;
  const label = document.createElement("span");
  label.className = "sr-only";
  label.textContent = spoken;
  span.append(label, player || "");
  return span;
}

function paintIcon(icon, name) {
  icon.setAttribute("aria-label", ICON_LABELS[name] || "Event");
  icon.classList.add(`icon-${name}`);
  icon.querySelector("use").setAttribute("href", `#icon-${name}`);
}

/** Strike an event out and say so: a goal "Disallowed", anything else "Cancelled". */
export function markRetracted(li, retracted = true) {
  li.classList.toggle("retracted", retracted);
  const note = li.querySelector(".ev-note");
  note.classList.toggle("sr-only", !retracted);
  const scoring = li.dataset.type === "goal" || li.dataset.type === "points";
  note.textContent = retracted ? (scoring ? "Disallowed" : "Cancelled") : "";
}

/** Write a match view's names, score, status and period into the elements under `root`. */
export function paintMatch(root, match, nowMs = Date.now()) {
  const renamed = [setText(root, ".team.home", match.home), setText(root, ".team.away", match.away)];
  setText(root, ".score-home", String(match.score.home));
  setText(root, ".score-away", String(match.score.away));
  const status = root.querySelector(".status");
  if (status) {
    status.textContent = status.dataset.form === "short" ? shortStatus(match, nowMs) : longStatus(match);
    status.dataset.status = match.status;
  }
  setText(root, ".period", periodLabel(match));
  root.dataset.seq = String(match.seq);
  if (root.dataset.status !== undefined) root.dataset.status = match.status;
  if (root.dataset.leader !== undefined) root.dataset.leader = leader(match);
  if (renamed.some(Boolean)) fitNames(root);
}

/** "2,314 watching" in the viewer's own number format (templates/_match_parts.html
 * watching_line); hidden at 0 or unknown, and once the match is over. */
export function paintWatching(root, match) {
  const el = root.querySelector(".watching");
  if (!el) return;
  const count = Number(match.watching) || 0;
  el.dataset.watching = String(count);
  setText(el, ".watching-count", count.toLocaleString());
  el.hidden = count <= 0 || isClosed(match);
}

/** The line under a card's teams: how a match was won when it took more than 90 minutes. */
export const cardNote = (match) => (
  ["penalties", "extra_time", "overtime"].includes(match.decided_by) ? match.result || "" : "");

/**
 * A fixture row (templates/_card.html). `context`: "stage" (the list groups by competition),
 * "full" (competition and stage) or "none" (the list groups by stage).
 */
export function paintCard(li, match, { context = "full", nowMs = Date.now() } = {}) {
  li.dataset.match = match.id;
  li.dataset.kickoff = match.starts_at || match.created_at || "";
  li.querySelector("a").href = `/matches/${encodeURIComponent(match.id)}`;
  paintMatch(li, match, nowMs);
  const line = context === "stage" ? match.stage || "" : context === "full" ? matchContext(match) : "";
  const contextEl = li.querySelector(".card-context");
  contextEl.textContent = line;
  contextEl.hidden = !line;
  const note = li.querySelector(".card-note");
  if (note) {
    note.textContent = cardNote(match);
    note.hidden = !note.textContent;
  }
  let moved = false;
  for (const time of li.querySelectorAll("time")) {
    if (time.getAttribute("datetime") === (match.starts_at || "") && time.textContent) continue;
    time.setAttribute("datetime", match.starts_at || "");
    time.hidden = !match.starts_at;
    moved = true;
  }
  if (moved) localizeTimes(li);
}

/** Set an element's text; true when it changed. */
export function setText(root, selector, text) {
  const el = root.querySelector(selector);
  if (!el || el.textContent === text) return false;
  el.textContent = text;
  return true;
}

/** Replay a short highlight on an element (restarts if it is already running). */
export function flash(el) {
  if (!el) return;
  el.classList.remove("flash");
  void el.offsetWidth;   // restart the CSS animation
  el.classList.add("flash");
  setTimeout(() => el.classList.remove("flash"), 1600);
}

export function scoreSentence(match) {
  return `${match.home} ${match.score.home}, ${match.away} ${match.score.away}`;
}
