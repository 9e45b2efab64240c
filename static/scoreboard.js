// Fan pages: keeps the server-rendered match page, embed card, match list and competition
// page live.
import { LiveFeed, requestedTransport } from "./live.js";
import { MatchView } from "./match-view.js";
import { paintCard, flash, scoreSentence, withFrame, shortStatus } from "./render.js";
import { announce, connectionBadge } from "./notify.js";
import { keepNamesFitted } from "./fit.js";
import { localizeTimes } from "./time.js";
import { setupPush } from "./push.js";
import { everySecond, serverNow, setServerTime } from "./ticker.js";
import { FixtureList } from "./fixture-list.js";
import { Standings } from "./standings.js";

const MAX_NAMED = 100;   // matches one connection may name (the server's limit)

function readInitialState() {
  const el = document.getElementById("initial-state");
  return el ? JSON.parse(el.textContent) : null;
}

/** The server's time when it rendered the page: the clock ticks on it until a connection
 * reports the time again (`subscribed.now`; SSE has none, so this is all it gets). */
function serverTimeFrom(el) {
  if (el && el.dataset.now) setServerTime(el.dataset.now);
}

const onSubscribed = (msg) => { if (msg.now) setServerTime(msg.now); };

function bootMatch(root) {
  serverTimeFrom(root);
  const initial = readInitialState();
  const view = new MatchView(root, initial);
  let feed;
  const onState = connectionBadge(() => feed);
  if (root.dataset.live === "match") setupPush(root, view.match);
  feed = new LiveFeed({
    matches: [view.match.id],
    cursors: { [view.match.id]: Number(root.dataset.seq) },
    epochs: { [view.match.id]: root.dataset.epoch || "" },
    transport: requestedTransport(),
    onSnapshot: (msg) => view.applySnapshot(msg),
    onEvent: (msg) => view.applyEvent(msg),
    onWatching: (msg) => view.applyWatching(msg),
    onState,
    onSubscribed,
  }).start();
  window.scoreboardFeed = feed;   // for debugging in the console
}

/**
 * A fixture list (home page, competition page): every card live, each moving between "Live
 * now", "Upcoming" and "Results" as its status changes, live minutes ticking; on a
 * competition page the tables follow the scores.
 */
function bootList(root) {
  const stateEl = document.getElementById("initial-state");
  serverTimeFrom(stateEl);
  const initial = readInitialState() || { matches: [] };
  const periods = initial.periods || {};
  const list = new FixtureList(root);
  const context = root.dataset.groupBy === "stage" ? "none" : "stage";
  const cards = new Map(
    [...root.querySelectorAll("li.card")].map((li) => [li.dataset.match, li]),
  );
  // matchId -> match view as last painted: the server's first paint, then each frame over it.
  const views = new Map(initial.matches.map((m) => [m.id, withPeriods(m, periods)]));
  const tables = initial.tables && document.getElementById("tables")
    ? new Standings(document.getElementById("tables"), initial.tables, views, initial.table_points || {})
    : null;
  const competition = root.dataset.groupBy === "stage";
  const live = new Set();   // ids of the cards whose minute ticks

  const tick = (now) => {
    for (const id of live) {
      const status = cards.get(id)?.querySelector(".status");
      const text = shortStatus(views.get(id), now);
      if (status && status.textContent !== text) status.textContent = text;
    }
  };
  let stopTicking = null;
  const follow = (match) => {
    if (match.status === "live") live.add(match.id);
    else live.delete(match.id);
    if (live.size && !stopTicking) stopTicking = everySecond(tick);
    if (!live.size && stopTicking) {
      stopTicking();
      stopTicking = null;
    }
  };

  const upsert = (match) => {
    if (match.private) return;
    let li = cards.get(match.id);
    if (!li) {
      li = document.getElementById("card-template").content.firstElementChild.cloneNode(true);
      cards.set(match.id, li);
    }
    const before = views.get(match.id);
    views.set(match.id, match);
    paintCard(li, match, { context, nowMs: serverNow() });
    if (!before || before.status !== match.status || before.starts_at !== match.starts_at || !li.parentElement) {
      list.place(li, match);
    }
    follow(match);
    if (!before) return;
    const scored = before.score.home !== match.score.home || before.score.away !== match.score.away;
    if (before.score.home !== match.score.home) flash(li.querySelector(".score-home"));
    if (before.score.away !== match.score.away) flash(li.querySelector(".score-away"));
    if (scored) announce(`Score update: ${scoreSentence(match)}`);
    if (tables && (scored || before.status !== match.status)) tables.update(match);
  };

  const pending = new Set();
  const onEvent = async (msg) => {
    const known = views.get(msg.match_id);
    if (known && known.home !== undefined) {
      upsert(withPeriods(withFrame(known, msg), periods));
      return;
    }
    if (competition) return;   // a competition page follows the matches it listed
    // A match we have never seen: its team names are not in an event, ask once.
    if (pending.has(msg.match_id)) return;
    pending.add(msg.match_id);
    try {
      const response = await fetch(`/api/matches/${encodeURIComponent(msg.match_id)}`);
      if (response.ok) upsert(await response.json());
    } finally {
      pending.delete(msg.match_id);
    }
  };

  // Cards were painted in UTC days: place each in the viewer's own day (usually no move).
  for (const [id, li] of cards) {
    const match = views.get(id);
    if (!match) continue;
    list.place(li, match);
    follow(match);
  }

  let feed;
  const onState = connectionBadge(() => feed);
  const cursors = {};
  const epochs = {};
  for (const [id, li] of cards) {
    cursors[id] = Number(li.dataset.seq);
    epochs[id] = li.dataset.epoch || "";
  }
  // A competition page names its own matches (when they fit one connection); the home page
  // follows every public match, new ones included.
  const named = competition && cards.size <= MAX_NAMED;
  feed = new LiveFeed({
    matches: named ? [...cards.keys()] : ["*"],
    cursors,
    epochs,
    allowGaps: true,
    transport: requestedTransport(),
    onSnapshot: (msg) => upsert(withPeriods(msg.match, periods)),
    onEvent,
    onState,
    onSubscribed,
  }).start();
  window.scoreboardFeed = feed;
}

/** A card view keeps only live matches' clock bounds (state.py): the rest come from the
 * page's table of them, for a match that kicks off while the page is open. */
function withPeriods(match, periods) {
  if (match.periods) return match;
  const key = `${match.sport || "football"}|${match.period_minutes || ""}|${match.extra_minutes || ""}`;
  return periods[key] ? { ...match, periods: periods[key] } : match;
}

localizeTimes();
keepNamesFitted();
const root = document.querySelector("[data-live]");
if (root && (root.dataset.live === "match" || root.dataset.live === "embed")) bootMatch(root);
else if (root && root.dataset.live === "list") bootList(root);
