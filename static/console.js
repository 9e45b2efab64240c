// Scorekeeper console: API key in this tab's sessionStorage, pick or create a match, and
// record events with big buttons. Each press gets one client event id, reused on every retry
// of that press, so a double tap or a retry over a bad connection never counts twice.
import { LiveFeed, requestedTransport } from "./live.js";
import { MatchView } from "./match-view.js";
import { connectionBadge } from "./notify.js";
import { explain, newEventId, postJson, getJson } from "./console-api.js";
import { fitNames, keepNamesFitted } from "./fit.js";

const KEY_STORAGE = "scoreboard.apiKey";
const MATCH_STORAGE = "scoreboard.consoleMatch";
// A viewer token for the console's own live view of a private match: WebSocket and
// EventSource cannot send the key in a header, and the key must never go in a URL. It is
// renewed a little before it expires, and at once when the server refuses it.
const TOKEN_TTL_S = 3600;
const TOKEN_RENEW_AT = 0.8;

const $ = (id) => document.getElementById(id);
const keyPanel = $("key-panel");
const matchPanel = $("match-panel");
const controlPanel = $("control-panel");
const select = $("match-select");
const message = $("console-msg");
const matchRoot = $("match");

let view = null;        // MatchView of the selected match, built from its first snapshot
let feed = null;
let queue = Promise.resolve();   // presses are sent one after another, in the order pressed
let unconfirmed = null;          // {body, label} of a press whose delivery is unknown
const listed = new Map();        // match id -> match view from the last list (private flag)
const viewerTokens = new Map();  // match id -> {token, renewAt (ms)}

const apiKey = () => sessionStorage.getItem(KEY_STORAGE) || "";

function say(text, kind = "") {
  message.className = `console-msg ${kind}`;
  message.replaceChildren(text);
}

function sayUnconfirmed(text) {
  say(text, "error");
  const retry = document.createElement("button");
  retry.type = "button";
  retry.textContent = "Send it again";
  retry.addEventListener("click", () => {
    const press = unconfirmed;
    if (!press) return;
    retry.disabled = true;
    enqueue(() => deliver(press.body, press.label));
  });
  message.append(" ", retry);
}

// -- API key ---------------------------------------------------------------------------------

function showKeyState() {
  const hasKey = Boolean(apiKey());
  $("key-form").hidden = hasKey;
  $("key-saved").hidden = !hasKey;
  if ($("dev-key-hint")) $("dev-key-hint").hidden = hasKey;
  matchPanel.hidden = !hasKey;
  if (!hasKey) controlPanel.hidden = true;
}

function useKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  showKeyState();
  loadMatches();
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  if (!key) return;
  input.value = "";
  useKey(key);
});

// Only on a local service running with the public built-in key (make run): see console.html.
$("use-dev-key")?.addEventListener("click", (e) => useKey(e.currentTarget.dataset.key));

$("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  viewerTokens.clear();
  showKeyState();
  say("Key forgotten.");
  $("api-key").focus();
});

// -- matches ---------------------------------------------------------------------------------

async function loadMatches(selectId = sessionStorage.getItem(MATCH_STORAGE)) {
  try {
    // As this scorekeeper: the list then includes the private matches the key may score.
    let body;
    try {
      body = await getJson("/api/matches", apiKey());
    } catch (err) {
      if (err.code !== "unauthorized") throw err;
      say(explain(err), "error");          // tell at once; the public list still loads
      body = await getJson("/api/matches");
    }
    const matches = Array.isArray(body) ? body : body.matches || [];
    listed.clear();
    for (const m of matches) listed.set(m.id, m);
    const placeholder = new Option("— choose a match —", "");
    select.replaceChildren(placeholder, ...matches.map((m) => {
      const option = new Option(`${m.home} v ${m.away} (${m.id})`, m.id);
      return option;
    }));
    if (selectId && matches.some((m) => m.id === selectId)) {
      select.value = selectId;
      follow(selectId);
    }
  } catch (err) {
    say(explain(err), "error");
  }
}

select.addEventListener("change", () => {
  if (select.value) follow(select.value);
});
$("reload-matches").addEventListener("click", () => loadMatches(select.value));

$("create-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const submit = form.querySelector("button[type=submit]");
  const body = { home: $("new-home").value.trim(), away: $("new-away").value.trim() };
  if ($("new-id").value.trim()) body.id = $("new-id").value.trim();
  if ($("new-private").checked) body.private = true;
  submit.disabled = true;
  try {
    const { data } = await postJson("/api/matches", body, apiKey());
    form.reset();
    $("create-details").open = false;
    say(`Match ${data.home} v ${data.away} created.`, "ok");
    await loadMatches(data.id);
  } catch (err) {
    handleError(err);
  } finally {
    submit.disabled = false;
  }
});

function follow(matchId) {
  sessionStorage.setItem(MATCH_STORAGE, matchId);
  controlPanel.hidden = false;
  matchRoot.dataset.match = matchId;
  matchRoot.querySelector(".view-link").href = `/matches/${encodeURIComponent(matchId)}`;
  // The embed guide with this match's snippets (a private match needs a token there too).
  matchRoot.querySelector(".embed-guide-link").href = `/embed?match=${encodeURIComponent(matchId)}`;
  view = null;
  $("timeline").replaceChildren();
  if (feed) {
    feed.cursors.clear();
    feed.follow([matchId]);
    return;
  }
  const onState = connectionBadge(() => feed);
  feed = new LiveFeed({
    matches: [matchId],
    transport: requestedTransport(),
    token: liveToken,
    onSnapshot: (msg) => {
      if (msg.match.id !== matchRoot.dataset.match) return;
      view = new MatchView(matchRoot, { match: msg.match, events: [] },
        { timeline: $("timeline"), alerts: false });
      view.applySnapshot(msg);
      paintTeamNames();
    },
    onEvent: (msg) => {
      if (view && msg.match_id === view.match.id) view.applyEvent(msg);
    },
    onState,
  }).start();
}

/** The viewer token for the followed match's live feed; null for a public match. */
async function liveToken({ renew }) {
  const matchId = matchRoot.dataset.match;
  if (!listed.get(matchId)?.private) return null;
  let held = viewerTokens.get(matchId);
  if (renew || !held || Date.now() >= held.renewAt) {
    const { data } = await postJson(
      `/api/matches/${encodeURIComponent(matchId)}/tokens`, { ttl: TOKEN_TTL_S }, apiKey(),
    );
    held = { token: data.token, renewAt: Date.now() + data.ttl * 1000 * TOKEN_RENEW_AT };
    viewerTokens.set(matchId, held);
  }
  // The fan page of a private match opens only with a token: hand one to the link too.
  const link = matchRoot.querySelector(".view-link");
  link.href = `/matches/${encodeURIComponent(matchId)}?token=${encodeURIComponent(held.token)}`;
  return held.token;
}

function paintTeamNames() {
  for (const side of ["home", "away"]) {
    for (const el of document.querySelectorAll(`.name-${side}`)) el.textContent = view.match[side];
    $("card-team").querySelector(`option[value=${side}]`).textContent = view.match[side];
  }
  fitNames(controlPanel.querySelector(".pad"));
}

// -- recording events ------------------------------------------------------------------------

function optionalDetails(body) {
  const player = $("ev-player").value.trim();
  const minute = $("ev-minute").value;
  if (player) body.player = player;
  if (minute !== "") body.minute = Number(minute);
  return body;
}

function clearDetails() {
  for (const id of ["ev-player", "ev-minute"]) $(id).value = "";
  for (const id of ["ev-penalty", "ev-own-goal"]) $(id).checked = false;
}

/** The event a button stands for, or null (with a message) when it cannot be sent. */
async function buildEvent(action, button) {
  const teamName = (side) => (view ? view.match[side] : side);
  switch (action) {
    case "goal": {
      const team = button.dataset.team;
      const body = optionalDetails({ type: "goal", team });
      if ($("ev-penalty").checked) body.penalty = true;
      if ($("ev-own-goal").checked) body.own_goal = true;
      return { body, label: `Goal for ${teamName(team)}`, after: clearDetails };
    }
    case "card": {
      const team = $("card-team").value;
      const body = optionalDetails({ type: "card", team, color: $("card-color").value });
      return { body, label: `Card for ${teamName(team)}`, after: clearDetails };
    }
    case "period_start":
      return {
        body: { type: "period_start", period: (view ? view.match.period : 0) + 1 },
        label: "Start of period",
      };
    case "period_end":
      return { body: { type: "period_end" }, label: "End of period" };
    case "final":
      return { body: { type: "period_end", final: true }, label: "Final whistle" };
    case "notification": {
      const title = $("note-title").value.trim();
      if (!title) {
        say("Write a title for the notification first.", "error");
        $("note-title").focus();
        return null;
      }
      const body = { type: "notification", title, level: $("note-level").value };
      const text = $("note-text").value.trim();
      if (text) body.text = text;
      const after = () => { $("note-title").value = ""; $("note-text").value = ""; };
      return { body, label: "Notification", after };
    }
    case "undo":
      return buildUndo();
    default:
      return null;
  }
}

/** A retract of the last event that still counts, read from the log as it is right now. */
async function buildUndo() {
  const matchId = matchRoot.dataset.match;
  const { events } = await getJson(
    `/api/matches/${encodeURIComponent(matchId)}/events?since=0`, apiKey(),
  );
  const retracted = new Set(events.filter((e) => e.type === "retract").map((e) => e.target));
  const last = [...events].reverse()
    .find((e) => e.type !== "retract" && !retracted.has(e.seq));
  if (!last) {
    say("Nothing to undo yet.", "error");
    return null;
  }
  return {
    body: { type: "retract", target: last.seq, reason: "undone by the scorekeeper" },
    label: `Undo of event #${last.seq} (${last.type.replace("_", " ")})`,
  };
}

async function deliver(body, label, after) {
  const matchId = matchRoot.dataset.match;
  try {
    const { status, data } = await postJson(
      `/api/matches/${encodeURIComponent(matchId)}/events`, body, apiKey(),
      { onRetry: (n) => say(`${label}: connection problem, trying again (${n})…`) },
    );
    unconfirmed = null;
    const seq = data.events && data.events.length ? data.events[0].seq : data.seq;
    say(status === 200
      ? `${label} was already recorded as event #${seq}; it was not counted twice.`
      : `${label} recorded as event #${seq}.`, "ok");
    if (after) after();
  } catch (err) {
    if (err.network) {
      // Delivery unknown: offer to resend the very same event (same id), never a new one.
      unconfirmed = { body, label };
      sayUnconfirmed(`${label} may not have been recorded: ${explain(err)}`);
      return;
    }
    unconfirmed = null;
    handleError(err, label);
  }
}

function handleError(err, label = "") {
  const text = explain(err);
  say(label ? `${label} was not recorded. ${text}` : text, "error");
  if (err.code === "unauthorized") {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyState();
    $("api-key").focus();
  }
}

function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

controlPanel.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action]");
  if (!button || button.disabled) return;
  // Disabled at once, in the same task as the click: the second click of a double tap
  // lands on a disabled button and is never dispatched.
  button.disabled = true;
  enqueue(async () => {
    try {
      const press = await buildEvent(button.dataset.action, button);
      if (!press) return;
      // One id per press, made here once and reused by every retry of this press.
      press.body.id = newEventId();
      await deliver(press.body, press.label, press.after);
    } catch (err) {
      handleError(err);
    } finally {
      button.disabled = false;
    }
  });
});

showKeyState();
keepNamesFitted(controlPanel);
if (apiKey()) loadMatches();
