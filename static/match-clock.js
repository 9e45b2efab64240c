// The match clock as the server folds it (docs/architecture.md, "The clock model"): read it
// at any instant and label it as fans read it, with the same words and minutes as the
// server's `minute_label` and `scoreboard.domain.clock_label`. Pure functions of a match view
// (or an event frame with the view's `periods` and `countdown`); no DOM, no timers.

/** Seconds into the match at `serverNowMs` (ms since the epoch, on the server's clock). */
export function clockReading(clock, serverNowMs) {
  if (!clock) return 0;
  if (!clock.running || !clock.at) return clock.elapsed;
  const since = Math.max(0, (serverNowMs - Date.parse(clock.at)) / 1000);
  return Math.round((clock.elapsed + since) * 1000) / 1000;  // the server's ms precision
}

/** ms to add to Date.now() to be on the server's clock, from `subscribed.now`. */
export function serverOffset(serverNowIso, receivedAtMs = Date.now()) {
  return Date.parse(serverNowIso) - receivedAtMs;
}

/**
 * The `periods` entry of `period`, or undefined. A view lists basketball's periods up to the
 * next overtime; a page that has followed a match into a later one by event frames (which do
 * not repeat `periods`) gets it as one more overtime of the last listed length: "2OT".
 */
export function periodInfo(periods, period) {
  const list = periods || [];
  const known = list.find((p) => p.period === period);
  if (known || !list.length) return known;
  const last = list[list.length - 1];
  const firstOvertime = list.find((p) => /OT$/.test(p.name));
  if (!firstOvertime || period <= last.period) return undefined;
  const length = last.end - last.start;
  const start = last.end + (period - last.period - 1) * length;
  const name = `${period - firstOvertime.period + 1}OT`;
  return { period, name, start, end: start + length, break: `End of ${name}` };
}

/** A football minute as fans read it: "23'", or "45+2'" past its period's end. */
export function minuteLabel(periods, period, minute) {
  const info = periodInfo(periods, period);
  if (info && info.end > info.start) {
    const end = Math.floor(info.end / 60);
    if (minute > end) return `${end}+${minute - end}'`;
  }
  return `${minute}'`;
}

/** The clock of a live match at `serverNowMs`: "67'", "45+3'", "Q3 4:12"; null when no
 * period is being played (before kick-off, in a break, in a shootout, at the end). */
export function clockLabel(view, serverNowMs) {
  if (view.status !== "live" || !view.clock || !view.clock.at) return null;
  const info = periodInfo(view.periods, view.period);
  if (!info || info.end === info.start) return null;  // a shootout has no clock
  const elapsed = clockReading(view.clock, serverNowMs);
  if (view.countdown) {
    const left = Math.floor(Math.max(0, Math.min(info.end - elapsed, info.end - info.start)));
    return `${info.name} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  }
  return minuteLabel(view.periods, view.period, Math.floor(elapsed / 60) + 1);
}
