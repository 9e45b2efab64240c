// Scorekeeper console: big buttons named by the sport, shown only when they apply; one press is
// one event (a double tap is one press, console-press.js), and every press goes through the
// outbox (console-outbox.js) with its own event id, so a bad connection delays it but never
// loses or doubles it. The setup (key, matches, live view) is console-session.js.
import { explain, newEventId } from "./console-api.js";
import { Outbox } from "./console-outbox.js";
import { PressGuard, pressGroup } from "./console-press.js";
import { panels, projected } from "./console-flow.js";
import { paintCardPad, paintFlow, paintKickPad, paintScorePad } from "./console-pads.js";
import { nextUndo } from "./console-undo.js";
import { clockText, typedClock } from "./console-clock.js";
import { Session, apiKey } from "./console-session.js";
import { fitNames, keepNamesFitted } from "./fit.js";
import { minuteLabel, teamName } from "./render.js";
import { serverNow } from "./ticker.js";

const $ = (id) => document.getElementById(id);
const controlPanel = $("control-panel");
const message = $("console-msg");

const guard = new PressGuard();
const answered = new Map();   // seq -> event the server acknowledged, until the feed brings it
let waitingNote = "";         // why the oldest press is not sent yet ("offline, retrying …")

function say(text, kind = "") {
  message.className = `console-msg ${kind}`;
  message.textContent = text;
}

const session = new Session({
  say,
  onView: () => { answered.clear(); paintControls(); },
  onChange: () => paintControls(),
  onKey: () => outbox.retryNow(),
});
const currentMatch = () => session.view?.match;

// -- the outbox ------------------------------------------------------------------------------

const outbox = new Outbox({
  key: apiKey,
  onChange: () => { paintOutbox(); paintControls(); },
  onSent: (entry, { status, data }) => {
    waitingNote = "";
    const event = (data.events || [])[0];
    if (event && entry.matchId === currentMatch()?.id) answered.set(event.seq, event);
    const minute = event ? minuteLabel(event) : "";
    say(status === 200
      ? `${entry.label} was already recorded; it was not counted twice.`
      : `${entry.label} recorded${minute ? ` at ${minute}` : ""}.`, "ok");
    paintControls();
  },
  onRejected: (entry, err) => say(`${entry.label} was not recorded. ${explain(err)}`, "error"),
  onWaiting: (entry, err, retryInMs) => {
    const why = err.code === "network" ? (navigator.onLine ? "no answer from the server" : "offline")
      : explain(err);
    waitingNote = `${why}; trying again in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
    paintOutbox();
  },
  onBlocked: (err) => { session.keyRefused(err); paintOutbox(); },
});

function pendingFor(matchId) {
  return outbox.entries().filter((e) => e.matchId === matchId).map((e) => e.body);
}

function paintOutbox() {
  const count = outbox.entries().length;
  const el = $("outbox");
  el.hidden = count === 0;
  el.textContent = count ? `${count} waiting to send${waitingNote ? ` (${waitingNote})` : ""}` : "";
  el.dataset.count = String(count);
}

// -- what the console shows ------------------------------------------------------------------

function knownEvents(view) {
  for (const seq of answered.keys()) if (view.events.has(seq)) answered.delete(seq);
  return [...view.events.values(), ...answered.values()];
}

/** What changes the state that the live view does not show yet, oldest first: events the
 * server acknowledged before the feed brought them, then the presses still in the outbox. */
function ahead(view) {
  knownEvents(view);   // forgets acknowledged events the feed has brought
  const acknowledged = [...answered.values()].filter((ev) => ev.seq > view.match.seq).sort((a, b) => a.seq - b.seq);
  return [...acknowledged, ...pendingFor(view.match.id)];
}

function paintControls() {
  const view = session.view;
  if (!view) return;
  const pending = pendingFor(view.match.id);
  // Between a send's answer and the feed's frame the buttons must not step back.
  const match = projected(view.match, ahead(view));
  controlPanel.dataset.sport = match.sport;
  const show = panels(match);
  let renamed = paintFlow($("flow"), match);
  $("scoring").hidden = !show.scoring;
  renamed = paintScorePad($("score-pad"), match) || renamed;
  $("shootout-group").hidden = !show.shootout && !match.shootout;
  $("kick-pad").hidden = !show.shootout;
  $("kick-player").hidden = $("kick-player").previousElementSibling.hidden = !show.shootout;
  renamed = paintKickPad($("kick-pad"), match) || renamed;
  $("cards").hidden = !show.cards;
  renamed = paintCardPad($("card-pad"), match) || renamed;
  $("substitutions").hidden = !show.substitutions;
  for (const side of ["home", "away"]) $("sub-team").querySelector(`option[value=${side}]`).textContent = match[side];
  $("clock-controls").hidden = !show.clock;
  for (const el of controlPanel.querySelectorAll(".added-row")) el.hidden = !show.addedTime;
  $("clock-toggle").textContent = clockRunning(view.match, ahead(view)) ? "Stop clock" : "Start clock";
  $("clock-set-label").textContent = match.countdown ? "Set time left to" : "Set clock to";
  $("clock-set").placeholder = match.countdown ? "e.g. 4:12" : "e.g. 44:30 or 67";
  const undo = nextUndo(view.match, knownEvents(view), pending);
  $("undo").textContent = undo ? undo.label : "Nothing to undo";
  $("undo").disabled = !undo;
  if (renamed) fitNames(controlPanel);
}

function clockRunning(match, pending) {
  let running = Boolean(match.clock && match.clock.running);
  for (const body of pending) {
    if (body.type === "clock" && body.action !== "set") running = body.action === "start";
    if (body.type === "period_start" || body.type === "period_end") running = body.type === "period_start";
  }
  return running;
}

// -- presses ---------------------------------------------------------------------------------

const value = (id) => $(id).value.trim();
const withPlayer = (body, id = "ev-player") => (value(id) ? { ...body, player: value(id) } : body);

function clearDetails() {
  for (const id of ["ev-player", "ev-assist"]) $(id).value = "";
  for (const id of ["ev-penalty", "ev-own-goal"]) $(id).checked = false;
}

/** The event a button stands for, as {body, label, after?}; null (with a message) if it cannot be sent. */
function buildPress(button, match) {
  const team = button.dataset.team;
  const name = teamName(match, team);
  const who = (player) => (player ? ` (${player})` : "");
  switch (button.dataset.action) {
    case "flow":
      return { body: JSON.parse(button.dataset.body), label: button.firstChild.textContent };
    case "goal": {
      let body = withPlayer({ type: "goal", team });
      if (value("ev-assist")) body.assist = value("ev-assist");
      if ($("ev-penalty").checked) body = { ...body, penalty: true };
      if ($("ev-own-goal").checked) body = { ...body, own_goal: true };
      return { body, label: `Goal for ${name}${who(body.player)}`, after: clearDetails };
    }
    case "points": {
      const body = withPlayer({ type: "points", team, value: Number(button.dataset.value) });
      return { body, label: `+${body.value} for ${name}${who(body.player)}`, after: clearDetails };
    }
    case "card": {
      const body = withPlayer({ type: "card", team, color: button.dataset.color });
      return { body, label: `${body.color === "red" ? "Red" : "Yellow"} card for ${name}${who(body.player)}`, after: clearDetails };
    }
    case "kick": {
      const body = withPlayer({ type: "shootout_kick", team, scored: button.dataset.scored === "true" }, "kick-player");
      return { body, label: `Penalty ${body.scored ? "scored" : "missed"} by ${name}${who(body.player)}`, after: () => { $("kick-player").value = ""; } };
    }
    case "substitution": {
      if (!value("sub-off") || !value("sub-on")) {
        say("Name the player going off and the player coming on.", "error");
        $(value("sub-off") ? "sub-on" : "sub-off").focus();
        return null;
      }
      const side = $("sub-team").value;
      const body = { type: "substitution", team: side, player_out: value("sub-off"), player_in: value("sub-on") };
      return { body, label: `Substitution for ${teamName(match, side)}: ${body.player_in} on, ${body.player_out} off`,
        after: () => { $("sub-off").value = ""; $("sub-on").value = ""; } };
    }
    case "clock_toggle": {
      const action = clockRunning(match, ahead(session.view)) ? "stop" : "start";
      return { body: { type: "clock", action }, label: action === "stop" ? "Clock stopped" : "Clock started" };
    }
    case "clock_set": {
      const typed = typedClock(match, $("clock-set").value);
      if (typed.error) {
        say(typed.error, "error");
        $("clock-set").focus();
        return null;
      }
      return { body: { type: "clock", action: "set", elapsed: typed.elapsed }, label: `Clock set to ${value("clock-set")}`,
        after: () => { $("clock-set").value = ""; } };
    }
    case "added_time": {
      const minutes = Number(value("added-minutes"));
      if (!value("added-minutes") || !Number.isInteger(minutes) || minutes < 0 || minutes > 30) {
        say("Type the minutes of added time on the board (0 to 30).", "error");
        $("added-minutes").focus();
        return null;
      }
      return { body: { type: "added_time", minutes }, label: `Added time +${minutes}`, after: () => { $("added-minutes").value = ""; } };
    }
    case "undo": {
      const undo = nextUndo(match, knownEvents(session.view), pendingFor(match.id));
      if (!undo) say("Nothing to undo yet.", "error");
      return undo;
    }
    default:
      return null;
  }
}

controlPanel.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action]");
  const match = currentMatch();
  if (!button || button.disabled || !match) return;
  // The second click of a double tap (or a nervous triple) is the same press: it sends nothing.
  if (!guard.accept(pressGroup(button), e.timeStamp)) return;
  const press = buildPress(button, match);
  if (!press) return;
  // One event id per press, made here once: every resend of this press carries it.
  press.body.id = newEventId();
  outbox.add(match.id, press.body, press.label);
  say(`${press.label}: sending…`);
  if (press.after) press.after();
  button.classList.remove("pressed");
  void button.offsetWidth;   // restart the feedback animation
  button.classList.add("pressed");
});

// The clock field shows the clock as it reads now: a correction is usually a few seconds off it.
$("clock-set").addEventListener("focus", () => {
  const match = currentMatch();
  if (match) $("clock-set").placeholder = `now ${clockText(match, serverNow())}`;
});

paintOutbox();
keepNamesFitted(controlPanel);
session.start();
if (apiKey()) outbox.flush();
