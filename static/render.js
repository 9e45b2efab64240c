// Text and DOM for matches and events. Mirrors templates/_event.html, _card.html and
// scoreboard/web/pages/labels.py, so a live update looks exactly like the server's first
// paint. Every piece of text that came from a user (team, player, notification, reason) goes
// through textContent, never HTML.
import { fitNames } from "./fit.js";
import { localizeTimes } from "./time.js";

const STATUS_LABELS = {
  scheduled: "Scheduled",
  live: "Live",
  half_time: "Half time",
  finished: "Full time",
  postponed: "Postponed",
  abandoned: "Abandoned",
};

// A fixture row's narrow "when" column; a scheduled match with a kickoff shows its time there.
const SHORT_STATUS = {
  scheduled: "TBC", live: "Live", half_time: "HT", finished: "FT",
  postponed: "Postponed", abandoned: "Abandoned",
};
const FINISHED_SHORT = { extra_time: "AET", overtime: "OT", penalties: "Pens" };

const CARD_LABELS = { yellow: "Yellow card", red: "Red card", second_yellow: "Second yellow" };

// Icons are symbols of the page's inline SVG sprite (templates/_icons.html), not emoji: an
// emoji shows as an empty box where no emoji font is installed. The label is what a screen
// reader says for the icon.
const ICON_LABELS = {
  goal: "Goal", points: "Points", card: "Card", period_start: "Period start",
  period_end: "Period end", status: "Status change", notification: "Notification",
  retract: "Correction",
};

export const statusLabel = (status) => STATUS_LABELS[status] || status || "";

/** The status in full ("Full time"), or the service's own label when it sends one ("AET"). */
export const longStatus = (match) => match.status_label || statusLabel(match.status);

/** "FT", "HT", "Live", "AET"; empty for a scheduled match whose kickoff time is shown. */
export function shortStatus(match) {
  if (match.status === "scheduled" && match.starts_at) return "";
  if (match.status === "finished") return FINISHED_SHORT[match.decided_by] || "FT";
  return SHORT_STATUS[match.status] || match.status || "";
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

/**
 * A match view after an event frame: the frame's live fields (score, status, period, seq and
 * whatever else the service sends with them) over the last view. A status label the frame
 * does not renew is dropped when the status changes, so it never outlives its status.
 */
export function withFrame(match, msg) {
  const { type: _type, match_id: _id, event: _event, ...live } = msg;
  const next = { ...match, ...live };
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

/** The one-line title of an event, e.g. "Goal · Argentina". */
export function eventTitle(ev, match) {
  const team = teamName(match, ev.team);
  switch (ev.type) {
    case "goal": return `Goal · ${team}`;
    case "points": return `+${ev.value ?? 1} · ${team}`;
    case "card": return `${CARD_LABELS[ev.color] || "Card"} · ${team}`;
    case "period_start": return ev.period ? `Period ${ev.period} started` : "Period started";
    case "period_end": return ev.final ? "Full time" : "End of period";
    case "status": return `Match ${statusLabel(ev.status).toLowerCase()}`;
    case "notification": return ev.title || "";
    case "retract": return "Correction";
    default: return ev.type;
  }
}

/** The detail after the title: player and flags, notification text, what a retract undid. */
export function eventDetail(ev, match, lookup = () => undefined) {
  switch (ev.type) {
    case "goal":
      return [ev.player || "", ev.penalty ? " (pen.)" : "", ev.own_goal ? " (o.g.)" : ""].join("");
    case "points":
    case "card":
      return ev.player || "";
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

export function minuteLabel(ev) {
  return ev.minute === undefined || ev.minute === null ? "" : `${ev.minute}'`;
}

/** A timeline <li> for one event, cloned from the page's #event-template. */
export function eventItem(ev, match, { retracted = false, lookup } = {}) {
  const template = document.getElementById("event-template");
  const li = template.content.firstElementChild.cloneNode(true);
  li.classList.add(`ev-${ev.type}`);
  if (ev.type === "notification") li.classList.add(`level-${ev.level || "info"}`);
  if (ev.type === "card" && ev.color) li.classList.add(`card-${ev.color}`);
  li.dataset.seq = String(ev.seq);
  li.dataset.type = ev.type;
  li.querySelector(".ev-minute").textContent = minuteLabel(ev);
  paintIcon(li.querySelector(".ev-icon"), ev.type);
  li.querySelector(".ev-title").textContent = eventTitle(ev, match);
  li.querySelector(".ev-detail").textContent = eventDetail(ev, match, lookup);
  markRetracted(li, retracted);
  return li;
}

function paintIcon(icon, type) {
  const known = Object.hasOwn(ICON_LABELS, type);
  icon.setAttribute("aria-label", known ? ICON_LABELS[type] : "Event");
  icon.querySelector("use").setAttribute("href", `#icon-${known ? type : "other"}`);
}

export function markRetracted(li, retracted = true) {
  li.classList.toggle("retracted", retracted);
  li.querySelector(".ev-note").textContent = retracted ? "(retracted)" : "";
}

/** Write a match view's names, score, status and period into the elements under `root`. */
export function paintMatch(root, match) {
  const renamed = [setText(root, ".team.home", match.home), setText(root, ".team.away", match.away)];
  setText(root, ".score-home", String(match.score.home));
  setText(root, ".score-away", String(match.score.away));
  const status = root.querySelector(".status");
  if (status) {
    status.textContent = status.dataset.form === "short" ? shortStatus(match) : longStatus(match);
    status.dataset.status = match.status;
  }
  setText(root, ".period", periodLabel(match));
  root.dataset.seq = String(match.seq);
  if (root.dataset.status !== undefined) root.dataset.status = match.status;
  if (root.dataset.leader !== undefined) root.dataset.leader = leader(match);
  if (renamed.some(Boolean)) fitNames(root);
}

/** A fixture row (templates/_card.html): the match, its kickoff and its competition. */
export function paintCard(li, match) {
  li.dataset.match = match.id;
  li.querySelector("a").href = `/matches/${encodeURIComponent(match.id)}`;
  paintMatch(li, match);
  const context = li.querySelector(".card-context");
  context.textContent = matchContext(match);
  context.hidden = !context.textContent;
  for (const time of li.querySelectorAll("time")) {
    time.setAttribute("datetime", match.starts_at || "");
    time.hidden = !match.starts_at;
  }
  localizeTimes(li);
}

/** Set an element's text; true when it changed. */
function setText(root, selector, text) {
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
