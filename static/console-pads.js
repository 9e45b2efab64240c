// The console's buttons, built from the match: the period buttons the sport names
// (console-flow.js), one "Goal" per team (basketball: +1 / +2 / +3), shootout kicks and cards.
// A pad is rebuilt only when what it shows changes, never under a finger for nothing.
import { flowActions } from "./console-flow.js";

function button(action, text, { team, cls = "big", group, data = {} } = {}) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = cls;
  el.dataset.action = action;
  if (team) el.dataset.team = team;
  if (group) el.dataset.group = group;
  for (const [name, value] of Object.entries(data)) el.dataset[name] = value;
  el.append(text);
  return el;
}

function withTeam(text, name) {
  const teamEl = document.createElement("span");
  teamEl.className = "team";
  teamEl.textContent = name;
  const frag = document.createDocumentFragment();
  const word = document.createElement("span");
  word.className = "btn-word";
  word.textContent = text;
  frag.append(word, teamEl);
  return frag;
}

/** Replace `root`'s buttons when `signature` differs from the last one painted there. */
function repaint(root, signature, build) {
  if (root.dataset.signature === signature) return false;
  root.dataset.signature = signature;
  root.replaceChildren(...build());
  return true;
}

/** The period buttons: "Kick off" before the match, "Half time" in the 1st half, ... */
export function paintFlow(root, match) {
  const actions = flowActions(match);
  const signature = JSON.stringify(actions.map((a) => [a.label, a.hint, a.body]));
  return repaint(root, signature, () => actions.map((action, index) => {
    const el = button("flow", action.label, {
      // One group for every period button: a double click on "Kick off" must not also press
      // the "Half time" that takes its place.
      group: "flow", cls: `big flow-btn${index === 0 ? " primary" : ""}${action.finish ? " finish" : ""}`,
      data: { body: JSON.stringify(action.body), label: action.label },
    });
    if (action.hint) {
      const hint = document.createElement("small");
      hint.textContent = action.hint;
      el.append(hint);
    }
    return el;
  }));
}

/** Goals (football) or points (basketball), a button per team and value. */
export function paintScorePad(root, match) {
  const basketball = match.sport === "basketball";
  const signature = JSON.stringify([match.sport, match.home, match.away]);
  return repaint(root, signature, () => {
    root.classList.toggle("points", basketball);
    if (!basketball) {
      return ["home", "away"].map((side) => button("goal", withTeam("Goal", match[side]), { team: side, cls: `big goal ${side}` }));
    }
    return ["home", "away"].flatMap((side) => [1, 2, 3].map((value) => button(
      "points", withTeam(`+${value}`, match[side]),
      { team: side, cls: `big goal points ${side}`, group: `points:${side}:${value}`, data: { value: String(value) } },
    )));
  });
}

/** Shootout kicks: scored / missed, home's in the left column and away's in the right. */
export function paintKickPad(root, match) {
  const signature = JSON.stringify([match.home, match.away]);
  return repaint(root, signature, () => [true, false].flatMap((scored) => ["home", "away"].map((side) => button(
    "kick", withTeam(scored ? "Scored" : "Missed", match[side]),
    { team: side, cls: `big kick-btn ${scored ? "kick-scored" : "kick-missed"} ${side}`, group: `kick:${side}`, data: { scored: String(scored) } },
  ))));
}

/** Cards: yellow / red, home's in the left column and away's in the right. */
export function paintCardPad(root, match) {
  const signature = JSON.stringify([match.home, match.away]);
  return repaint(root, signature, () => ["yellow", "red"].flatMap((color) => ["home", "away"].map((side) => button(
    "card", withTeam(color === "red" ? "Red" : "Yellow", match[side]),
    { team: side, cls: `big card-btn card-${color} ${side}`, group: `card:${side}:${color}`, data: { color } },
  ))));
}
