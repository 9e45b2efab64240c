// One match kept live in the DOM: the match page (timeline, scorers, shootout, quarters), the
// embed card (last event or result line) and the console's view of the match it is scoring.
// Each part is painted only where the root has its element, so every page opts in by markup.
import {
  eventItem, eventTitle, eventDetail, markRetracted, paintMatch, flash, scoreSentence,
  minuteLabel, withFrame, pageTitle, isClosed, heroClock, HIDDEN_TYPES, paintWatching,
} from "./render.js";
import { paintScorers, paintShootout, Linescore } from "./match-facts.js";
import { announce, toast, systemNotify } from "./notify.js";
import { everySecond, serverNow } from "./ticker.js";

const TIMELINE_LIMIT = 200;   // the same tail a snapshot carries
const TITLE_SUFFIX = { match: " · Scoreboard", embed: "" };

/** "Kick-off in 2 d 4 h", "in 3:12:09", "in 12:09"; the wait once the time has passed. */
export function countdownText(startsAtIso, nowMs, sport = "football") {
  const starts = Date.parse(startsAtIso);
  if (Number.isNaN(starts)) return "";
  const what = sport === "basketball" ? "Tip-off" : "Kick-off";
  const left = Math.floor((starts - nowMs) / 1000);
  if (left <= 0) return `Waiting for ${what.toLowerCase()}`;
  const days = Math.floor(left / 86400);
  const hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = String(left % 60).padStart(2, "0");
  if (days) return `${what} in ${days} d ${hours} h`;
  if (hours) return `${what} in ${hours}:${String(minutes).padStart(2, "0")}:${seconds}`;
  return `${what} in ${minutes}:${seconds}`;
}

/** One match: the match page (with timeline) or the embed card (with the last event line). */
export class MatchView {
  /** initial: {match: <match view>, events: [...], goals?, linescore?}; alerts: toasts and
   * system notifications. */
  constructor(root, initial, {
    timeline = root.querySelector(".timeline"), alerts = root.dataset.live !== "embed",
  } = {}) {
    this.root = root;
    this.alerts = alerts;
    this.match = { ...initial.match, retracted: new Set(initial.match.retracted || []) };
    this.events = new Map(initial.events.map((ev) => [ev.seq, ev]));
    this.goals = new Map((initial.goals || initial.events.filter((ev) => ev.type === "goal"
      && !this.match.retracted.has(ev.seq))).map((ev) => [ev.seq, ev]));
    this.timeline = timeline;
    this.emptyNote = root.querySelector(".timeline-empty");
    this.lastLine = root.querySelector(".last-event");
    this.clock = root.querySelector(".clock");
    this.added = root.querySelector(".added-time");
    this.countdown = root.querySelector(".countdown");
    this.result = root.querySelector(".result");
    this.shootout = root.querySelector(".shootout");
    const linescore = root.querySelector(".linescore");
    this.linescore = linescore ? new Linescore(linescore, initial.linescore) : null;
    this.titleSuffix = TITLE_SUFFIX[root.dataset.live];
    this.lookup = (seq) => this.events.get(seq);
    this.stopTicking = null;
    this._paintLive();
  }

  applySnapshot(msg) {
    const before = this.match.score;
    this.match = { ...msg.match, retracted: new Set(msg.match.retracted || []) };
    this.events = new Map((msg.events || []).map((ev) => [ev.seq, ev]));
    // A snapshot's tail covers what a fan sees; goals older than it stay as counted.
    for (const ev of this.events.values()) if (ev.type === "goal") this.goals.set(ev.seq, ev);
    for (const seq of this.match.retracted) this.goals.delete(seq);
    if (this.linescore) this.linescore.add(before, this.match);
    paintMatch(this.root, this.match, serverNow());
    if (this.timeline) {
      let period = 0;
      const items = [];
      for (const ev of [...this.events.values()].sort((a, b) => a.seq - b.seq)) {
        if (ev.type === "period_start") period = ev.period || period + 1;
        if (!HIDDEN_TYPES.has(ev.type)) items.push(this._item(ev, period));
      }
      this.timeline.replaceChildren(...items.reverse());
    }
    this._paintFacts();
    this._paintLast();
    this._scoreChanged(before);
  }

  applyEvent(msg) {
    const ev = msg.event;
    const before = this.match.score;
    this.match = withFrame(this.match, msg);
    this.events.set(ev.seq, ev);
    if (ev.type === "goal") this.goals.set(ev.seq, ev);
    if (ev.type === "retract") this._retract(ev.target);
    if (this.linescore) this.linescore.add(before, this.match);
    paintMatch(this.root, this.match, serverNow());
    if (this.timeline && !HIDDEN_TYPES.has(ev.type)) {
      this.timeline.prepend(this._item(ev, this.match.period));
      while (this.timeline.children.length > TIMELINE_LIMIT) this.timeline.lastElementChild.remove();
    }
    this._paintFacts(ev.type, before);
    this._paintLast();
    this._scoreChanged(before);
    this._alert(ev);
  }

  /** A `watching` message: how many fans follow the match live now. */
  applyWatching(msg) {
    this.match.watching = msg.count;
    paintWatching(this.root, this.match);
  }

  _item(ev, period) {
    return eventItem(ev, this.match, {
      retracted: this.match.retracted.has(ev.seq), lookup: this.lookup, period,
    });
  }

  _retract(seq) {
    this.match.retracted.add(seq);
    this.goals.delete(seq);
    const li = this.timeline && this.timeline.querySelector(`li[data-seq="${Number(seq)}"]`);
    if (li) markRetracted(li, true);
  }

  /**
   * Everything that follows the match state besides score and timeline. A frame (of type
   * `kind`, after the score `before`) repaints only the parts it can change: every fan's
   * browser does this work for every event.
   */
  _paintFacts(kind, before) {
    const all = kind === undefined;
    const structural = all || kind === "retract" || kind === "period_start" || kind === "period_end"
      || kind === "status";
    if (all || kind === "goal" || kind === "retract") paintScorers(this.root, this.goals.values());
    if (structural || kind === "shootout_kick") paintShootout(this.shootout, this.match);
    if (this.linescore && (structural || before.home !== this.match.score.home
      || before.away !== this.match.score.away)) this.linescore.paint(this.match);
    if (this.result) {
      this.result.textContent = this.match.result || "";
      this.result.hidden = !this.match.result;
    }
    this._paintLive();
  }

  /** The ticking parts (minute, countdown, tab title) and what only a live match shows. */
  _paintLive() {
    const closed = isClosed(this.match);
    paintWatching(this.root, this.match);
    if (this.root.dataset.live === "match") {
      // No live badge and no "Notify me" once there is nothing live to follow.
      document.body.classList.toggle("match-closed", closed);
      if (closed) this.root.querySelector(".notify-toggle")?.remove();
    }
    const ticks = this.match.status === "live" || (this.match.status === "scheduled" && this.match.starts_at);
    if (ticks && !this.stopTicking) {
      this.stopTicking = everySecond((now) => this._tick(now));
    } else {
      if (!ticks && this.stopTicking) {
        this.stopTicking();
        this.stopTicking = null;
      }
      this._tick(serverNow());
    }
  }

  _tick(now) {
    const match = this.match;
    const clock = heroClock(match, now);
    if (this.clock) {
      if (this.clock.textContent !== (clock || "")) this.clock.textContent = clock || "";
      this.clock.hidden = !clock;
    }
    if (this.added) {
      const added = clock && match.added_time ? `+${match.added_time}` : "";
      if (this.added.textContent !== added) this.added.textContent = added;
      this.added.hidden = !added;
    }
    if (this.countdown) {
      const text = match.status === "scheduled" && match.starts_at
        ? countdownText(match.starts_at, now, match.sport) : "";
      if (this.countdown.textContent !== text) this.countdown.textContent = text;
      this.countdown.hidden = !text;
    }
    if (this.titleSuffix !== undefined) {
      const title = pageTitle(match, now) + this.titleSuffix;
      if (document.title !== title) document.title = title;
    }
  }

  _paintLast() {
    if (this.emptyNote) {
      this.emptyNote.hidden = [...this.events.values()].some((ev) => !HIDDEN_TYPES.has(ev.type));
    }
    if (!this.lastLine) return;
    const last = [...this.events.values()]
      .filter((ev) => !["retract", "notification", ...HIDDEN_TYPES].includes(ev.type)
        && !this.match.retracted.has(ev.seq))
      .sort((a, b) => b.seq - a.seq)[0];
    const period = last && last.type === "period_end" ? this.match.period : undefined;
    this.lastLine.textContent = last
      ? [minuteLabel(last), eventTitle(last, this.match, period), eventDetail(last, this.match)]
        .filter(Boolean).join(" ")
      : "";
    this.lastLine.hidden = Boolean(this.result && this.match.result);
  }

  _scoreChanged(before) {
    const now = this.match.score;
    if (before.home === now.home && before.away === now.away) return;
    if (before.home !== now.home) flash(this.root.querySelector(".score-home"));
    if (before.away !== now.away) flash(this.root.querySelector(".score-away"));
    announce(`Score update: ${scoreSentence(this.match)}`);
  }

  _alert(ev) {
    if (!this.alerts) return;
    let title;
    let body;
    let level = "info";
    if (ev.type === "goal" || ev.type === "points") {
      const minute = minuteLabel(ev);
      title = `${eventTitle(ev, this.match)}${minute ? ` ${minute}` : ""}`;
      body = [eventDetail(ev, this.match), scoreSentence(this.match)].filter(Boolean).join(" · ");
      level = "goal";
    } else if (ev.type === "notification") {
      title = ev.title || "Notification";
      body = ev.text || "";
      level = ev.level || "info";
    } else if (ev.type === "retract" && ["goal", "points"].includes(this.lookup(ev.target)?.type)) {
      title = "Score corrected";
      body = `${eventDetail(ev, this.match, this.lookup)} · ${scoreSentence(this.match)}`;
      level = "important";
    } else {
      return;
    }
    toast(title, body, level);
    systemNotify(title, body, `${this.match.id}:${ev.seq}`);
  }
}
