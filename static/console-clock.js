// Reading what a scorekeeper types to correct the clock, as the clock reads on the ground:
// football "67" (the 67th minute), "45+2", "44:30"; basketball the time left in the quarter,
// "4:12" or "4". The result is `elapsed`, seconds into the match, for a `clock` `set` event.
import { clockReading, periodInfo } from "./match-clock.js";

const MINUTE_SECONDS = /^(\d{1,3}):([0-5]\d)$/;
const MINUTE = /^(\d{1,3})(?:\s*\+\s*(\d{1,2}))?'?$/;

/** {elapsed} for the typed reading, or {error} in words; `match` is the match view. */
export function typedClock(match, typed) {
  const text = (typed || "").trim();
  const info = periodInfo(match.periods, match.period);
  if (match.countdown) {
    const left = MINUTE_SECONDS.exec(text) || /^(\d{1,2})$/.exec(text);
    if (!left || !info) return { error: "Type the time left in the period, e.g. 4:12." };
    const seconds = Number(left[1]) * 60 + Number(left[2] || 0);
    if (seconds > info.end - info.start) {
      return { error: `${info.name} is only ${(info.end - info.start) / 60} minutes long.` };
    }
    return { elapsed: info.end - seconds };
  }
  const exact = MINUTE_SECONDS.exec(text);
  if (exact) return { elapsed: Number(exact[1]) * 60 + Number(exact[2]) };
  const minute = MINUTE.exec(text);
  if (!minute) return { error: "Type the minute (67, 45+2) or the clock (44:30)." };
  const whole = Number(minute[1]) + Number(minute[2] || 0);
  if (whole < 1) return { error: "The first minute is 1." };
  return { elapsed: (whole - 1) * 60 };
}

/** The clock now as a scorekeeper would type it: "44:30", basketball "4:12" left. */
export function clockText(match, serverNowMs) {
  const elapsed = clockReading(match.clock, serverNowMs);
  const info = periodInfo(match.periods, match.period);
  const seconds = Math.floor(match.countdown && info ? Math.max(0, info.end - elapsed) : elapsed);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
