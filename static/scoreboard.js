// Fan pages: keeps the server-rendered match page, embed card and match list live.
import { LiveFeed, requestedTransport } from "./live.js";
import { MatchView } from "./match-view.js";
import { paintMatch, flash, scoreSentence } from "./render.js";
import { announce, connectionBadge } from "./notify.js";
import { setupPush } from "./push.js";

function readInitialState() {
  const el = document.getElementById("initial-state");
  return el ? JSON.parse(el.textContent) : null;
}

function bootMatch(root) {
  const initial = readInitialState();
  const view = new MatchView(root, initial);
  let feed;
  const onState = connectionBadge(() => feed);
  if (root.dataset.live === "match") setupPush(root, view.match);
  feed = new LiveFeed({
    matches: [view.match.id],
    cursors: { [view.match.id]: Number(root.dataset.seq) },
    transport: requestedTransport(),
    onSnapshot: (msg) => view.applySnapshot(msg),
    onEvent: (msg) => view.applyEvent(msg),
    onState,
  }).start();
  window.scoreboardFeed = feed;   // for debugging in the console
}

/** The match list: every public match, live; new matches appear when they first report. */
function bootIndex(list) {
  const cards = new Map(
    [...list.querySelectorAll("li.card")].map((li) => [li.dataset.match, li]),
  );
  const views = new Map();   // matchId -> {home, away, score, ...} as last painted
  for (const [id, li] of cards) {
    views.set(id, {
      id, home: li.querySelector(".team.home").textContent,
      away: li.querySelector(".team.away").textContent,
      score: {
        home: Number(li.querySelector(".score-home").textContent),
        away: Number(li.querySelector(".score-away").textContent),
      },
    });
  }
  const empty = document.getElementById("empty");
  const pending = new Set();

  const upsert = (match) => {
    if (match.private) return;
    let li = cards.get(match.id);
    if (!li) {
      li = document.getElementById("card-template").content.firstElementChild.cloneNode(true);
      li.dataset.match = match.id;
      li.querySelector("a").href = `/matches/${encodeURIComponent(match.id)}`;
      cards.set(match.id, li);
      list.prepend(li);
      if (empty) empty.hidden = true;
    }
    const before = views.get(match.id);
    views.set(match.id, match);
    paintMatch(li, match);
    if (before && (before.score.home !== match.score.home || before.score.away !== match.score.away)) {
      flash(li.querySelector(".score"));
      announce(`Score update: ${scoreSentence(match)}`);
    }
  };

  const onEvent = async (msg) => {
    const known = views.get(msg.match_id);
    if (known && known.home !== undefined) {
      upsert({ ...known, score: msg.score, status: msg.status ?? known.status,
               period: msg.period ?? known.period, seq: msg.seq });
      return;
    }
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

  let feed;
  const onState = connectionBadge(() => feed);
  const cursors = {};
  for (const [id, li] of cards) cursors[id] = Number(li.dataset.seq);
  feed = new LiveFeed({
    matches: ["*"],
    cursors,
    allowGaps: true,
    transport: requestedTransport(),
    onSnapshot: (msg) => upsert(msg.match),
    onEvent,
    onState,
  }).start();
  window.scoreboardFeed = feed;
}

const root = document.querySelector("[data-live]");
if (root && (root.dataset.live === "match" || root.dataset.live === "embed")) bootMatch(root);
else if (root && root.dataset.live === "index") bootIndex(root);
