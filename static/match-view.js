// One match kept live in the DOM: the match page (timeline), the embed card (last event line)
// and the console's view of the match it is scoring.
import {
  eventItem, eventTitle, eventDetail, markRetracted, paintMatch, flash, scoreSentence,
  minuteLabel, withFrame,
} from "./render.js";
import { announce, toast, systemNotify } from "./notify.js";

const TIMELINE_LIMIT = 200;   // the same tail a snapshot carries

/** One match: the match page (with timeline) or the embed card (with the last event line). */
export class MatchView {
  /** initial: {match: <match view>, events: [...]}; alerts: toasts and system notifications. */
  constructor(root, initial, {
    timeline = root.querySelector(".timeline"), alerts = root.dataset.live !== "embed",
  } = {}) {
    this.root = root;
    this.alerts = alerts;
    this.match = { ...initial.match, retracted: new Set(initial.match.retracted || []) };
    this.events = new Map(initial.events.map((ev) => [ev.seq, ev]));
    this.timeline = timeline;
    this.emptyNote = root.querySelector(".timeline-empty");
    this.lastLine = root.querySelector(".last-event");
    this.lookup = (seq) => this.events.get(seq);
  }

  applySnapshot(msg) {
    const before = this.match.score;
    this.match = { ...msg.match, retracted: new Set(msg.match.retracted || []) };
    this.events = new Map((msg.events || []).map((ev) => [ev.seq, ev]));
    paintMatch(this.root, this.match);
    if (this.timeline) {
      const items = [...this.events.values()].sort((a, b) => b.seq - a.seq)
        .map((ev) => this._item(ev));
      this.timeline.replaceChildren(...items);
    }
    this._paintLast();
    this._scoreChanged(before);
  }

  applyEvent(msg) {
    const ev = msg.event;
    const before = this.match.score;
    this.match = withFrame(this.match, msg);
    this.events.set(ev.seq, ev);
    if (ev.type === "retract") this._retract(ev.target);
    paintMatch(this.root, this.match);
    if (this.timeline) {
      this.timeline.prepend(this._item(ev));
      while (this.timeline.children.length > TIMELINE_LIMIT) this.timeline.lastElementChild.remove();
    }
    this._paintLast();
    this._scoreChanged(before);
    this._alert(ev);
  }

  _item(ev) {
    return eventItem(ev, this.match, {
      retracted: this.match.retracted.has(ev.seq), lookup: this.lookup,
    });
  }

  _retract(seq) {
    this.match.retracted.add(seq);
    const li = this.timeline && this.timeline.querySelector(`li[data-seq="${Number(seq)}"]`);
    if (li) markRetracted(li, true);
  }

  _paintLast() {
    if (this.emptyNote) this.emptyNote.hidden = this.events.size > 0;
    if (!this.lastLine) return;
    const last = [...this.events.values()]
      .filter((ev) => !["retract", "notification"].includes(ev.type)
        && !this.match.retracted.has(ev.seq))
      .sort((a, b) => b.seq - a.seq)[0];
    this.lastLine.textContent = last
      ? `${minuteLabel(last) ? `${minuteLabel(last)} ` : ""}${eventTitle(last, this.match)} ${eventDetail(last, this.match)}`.trim()
      : "";
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
      title = `${eventTitle(ev, this.match)}${ev.minute != null ? ` ${ev.minute}'` : ""}`;
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
