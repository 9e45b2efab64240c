// The console's outbox: every press becomes an entry here first, kept in localStorage, and is
// sent in the order pressed, one at a time. A send whose answer never came (no network, a 5xx)
// is retried with the very same body, so the same event id: the server answers a repeat with
// the event it already has, and a press never counts twice. A reload or a crash loses nothing.
import { backoffDelay } from "./live.js";
import { ApiError, postJson } from "./console-api.js";

const STORAGE = "scoreboard.outbox";
// First retry soon (a blip), then back off to at most 8 s: a scorekeeper offline for minutes
// is sent within seconds of the connection coming back (the `online` event wakes it at once).
const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 8000;
const RETRY_FLOOR_MS = 250;  // full jitter may draw 0: never spin on a dead network

/**
 * entry: {matchId, body (with its `id`), label, queuedAt}.
 * Callbacks: onChange(entries) after any change; onSent(entry, {status, data});
 * onRejected(entry, ApiError) for a 4xx (the entry is dropped: resending cannot help);
 * onWaiting(entry, ApiError, retryInMs) while a send is being retried; onBlocked(ApiError)
 * when the key is refused (the queue waits for a new key, nothing is dropped).
 */
export class Outbox {
  constructor({ key, storage = localStorage, onChange = () => {}, onSent = () => {},
                onRejected = () => {}, onWaiting = () => {}, onBlocked = () => {} }) {
    this.key = key;
    this.storage = storage;
    this.callbacks = { onChange, onSent, onRejected, onWaiting, onBlocked };
    this.sending = false;
    this.blocked = false;
    this.attempt = 0;
    this.timer = 0;
    this.wake = null;       // resolves the current wait early (back online, new key)
    addEventListener("online", () => this.retryNow());
    // Another tab of this console queued or sent something: show the same count.
    addEventListener("storage", (e) => { if (e.key === STORAGE) onChange(this.entries()); });
  }

  /** What is waiting, oldest first (the one being sent included). */
  entries() {
    try {
      const stored = JSON.parse(this.storage.getItem(STORAGE) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch {
      return [];
    }
  }

  _save(entries) {
    this.storage.setItem(STORAGE, JSON.stringify(entries));
    this.callbacks.onChange(entries);
  }

  /** Queue one press (its body already carries its event id) and start sending. */
  add(matchId, body, label) {
    this._save([...this.entries(), { matchId, body, label, queuedAt: Date.now() }]);
    this.flush();
  }

  /** Send now instead of waiting for the next retry (back online, a new key). */
  retryNow() {
    this.blocked = false;
    this.attempt = 0;
    if (this.wake) this.wake();
    else this.flush();
  }

  async flush() {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let entry = this.entries()[0]; entry && !this.blocked; entry = this.entries()[0]) {
        await this._sendOne(entry);
      }
    } finally {
      this.sending = false;
    }
  }

  async _sendOne(entry) {
    try {
      const result = await postJson(
        `/api/matches/${encodeURIComponent(entry.matchId)}/events`, entry.body, this.key(),
      );
      this._drop(entry);
      this.attempt = 0;
      this.callbacks.onSent(entry, result);
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, { message: String(err) }, true);
      if (error.code === "unauthorized" || error.code === "forbidden") {
        this.blocked = true;  // keep everything: a valid key sends it all, in order
        this.callbacks.onBlocked(error);
      } else if (error.network || error.code === "rate_limited") {
        this.attempt += 1;
        const delay = RETRY_FLOOR_MS + backoffDelay(this.attempt, RETRY_BASE_MS, RETRY_CAP_MS);
        this.callbacks.onWaiting(entry, error, delay);
        await this._wait(delay);
      } else {
        this._drop(entry);
        this.callbacks.onRejected(entry, error);
      }
    }
  }

  _drop(entry) {
    this._save(this.entries().filter((e) => e.body.id !== entry.body.id));
  }

  _wait(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.timer);
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.timer = setTimeout(done, ms);
    });
  }
}
