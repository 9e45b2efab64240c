// The match page's parts under the scoreline, repainted as events arrive: the scorers under
// each team, the penalty shootout kick by kick and basketball's score per period. The same
// as scoreboard/web/pages/facts.py and templates/_match_parts.html paint first: keep in step.
import { goalNote, minuteLabel } from "./render.js";
import { periodInfo } from "./match-clock.js";

/** Per side, one entry per scorer in the order of their first goal: {player: "Messi",
 * minutes: ["23' (pen.)", "108'"]}. An own goal counts for the team credited (its `team`) and
 * is marked "(o.g.)". */
export function scorers(goals) {
  const found = { home: new Map(), away: new Map() };
  for (const goal of [...goals].sort((a, b) => a.seq - b.seq)) {
    const side = found[goal.team];
    if (!side) continue;
    const player = goal.player || "";
    if (!side.has(player)) side.set(player, []);
    side.get(player).push(`${minuteLabel(goal)}${goalNote(goal)}`.trim());
  }
  const entries = (side) => [...side].map(([player, times]) => ({
    player: player || (times.some(Boolean) ? "" : "Goal"), minutes: times.filter(Boolean),
  }));
  return { home: entries(found.home), away: entries(found.away) };
}

/** "Messi 23' (pen.), 108'". */
export const scorerLine = ({ player, minutes }) => [player, minutes.join(", ")].filter(Boolean).join(" ");

/** Paint the scorers into `.scorers-home` / `.scorers-away`: a list item per scorer (the
 * match page) or one line (the embed card). */
export function paintScorers(root, goals) {
  const found = scorers(goals);
  for (const side of ["home", "away"]) {
    const box = root.querySelector(`.scorers-${side}`);
    if (!box) continue;
    if (box.tagName !== "UL") {
      box.textContent = found[side].map(scorerLine).join(", ");
      continue;
    }
    box.replaceChildren(...found[side].map(({ player, minutes }) => {
      // Each minute stays whole ("80' (pen.)"); a long list wraps between them.
      const li = document.createElement("li");
      li.append(player);
      minutes.forEach((minute, i) => li.append(i ? ", " : player ? " " : "", span("scorer-minute", minute)));
      return li;
    }));
  }
  const block = root.querySelector(".scorers");
  if (block) block.hidden = !found.home.length && !found.away.length;
}

function svgUse(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#icon-${name}`);
  svg.append(use);
  return svg;
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  if (text) el.textContent = text;
  return el;
}

const word = (kick) => (!kick ? "pending" : kick.scored ? "scored" : "missed");

function kickMark(kick) {
  const li = document.createElement("li");
  li.className = `kick ${word(kick)}`;
  if (kick) {
    li.title = `${kick.player || ""}: ${word(kick)}`;
    li.append(svgUse(`kick_${word(kick)}`));
  }
  li.append(span("sr-only", kick ? word(kick) : "to come"));
  return li;
}

function kickIcon(kick) {
  const icon = span(`kick-icon ${word(kick)}`);
  icon.setAttribute("role", "img");
  icon.setAttribute("aria-label", word(kick));
  icon.append(svgUse(`kick_${word(kick)}`));
  return icon;
}

/** The kicks paired by round: [home's nth, away's nth], either undefined if not taken. */
export function shootoutRounds(shootout) {
  const kicks = (shootout && shootout.kicks) || [];
  const home = kicks.filter((k) => k.team === "home");
  const away = kicks.filter((k) => k.team === "away");
  return Array.from({ length: Math.max(home.length, away.length) }, (_, i) => [home[i], away[i]]);
}

/** Fill the shootout panel (templates/_match_parts.html shootout_panel) from a match view:
 * five marks a side while it is on (more in sudden death), the kicks taken once it is over. */
export function paintShootout(section, match) {
  if (!section) return;
  const shootout = match.shootout;
  section.hidden = !shootout;
  if (!shootout) return;
  const rounds = shootoutRounds(shootout);
  const width = match.status === "finished" ? rounds.length : Math.max(5, rounds.length);
  for (const [index, side] of ["home", "away"].entries()) {
    const row = section.querySelector(`.so-row[data-side="${side}"]`);
    row.querySelector(".so-team").textContent = match[side];
    row.querySelector(".so-score").textContent = String(shootout[side]);
    const marks = Array.from({ length: width }, (_, i) => kickMark(rounds[i] && rounds[i][index]));
    row.querySelector(".so-kicks").replaceChildren(...marks);
  }
  section.querySelector(".so-rounds").replaceChildren(...rounds.map(([home, away], i) => {
    const li = document.createElement("li");
    const left = span("so-kick home");
    if (home) left.append(span("so-player", home.player || match.home), kickIcon(home));
    const right = span("so-kick away");
    if (away) right.append(kickIcon(away), span("so-player", away.player || match.away));
    li.append(left, span("so-n", String(i + 1)), right);
    return li;
  }));
}

/**
 * Basketball's score per period, kept from the server's first count by adding each frame's
 * change of score to the period it was played in: always adds up to the score shown.
 */
export class Linescore {
  constructor(section, initial) {
    this.section = section;
    this.points = { home: new Map(), away: new Map() };
    for (const side of ["home", "away"]) {
      for (const [period, value] of Object.entries((initial && initial[side]) || {})) {
        this.points[side].set(Number(period), value);
      }
    }
  }

  /** A frame moved the score from `before` to the view's: count it in the view's period. */
  add(before, match) {
    const period = match.period || 0;
    if (!period) return;
    for (const side of ["home", "away"]) {
      const gained = match.score[side] - before[side];
      if (gained) this.points[side].set(period, (this.points[side].get(period) || 0) + gained);
    }
  }

  paint(match) {
    if (!this.section) return;
    const shown = Math.max(4, match.period || 0);
    const periods = Array.from({ length: shown }, (_, i) => i + 1);
    const head = this.section.querySelector("thead tr");
    const corner = head.firstElementChild;
    const total = head.lastElementChild;
    head.replaceChildren(corner, ...periods.map((p) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.period = String(p);
      th.textContent = periodInfo(match.periods, p)?.name || `P${p}`;
      return th;
    }), total);
    for (const side of ["home", "away"]) {
      const row = this.section.querySelector(`tr[data-side="${side}"]`);
      const name = row.firstElementChild;
      const sum = row.lastElementChild;
      name.textContent = match[side];
      sum.textContent = String(match.score[side]);
      row.replaceChildren(name, ...periods.map((p) => {
        const td = document.createElement("td");
        td.dataset.period = String(p);
        td.textContent = p <= (match.period || 0) ? String(this.points[side].get(p) || 0) : "";
        return td;
      }), sum);
    }
  }
}
