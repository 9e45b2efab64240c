// Which buttons a scorekeeper needs now, named as the sport names them: "Kick off", "Half
// time", "Extra time", "Penalties", "Full time"; basketball "Tip-off", "End of Q3", "OT".
// Pure functions of a match view (scoreboard/domain/views.py), so they follow the same rules
// the server enforces (scoreboard/domain/rules.py): a button that would be refused with 409
// not_in_play is not shown at all.
import { periodInfo } from "./match-clock.js";

// The two profiles of scoreboard/domain/sports.py, as far as the buttons need them.
const PROFILES = {
  football: { regular: 2, shootout: 5, lastPlay: 4, scoring: "goal" },
  basketball: { regular: 4, shootout: null, lastPlay: null, scoring: "points" },
};

export const profileOf = (match) => PROFILES[match.sport] || PROFILES.football;

const name = (match, period) => periodInfo(match.periods, period)?.name || `Period ${period}`;
const breakAfter = (match, period) => periodInfo(match.periods, period)?.break || `End of ${name(match, period)}`;

const start = (period, label, hint = "") => ({ label, hint, body: { type: "period_start", period } });
const end = (label, hint = "") => ({ label, hint, body: { type: "period_end" } });
const final = (label, hint = "") => ({ label, hint, body: { type: "period_end", final: true }, finish: true });
// Ending the match from a break (no period running): the status event, as period_end needs one.
const finishFromBreak = (label, hint = "") => ({ label, hint, body: { type: "status", status: "finished" }, finish: true });

/** The period buttons that apply now, in the order a match uses them. */
export function flowActions(match) {
  const { status, period } = match;
  if (status === "finished" || status === "abandoned") return [];
  return match.sport === "basketball" ? basketballFlow(match, status, period) : footballFlow(match, status, period);
}

function footballFlow(match, status, period) {
  if (period === 0 || status === "scheduled" || status === "postponed") return [start(1, "Kick off")];
  if (status === "live") {
    switch (period) {
      case 1: return [end("Half time")];
      case 2: return [final("Full time"), end("End of normal time", "extra time or penalties next")];
      case 3: return [end("Extra time half time")];
      case 4: return [final("Full time", "after extra time"), end("End of extra time", "penalties next")];
      case 5: return [final("End shootout", "full time")];
      default: return [end(breakAfter(match, period))];
    }
  }
  switch (period) {  // half_time: the break after `period`
    case 1: return [start(2, "Second half")];
    case 2: return [start(3, "Extra time", "1st half"), start(5, "Penalties"), finishFromBreak("Full time")];
    case 3: return [start(4, "Extra time", "2nd half")];
    case 4: return [start(5, "Penalties"), finishFromBreak("Full time", "after extra time")];
    default: return [finishFromBreak("Full time")];
  }
}

function basketballFlow(match, status, period) {
  const { regular } = PROFILES.basketball;
  if (period === 0 || status === "scheduled" || status === "postponed") return [start(1, "Tip-off")];
  if (status === "live") {
    const ending = end(breakAfter(match, period));
    return period >= regular ? [final("Final", `end of ${name(match, period)}`), ending] : [ending];
  }
  const next = start(period + 1, period + 1 > regular ? overtimeName(period + 1, regular) : `Start ${name(match, period + 1)}`);
  return period >= regular ? [next, finishFromBreak("Final")] : [next];
}

function overtimeName(period, regular) {
  const n = period - regular;
  return n === 1 ? "Overtime" : `Overtime ${n} (${n}OT)`;
}

/** What a match looks like once the presses still waiting to be sent have arrived: the
 * status and period only (the buttons follow them; the score waits for the server). */
export function projected(match, bodies) {
  const profile = profileOf(match);
  let { status, period } = match;
  for (const body of bodies) {
    if (body.type === "period_start") {
      status = "live";
      period = body.period || period + 1;
    } else if (body.type === "period_end") {
      status = body.final || period === profile.shootout ? "finished" : "half_time";
    } else if (body.type === "status") {
      status = body.status;
    }
  }
  return { ...match, status, period };
}

/** Which groups of controls apply now (the rules of scoreboard/domain/rules.py). */
export function panels(match) {
  const profile = profileOf(match);
  const closed = match.status === "finished" || match.status === "abandoned";
  const started = match.period > 0 && !["scheduled", "postponed"].includes(match.status);
  const shootout = match.period === profile.shootout;
  const live = match.status === "live" && started;
  return {
    scoring: live && !shootout,
    cards: started && !closed && match.sport === "football",
    substitutions: started && !closed && !shootout,
    shootout: live && shootout,
    clock: live && !shootout,
    addedTime: live && !shootout && match.sport === "football",
  };
}
