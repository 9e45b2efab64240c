// The live connection: WebSocket first, Server-Sent Events when WebSocket cannot connect.
//
// It keeps the last seq applied per match and resumes with `since` after every drop, so a
// reconnect replays exactly what was missed; events at or below that seq are dropped, so a
// replay that overlaps what was already applied changes nothing. Each cursor carries the
// epoch of the match's log (`a:17@<epoch>`, from the page or the last snapshot): if the
// server's log is another one (it lost its data and the match was made again), the server
// answers with a fresh snapshot instead of events from a different log.

const BASE_DELAY_MS = 500;
// The cap keeps a phone that lost its signal for minutes from waiting minutes more once it is
// back; full jitter spreads a stadium of clients over the whole window after a restart.
const MAX_DELAY_MS = 10000;
// A WebSocket that never opens this many times in a row (proxy, firewall) while HTTP works
// means the network blocks it: use SSE. Once a WebSocket has opened, a failure is an outage.
const WS_FAILURES_BEFORE_SSE = 3;
// Failed connections in a row before the badge says "offline" rather than "reconnecting"
// (about ten seconds of a server that is really gone); the retries go on either way.
const OFFLINE_AFTER_FAILURES = 4;
// A restart (1012) or shutdown (1001) closes every fan at once: each waits a random
// RESTART_MIN_MS + [0, RESTART_SPREAD_MS) so thousands of reconnects arrive over seconds,
// not in one burst (the server's SSE `retry:` spreads EventSource over 1-5 s the same way).
const RESTART_MIN_MS = 250;
const RESTART_SPREAD_MS = 3000;
// After a restart close, an attempt that fails (nothing listens yet, or the new process is
// busy and answers 503) is retried after RESTART_MIN_MS + [0, RESTART_RETRY_SPREAD_MS), not
// on the slow backoff: a refused connection costs the server nothing, and every fan should be
// back within moments of the new process listening. Past RESTART_WINDOW_MS after the close
// the server is not coming back soon: the usual backoff takes over.
const RESTART_RETRY_SPREAD_MS = 1000;
const RESTART_WINDOW_MS = 30000;
const PING_INTERVAL_MS = 25000;
const MAX_SUBSCRIPTIONS = 100;   // the server's limit per connection
// No message, not even a pong, for this long: the connection is dead but was never closed
// (a phone switching networks). Close it and reconnect.
const SILENCE_LIMIT_MS = 2 * PING_INTERVAL_MS + 10000;

/** A random delay in [0, min(cap, base * 2^attempt)) ms: capped exponential, full jitter. */
export function backoffDelay(attempt, base = BASE_DELAY_MS, cap = MAX_DELAY_MS) {
  return Math.random() * Math.min(cap, base * 2 ** Math.min(attempt, 16));
}

/** The jittered wait before reconnecting after a restart (1012) or shutdown (1001) close. */
export function restartDelay(spread = RESTART_SPREAD_MS) {
  return RESTART_MIN_MS + Math.random() * spread;
}

/**
 * The wait before the next attempt after a lost connection: `code` is its close code,
 * `opened` whether it had opened, `restartedAt` when a restart close (1012, 1001, 1013) was
 * last seen (0: none), `attempt` the failures in a row. 1012 and 1001 (a restart or shutdown:
 * every fan at once) and 1013 (try again later: the server is overloaded) wait a jittered
 * restartDelay(); a failed attempt within RESTART_WINDOW_MS of such a close retries soon on the
 * restart schedule; anything else backs off.
 */
export function retryDelay(code, { restartedAt = 0, attempt = 0, base = BASE_DELAY_MS, cap = MAX_DELAY_MS,
                                   restartWindow = RESTART_WINDOW_MS, now = Date.now() } = {}) {
  if (code === 1012 || code === 1001 || code === 1013) return restartDelay();
  if (restartedAt && now - restartedAt < restartWindow) return restartDelay(RESTART_RETRY_SPREAD_MS);
  return backoffDelay(attempt, base, cap);
}

/**
 * The retry timings: the defaults, or smaller ones from the page address for tests and
 * demos (`?retry_base_ms=50&retry_cap_ms=400&offline_after=2&restart_window_ms=0`); they only
 * change how soon this one page retries and when it calls itself offline.
 */
export function retryPolicy(search = location.search) {
  const params = new URLSearchParams(search);
  const number = (name, fallback, min) => {
    const value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) ? Math.max(min, value) : fallback;
  };
  const base = number("retry_base_ms", BASE_DELAY_MS, 10);
  return {
    base,
    cap: Math.max(base, number("retry_cap_ms", MAX_DELAY_MS, 10)),
    offlineAfter: number("offline_after", OFFLINE_AFTER_FAILURES, 1),
    restartWindow: number("restart_window_ms", RESTART_WINDOW_MS, 0),
  };
}

/** The viewer token in the page address (`?token=`): a private match's page was opened with it. */
export function pageToken() {
  return new URLSearchParams(location.search).get("token");
}

/** The transport asked for in the page address (`?transport=sse|ws`), else "auto". */
export function requestedTransport() {
  const wanted = new URLSearchParams(location.search).get("transport");
  return wanted === "sse" || wanted === "ws" ? wanted : "auto";
}

export class LiveFeed {
  /**
   * matches: match ids, or ["*"] for every match.
   * cursors: {matchId: seq} already applied (from the server-rendered page).
   * epochs: {matchId: epoch} of the log those seqs belong to (the page's data-epoch).
   * onSnapshot(msg), onEvent(msg): called once per message, events in seq order per match.
 * onSubscribed(msg): the server confirmed a subscription; `msg.now` is its time (the clock).
   * onState(state, info): state is "connecting" | "live" | "reconnecting" | "offline".
   * allowGaps: apply an event even after a hole in the seqs (a list that shows only the
   *   score, which every event carries whole); otherwise a hole makes it ask again.
   * retry: {base, cap, offlineAfter} (see retryPolicy).
   * token: the viewer token for private matches, or a function ({renew}) -> token (or a
   *   promise of one) asked before every connection; renew is true when the last token was
   *   refused (close 1008: expired, or signed by a server since restarted) or never connected.
   */
  constructor({ origin = location.origin, matches, cursors = {}, epochs = {}, transport = "auto",
                allowGaps = false, retry = retryPolicy(), token = pageToken(),
                onSnapshot = () => {}, onEvent = () => {}, onState = () => {},
                onSubscribed = () => {}, onWatching = () => {} }) {
    this.origin = origin;
    this.allowGaps = allowGaps;
    this.retry = retry;
    this.token = token;
    this.liveToken = null;     // the token of the current connection
    this.renewToken = false;
    this.connecting = 0;       // bumped per connection, so a late token answer is dropped
    this.closes = [];   // the last few lost connections, {code, delayMs}, for diagnosis
    this.matches = [...matches];
    this.cursors = new Map(Object.entries(cursors).map(([id, seq]) => [id, Number(seq)]));
    this.epochs = new Map(Object.entries(epochs).filter(([, epoch]) => epoch));
    this.transport = transport === "auto" ? "ws" : transport;
    this.autoFallback = transport === "auto";
    this.onSnapshot = onSnapshot;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onSubscribed = onSubscribed;
    this.onWatching = onWatching;   // {"type": "watching", "match_id", "count"}: no seq, no cursor
    this.state = "connecting";
    this.socket = null;      // the open WebSocket or EventSource, if any
    this.attempt = 0;        // consecutive failed connections, drives the backoff
    this.restartedAt = 0;    // Date.now() of the last restart close, until a connection is useful again
    this.wsFailures = 0;     // WebSocket attempts that never opened
    this.wsEverOpened = false;
    this.retryTimer = null;
    this.heartbeat = null;
    this.lastHeard = 0;
    this.stopped = false;
    this.resyncing = new Set();
    this._wake = () => { if (!this.socket && !this.stopped) this.reconnectNow(); };
    this._offline = () => this._setState("offline");
    this._visible = () => { if (document.visibilityState === "visible") this._wake(); };
  }

  start() {
    addEventListener("online", this._wake);
    addEventListener("offline", this._offline);
    document.addEventListener("visibilitychange", this._visible);
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    removeEventListener("online", this._wake);
    removeEventListener("offline", this._offline);
    document.removeEventListener("visibilitychange", this._visible);
    clearTimeout(this.retryTimer);
    this._drop();
  }

  /** Follow other matches from now on (a fresh connection; cursors kept for known ones). */
  follow(matches) {
    this.matches = [...matches];
    this._drop();
    this.reconnectNow();
  }

  reconnectNow() {
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this._connect();
  }

  _query() {
    const params = new URLSearchParams();
    let matches = this.matches;
    if (matches.includes("*")) {
      // The wildcard carries no cursors: name every match we hold a cursor for as well, so
      // the server replays what each missed. The server takes at most 100 per connection.
      const named = [...this.cursors.keys()].filter((id) => !matches.includes(id));
      matches = [...matches, ...named].slice(0, MAX_SUBSCRIPTIONS);
    }
    params.set("matches", matches.join(","));
    const since = [...this.cursors].map(([id, seq]) => `${id}:${this._cursor(id, seq)}`);
    if (since.length) params.set("since", since.join(","));
    if (this.liveToken) params.set("token", this.liveToken);
    return params.toString();
  }

  _connect() {
    if (this.stopped) return;
    this._drop();
    const connecting = ++this.connecting;
    const renew = this.renewToken;
    this.renewToken = false;
    const open = (token) => {
      if (connecting !== this.connecting || this.stopped) return;
      this.liveToken = token || null;
      if (this.transport === "sse") this._connectSse();
      else this._connectWs();
    };
    if (typeof this.token !== "function") {
      open(this.token);
      return;
    }
    Promise.resolve().then(() => this.token({ renew })).then(open, (err) => {
      if (connecting !== this.connecting || this.stopped) return;
      console.warn("scoreboard: no viewer token for the live feed", err);
      this.renewToken = true;
      this._lost(0, true);
    });
  }

  _connectWs() {
    const url = new URL(`/ws?${this._query()}`, this.origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      console.warn("scoreboard: cannot open WebSocket", err);
      this._lost(0, false);
      return;
    }
    let opened = false;
    this.socket = ws;
    ws.onopen = () => {
      opened = true;
      this.wsEverOpened = true;
      this.wsFailures = 0;
      this.lastHeard = Date.now();
      this._startHeartbeat(ws);
      this._setState("live");
    };
    ws.onmessage = (e) => this._receive(e.data);
    ws.onclose = (e) => {
      if (this.socket !== ws) return;   // replaced on purpose
      this.socket = null;
      this._stopHeartbeat();
      this._lost(e.code, opened);
    };
  }

  _connectSse() {
    const es = new EventSource(new URL(`/sse?${this._query()}`, this.origin));
    let opened = false;
    this.socket = es;
    const receive = (e) => this._receive(e.data);
    es.addEventListener("snapshot", receive);
    es.addEventListener("event", receive);
    es.addEventListener("problem", receive);
    es.onmessage = receive;
    es.addEventListener("restart", () => {
      if (this.socket !== es) return;
      es.close();
      this.socket = null;
      this._lost(1012, true);
    });
    es.onopen = () => {
      opened = true;
      this._setState("live");
    };
    es.onerror = (e) => {
      // The server names its error messages `event: error`, which lands here too; only an
      // error without data is the connection failing.
      if (typeof e.data === "string") {
        receive(e);
        return;
      }
      // EventSource would retry by itself with Last-Event-ID, but on its own fixed delay and
      // with the since of the first request in its URL; our loop resumes from our cursors.
      if (this.socket !== es) return;
      es.close();
      this.socket = null;
      this._lost(0, opened);
    };
  }

  _drop() {
    const socket = this.socket;
    this.socket = null;
    this._stopHeartbeat();
    if (socket) socket.close();
  }

  _lost(code, opened) {
    if (this.stopped) return;
    // A refused token (the server closes with 1008) or a stream that never opened (SSE
    // answers a bad token with 401): ask for a fresh token next time.
    if (code === 1008 || !opened) this.renewToken = true;
    if (this.transport === "ws" && !opened) this.wsFailures += 1;
    if (this.autoFallback && this.transport === "ws" && !this.wsEverOpened
        && this.wsFailures >= WS_FAILURES_BEFORE_SSE) {
      console.info("scoreboard: WebSocket unavailable, using Server-Sent Events");
      this.transport = "sse";
      this.attempt = 0;
    }
    // 1012/1001: the server is coming back; 1013: it is overloaded (or we were too slow).
    // Either way: jittered, see RESTART_SPREAD_MS, and soon again while it is not back yet.
    const restart = code === 1012 || code === 1001 || code === 1013;
    if (restart) this.restartedAt = Date.now();
    const delay = retryDelay(code, {
      restartedAt: this.restartedAt, attempt: this.attempt, base: this.retry.base, cap: this.retry.cap,
      restartWindow: this.retry.restartWindow ?? RESTART_WINDOW_MS,
    });
    this.attempt += 1;
    this.closes = [...this.closes.slice(-19), { code, delayMs: Math.round(delay) }];
    // While a restart is under way the page says "reconnecting", however many tries it takes.
    const restarting = this.restartedAt
      && Date.now() - this.restartedAt < (this.retry.restartWindow ?? RESTART_WINDOW_MS);
    const offline = navigator.onLine === false || (!restarting && this.attempt > this.retry.offlineAfter);
    this._setState(offline ? "offline" : "reconnecting", { retryInMs: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), delay);
  }

  _receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    this.lastHeard = Date.now();
    if (this.state !== "live") this._setState("live");
    if (msg.type === "snapshot" || msg.type === "event" || msg.type === "subscribed") {
      this.attempt = 0;   // the connection proved useful: back to short delays
      this.restartedAt = 0;   // and the restart is over
    }
    if (msg.type === "snapshot") this._snapshot(msg);
    else if (msg.type === "event") this._event(msg);
    else if (msg.type === "subscribed") this.onSubscribed(msg);
    else if (msg.type === "watching") this.onWatching(msg);
    else if (msg.type === "error") console.warn("scoreboard: server says", msg.code, msg.message);
  }

  /** `17@<epoch>`, or `17` while the epoch is unknown. */
  _cursor(id, seq) {
    const epoch = this.epochs.get(id);
    return epoch ? `${seq}@${epoch}` : String(seq);
  }

  _snapshot(msg) {
    const id = msg.match && msg.match.id;
    if (!id) return;
    this.cursors.set(id, Number(msg.match.seq) || 0);
    if (msg.epoch) this.epochs.set(id, msg.epoch);
    this.resyncing.delete(id);
    this.onSnapshot(msg);
  }

  _event(msg) {
    const id = msg.match_id;
    const have = this.cursors.get(id);
    if (have !== undefined && msg.seq <= have) return;   // already applied
    if (have !== undefined && msg.seq > have + 1 && !this.allowGaps) {
      // A hole: never apply out of order. Ask again from what we have.
      this._resync(id, have);
      return;
    }
    this.resyncing.delete(id);
    this.cursors.set(id, msg.seq);
    this.onEvent(msg);
  }

  _resync(id, have) {
    if (this.resyncing.has(id)) return;
    this.resyncing.add(id);
    const ws = this.socket;
    if (ws instanceof WebSocket && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ op: "subscribe", matches: [id], since: { [id]: this._cursor(id, have) } }));
    } else {
      this._connect();
    }
  }

  _startHeartbeat(ws) {
    this._stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        this.socket = null;
        this._stopHeartbeat();
        ws.close();
        this._lost(0, true);
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send('{"op":"ping"}');
    }, PING_INTERVAL_MS);
  }

  _stopHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  _setState(state, info = {}) {
    this.state = state;
    this.onState(state, { transport: this.transport, ...info });
  }
}
