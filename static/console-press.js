// One press is one event, however fast a person double-clicks: the second click of a double
// tap (60-250 ms after the first, up to ~400 ms on a bumpy bus) is the same press. Presses are
// grouped by what they do, not by the element: after "Kick off" the same spot shows "Half
// time", and a double click must not end the half it just started.

// Longer than the slowest double tap, shorter than a scorekeeper's two deliberate presses of
// one button (two goals within half a second do not happen).
export const SAME_PRESS_MS = 500;

export class PressGuard {
  constructor(windowMs = SAME_PRESS_MS, now = () => performance.now()) {
    this.windowMs = windowMs;
    this.now = now;
    this.last = new Map();  // group -> time of its last click, counted or not
  }

  /** True when this press counts; false for a click within the window of the group's last
   * click (a burst of clicks, however long, is one press). `at`: the click's own time
   * (event.timeStamp, when the finger touched), not when a busy page got round to it. */
  accept(group, at = this.now()) {
    const now = at;
    const last = this.last.get(group);
    this.last.set(group, now);
    return last === undefined || now - last >= this.windowMs;
  }
}

/** The group a button's press belongs to: its data-group, else its action and team. */
export function pressGroup(button) {
  const { group, action, team } = button.dataset;
  return group || [action, team].filter(Boolean).join(":");
}
