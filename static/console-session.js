// The console's setup: the API key (this tab's sessionStorage, never a URL), the list of
// matches, creating one with its fixture fields, and the live view of the match being scored
// (a viewer token for a private one: WebSocket and EventSource cannot send a header).
import { LiveFeed, requestedTransport } from "./live.js";
import { MatchView } from "./match-view.js";
import { connectionBadge } from "./notify.js";
import { setServerTime } from "./ticker.js";
import { formatKickoff } from "./time.js";
import { matchContext } from "./render.js";
import { explain, getJson, postJson } from "./console-api.js";
import { matchBody, zoneNote } from "./console-create.js";

const KEY_STORAGE = "scoreboard.apiKey";
const MATCH_STORAGE = "scoreboard.consoleMatch";
// A viewer token is renewed a little before it expires, and at once when the server refuses it.
const TOKEN_TTL_S = 3600;
const TOKEN_RENEW_AT = 0.8;

const $ = (id) => document.getElementById(id);

export const apiKey = () => sessionStorage.getItem(KEY_STORAGE) || "";

/**
 * say(text, kind): the console's message line. onView(view): a snapshot made a new MatchView.
 * onChange(): an event frame changed the view. onKey(): a key was entered.
 */
export class Session {
  constructor({ say, onView, onChange, onKey }) {
    Object.assign(this, { say, onView, onChange, onKey });
    this.view = null;
    this.feed = null;
    this.listed = new Map();        // match id -> match view from the last list
    this.viewerTokens = new Map();  // match id -> {token, renewAt (ms)}
    this.matchRoot = $("match");
    this.select = $("match-select");
    this._wireKey();
    this._wireMatches();
    $("kickoff-zone").textContent = zoneNote();
  }

  start() {
    this.showKeyState();
    if (apiKey()) this.loadMatches();
  }

  // -- API key -------------------------------------------------------------------------------

  showKeyState() {
    const hasKey = Boolean(apiKey());
    $("key-form").hidden = hasKey;
    $("key-saved").hidden = !hasKey;
    if ($("dev-key-hint")) $("dev-key-hint").hidden = hasKey;
    $("match-panel").hidden = !hasKey;
    if (!hasKey) $("control-panel").hidden = true;
  }

  /** The key was refused: ask for it again (what is queued stays queued). */
  keyRefused(err) {
    this.say(explain(err), "error");
    sessionStorage.removeItem(KEY_STORAGE);
    this.showKeyState();
    $("api-key").focus();
  }

  _useKey(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
    this.showKeyState();
    this.loadMatches();
    this.onKey();
  }

  _wireKey() {
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("api-key");
      const key = input.value.trim();
      if (!key) return;
      input.value = "";
      this._useKey(key);
    });
    // Only on a local service running with the public built-in key (make run): console.html.
    $("use-dev-key")?.addEventListener("click", (e) => this._useKey(e.currentTarget.dataset.key));
    $("forget-key").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORAGE);
      this.viewerTokens.clear();
      this.showKeyState();
      this.say("Key forgotten.");
      $("api-key").focus();
    });
  }

  // -- matches -------------------------------------------------------------------------------

  _wireMatches() {
    this.select.addEventListener("change", () => { if (this.select.value) this.follow(this.select.value); });
    $("reload-matches").addEventListener("click", () => this.loadMatches(this.select.value));
    $("create-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this._create(e.currentTarget);
    });
    // The default length of a period, as the sport plays it (FIBA quarters: 10').
    $("new-sport").addEventListener("change", (e) => {
      $("new-period-minutes").placeholder = e.currentTarget.value === "basketball" ? "10" : "45";
    });
  }

  async loadMatches(selectId = sessionStorage.getItem(MATCH_STORAGE)) {
    try {
      let body;
      try {  // as this scorekeeper: the list then includes the private matches the key may score
        body = await getJson("/api/matches", apiKey());
      } catch (err) {
        if (err.code !== "unauthorized") throw err;
        this.say(explain(err), "error");  // tell at once; the public list still loads
        body = await getJson("/api/matches");
      }
      const matches = body.matches || [];
      this.listed = new Map(matches.map((m) => [m.id, m]));
      const live = (m) => (m.status === "live" || m.status === "half_time" ? 0 : m.status === "scheduled" ? 1 : 2);
      const ordered = [...matches].sort((a, b) => live(a) - live(b));
      this.select.replaceChildren(new Option("— choose a match —", ""), ...ordered.map((m) => new Option(
        `${m.home} v ${m.away} · ${m.status_label || m.status}${m.competition ? ` · ${m.competition}` : ""} (${m.id})`, m.id,
      )));
      const competitions = [...new Set(matches.map((m) => m.competition).filter(Boolean))];
      $("known-competitions").replaceChildren(...competitions.map((c) => new Option(c)));
      if (selectId && this.listed.has(selectId)) {
        this.select.value = selectId;
        this.follow(selectId);
      }
    } catch (err) {
      this.say(explain(err), "error");
    }
  }

  async _create(form) {
    const submit = form.querySelector("button[type=submit]");
    const body = matchBody(new FormData(form));
    if (body.home && body.home.toLowerCase() === (body.away || "").toLowerCase()) {
      this.say("Home and away are the same team: check the names.", "error");
      $("new-away").focus();
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await postJson("/api/matches", body, apiKey());
      form.reset();
      $("create-details").open = false;
      this.say(`Match ${data.home} v ${data.away} created.`, "ok");
      await this.loadMatches(data.id);
    } catch (err) {
      if (err.code === "unauthorized") this.keyRefused(err);
      else this.say(`The match was not created. ${explain(err)}`, "error");
    } finally {
      submit.disabled = false;
    }
  }

  // -- the live view ---------------------------------------------------------------------------

  follow(matchId) {
    sessionStorage.setItem(MATCH_STORAGE, matchId);
    $("control-panel").hidden = false;
    const root = this.matchRoot;
    root.dataset.match = matchId;
    root.querySelector(".view-link").href = `/matches/${encodeURIComponent(matchId)}`;
    root.querySelector(".embed-guide-link").href = `/embed?match=${encodeURIComponent(matchId)}`;
    this.view = null;
    $("timeline").replaceChildren();
    if (this.feed) {
      this.feed.cursors.clear();
      this.feed.follow([matchId]);
      return;
    }
    this.feed = new LiveFeed({
      matches: [matchId],
      transport: requestedTransport(),
      token: (options) => this._liveToken(options),
      onSubscribed: (msg) => { if (msg.now) setServerTime(msg.now); },
      onSnapshot: (msg) => {
        if (msg.match.id !== root.dataset.match) return;
        this.view = new MatchView(root, { match: msg.match, events: [] }, { timeline: $("timeline"), alerts: false });
        this.view.shootout = $("shootout");   // the shootout board sits by its kick buttons
        this.view.applySnapshot(msg);
        this._paintContext();
        this.onView(this.view);
      },
      onEvent: (msg) => {
        if (!this.view || msg.match_id !== this.view.match.id) return;
        this.view.applyEvent(msg);
        this.onChange(this.view);
      },
      onState: connectionBadge(() => this.feed),
    }).start();
  }

  _paintContext() {
    const match = this.view.match;
    const kickoff = match.starts_at ? formatKickoff(match.starts_at, "datetime") : "";
    const line = [matchContext(match), match.venue, kickoff].filter(Boolean).join(" · ");
    const el = $("match-context");
    el.textContent = line;
    el.hidden = !line;
  }

  /** The viewer token for the followed match's live feed; null for a public match. */
  async _liveToken({ renew }) {
    const matchId = this.matchRoot.dataset.match;
    if (!this.listed.get(matchId)?.private) return null;
    let held = this.viewerTokens.get(matchId);
    if (renew || !held || Date.now() >= held.renewAt) {
      const { data } = await postJson(
        `/api/matches/${encodeURIComponent(matchId)}/tokens`, { ttl: TOKEN_TTL_S }, apiKey(),
      );
      held = { token: data.token, renewAt: Date.now() + data.ttl * 1000 * TOKEN_RENEW_AT };
      this.viewerTokens.set(matchId, held);
    }
    // The fan page of a private match opens only with a token: hand one to the link too.
    const link = this.matchRoot.querySelector(".view-link");
    link.href = `/matches/${encodeURIComponent(matchId)}?token=${encodeURIComponent(held.token)}`;
    return held.token;
  }
}
