// Server time and one shared second hand for the page. Every live minute, countdown and tab
// title on a page redraws from one timer (none at all while nothing ticks), on the server's
// clock: the offset comes from the page's render instant (`data-now`), then from each live
// connection's `subscribed.now`, so a fan whose own clock is wrong still sees the right minute.
import { serverOffset } from "./match-clock.js";

let offsetMs = 0;
const hands = new Set();
let timer = 0;

/** ms since the epoch on the server's clock. */
export const serverNow = () => Date.now() + offsetMs;

/** Take the server's time from an ISO instant received just now. */
export function setServerTime(iso, receivedAtMs = Date.now()) {
  const offset = serverOffset(iso, receivedAtMs);
  if (!Number.isFinite(offset)) return;
  offsetMs = offset;
  tick();
}

/** Call `draw(serverNowMs)` now and on every second from now on; returns a stop function. */
export function everySecond(draw) {
  hands.add(draw);
  draw(serverNow());
  schedule();
  return () => hands.delete(draw);
}

function tick() {
  const now = serverNow();
  for (const draw of hands) draw(now);
}

function schedule() {
  if (timer || !hands.size) return;
  // Just after the next whole second of server time: a label is never more than a second late.
  timer = setTimeout(() => {
    timer = 0;
    tick();
    schedule();
  }, 1005 - (serverNow() % 1000));
}

// A tab coming back to the front redraws at once, not at the next (throttled) timer.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") tick();
});
