// Kickoff times in the viewer's own time zone and language. The server renders each one in UTC
// (scoreboard/web/pages/labels.py) for a page without JavaScript; localizeTimes() rewrites
// every <time data-format> from its datetime attribute: "16:00", "Tomorrow", "18 Dec\n2022",
// "Sun 18 Dec 2022, 16:00", a day heading "Saturday 29 November", with the full date, time and
// zone in its title.

const LONG = {
  weekday: "long", day: "numeric", month: "long", year: "numeric", timeZoneName: "short",
};

/** "16:05"/"04:00" where clocks run to 24 (two-digit hours), "4:05 PM" where they do not. */
function clockOptions(locale) {
  const { hourCycle } = new Intl.DateTimeFormat(locale, { hour: "numeric" }).resolvedOptions();
  const twentyFour = hourCycle === "h23" || hourCycle === "h24";
  return { hour: twentyFour ? "2-digit" : "numeric", minute: "2-digit" };
}

/** Whole calendar days from `now` to `date` in the local time zone (-1 yesterday, 1 tomorrow). */
function calendarDays(date, now) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((midnight(date) - midnight(now)) / 86400000);
}

function capitalized(text) {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** "Today" / "Tomorrow" / "Yesterday" in the viewer's language, or null further away. */
function relativeDay(date, now, locale) {
  const days = calendarDays(date, now);
  if (Math.abs(days) > 1) return null;
  return capitalized(new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(days, "day"));
}

/**
 * A kickoff instant as a page shows it. form: "time" ("16:00"), "day" (a fixture row's date:
 * "Today", "28 Nov", or "18 Dec" and the year on a second line when it is another year) or
 * "datetime" (the match page: "Today, 16:00", "Sun 18 Dec 2022, 16:00") or "heading" (a day of
 * fixtures: "Today", "Saturday 29 November"). null if unreadable.
 */
export function formatKickoff(iso, form, { now = new Date(), locale } = {}) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return null;
  const time = new Intl.DateTimeFormat(locale, clockOptions(locale)).format(date);
  if (form === "time") return time;
  const relative = relativeDay(date, now, locale);
  const sameYear = date.getFullYear() === now.getFullYear();
  if (form === "day") {
    if (relative) return relative;
    const dayMonth = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" }).format(date);
    return sameYear ? dayMonth : `${dayMonth}\n${date.getFullYear()}`;
  }
  if (form === "heading") {
    return relative || new Intl.DateTimeFormat(locale, {
      weekday: "long", day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }),
    }).format(date);
  }
  const day = relative || new Intl.DateTimeFormat(locale, {
    weekday: "short", day: "numeric", month: "short", ...(sameYear ? {} : { year: "numeric" }),
  }).format(date);
  return `${day}, ${time}`;
}

/** Rewrite every <time data-format> under `root` in local time; its title gets the full form. */
export function localizeTimes(root = document, options = {}) {
  for (const el of root.querySelectorAll("time[data-format]")) {
    const iso = el.getAttribute("datetime");
    const text = formatKickoff(iso, el.dataset.format, options);
    if (text === null) continue;
    el.textContent = text;
    if (el.dataset.format === "heading") continue;   // a day, not an instant
    el.title = new Intl.DateTimeFormat(options.locale, { ...LONG, ...clockOptions(options.locale) })
      .format(new Date(iso));
  }
}
