// Undo names what it undoes ("Undo goal Messi 23'") and undoes exactly that: the last event
// that still counts, whether the server has it (retract by its seq) or it is still waiting in
// the outbox (retract by its event id, sent after it, so it arrives in order). Pure functions.
import { eventTitle, minuteLabel, goalNote, teamName } from "./render.js";

const CARD_WORDS = { yellow: "yellow card", red: "red card", second_yellow: "second yellow" };

/** A short name for an event: "goal Messi (pen.) 23'", "yellow card Groß 31'", "Half time". */
export function describe(ev, match, period) {
  const who = ev.player || teamName(match, ev.team);
  const minute = minuteLabel(ev);
  const at = minute ? ` ${minute}` : "";
  switch (ev.type) {
    case "goal": return `goal ${who}${goalNote(ev)}${at}`;
    case "points": return `${ev.value ?? 1} point${Number(ev.value) === 1 ? "" : "s"} ${who}${at}`;
    case "card": return `${CARD_WORDS[ev.color] || "card"} ${who}${at}`;
    case "substitution": return `substitution ${ev.player_in} for ${ev.player_out}${at}`;
    case "shootout_kick": return `penalty ${ev.scored ? "scored" : "missed"} ${who}`;
    case "added_time": return `added time +${ev.minutes}`;
    case "clock": return ev.action === "set" ? "clock correction" : `clock ${ev.action}`;
    case "status": return ev.status === "finished" ? (match.sport === "basketball" ? "Final" : "Full time") : `status ${ev.status}`;
    default: return eventTitle(ev, match, period);
  }
}

/**
 * The undo a press of "Undo" sends now, or null when nothing counts yet.
 * events: the match's events the console knows, from the live feed and from the answers to its
 * own sends (seq order not required); pending: bodies of this match still in the outbox,
 * oldest first. Returns {label, body}.
 */
export function nextUndo(match, events, pending) {
  const undone = new Set();       // seqs and event ids an earlier undo already takes out
  for (const body of [...events, ...pending]) {
    if (body.type !== "retract") continue;
    if (body.target !== undefined) undone.add(body.target);
    if (body.target_id !== undefined) undone.add(body.target_id);
  }
  for (const body of [...pending].reverse()) {
    if (body.type === "retract" || undone.has(body.id)) continue;
    return {
      label: `Undo ${describe(body, match)} (not sent yet)`,
      body: { type: "retract", target_id: body.id, reason: "undone by the scorekeeper" },
    };
  }
  const retracted = match.retracted instanceof Set ? match.retracted : new Set(match.retracted || []);
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  const periodAt = new Map();
  let period = 0;
  for (const ev of ordered) {
    if (ev.type === "period_start") period = ev.period || period + 1;
    periodAt.set(ev.seq, period);
  }
  for (const ev of ordered.reverse()) {
    if (ev.type === "retract" || retracted.has(ev.seq) || undone.has(ev.seq) || undone.has(ev.id)) continue;
    return {
      label: `Undo ${describe(ev, match, periodAt.get(ev.seq))}`,
      body: { type: "retract", target: ev.seq, reason: "undone by the scorekeeper" },
    };
  }
  return null;
}
