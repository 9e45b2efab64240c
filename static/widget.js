/* Scoreboard live score widget. No dependencies; paste on any page:
 *   <script src="https://HOST/static/widget.js" data-match="ID" async></script>
 * or place <div class="scoreboard-widget" data-match="ID"></div> and load the script once.
 * Options: data-theme="light|dark", data-compact, data-token="<viewer token>" (a private
 * match). The card lives in a Shadow DOM so the host page's CSS and ours never mix. Widgets
 * share one connection per service and token: a token's grant never reaches a widget that
 * was not given that token.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  function createHub(origin, token) {
    const cards = new Map();     // match id -> Set of mounted cards
    const matches = new Map();   // match id -> last match view painted
    const cursors = new Map();   // match id -> last seq applied
    const epochs = new Map();    // match id -> epoch of the log that seq belongs to (snapshots)
    let socket = null;
    let sse = /[?&]transport=sse\b/.test(location.search);
    let opened = false;          // a WebSocket has opened at least once
    let wsFailures = 0;
    let attempt = 0;
    let timer = 0;
    let sent = new Set();        // ids the current connection is subscribed to
    let refused = false;         // the server refused the token: wait for a new page

    function add(id, host, options) {
      const card = mountCard(host, id, options);
      if (!cards.has(id)) cards.set(id, new Set());
      cards.get(id).add(card);
      if (matches.has(id)) card.paint(matches.get(id));
      if (sent.has(id)) return;
      if (socket && !sse && socket.readyState === 1) return subscribe([id]);
      if (socket && !sse && socket.readyState === 0) return;   // onopen subscribes it
      // Wait a moment before the first connect so sibling widgets join the same connection.
      if (!timer || sse) schedule(socket ? 0 : 50);
    }

    function subscribe(ids) {
      const since = {};
      for (const id of ids) if (cursors.has(id)) since[id] = cursor(id);
      socket.send(JSON.stringify({ op: "subscribe", matches: ids, since }));
      ids.forEach((id) => sent.add(id));
    }

    // `17@<epoch>`: a server whose log is another one (lost and made again) answers a snapshot.
    function cursor(id) {
      return epochs.has(id) ? `${cursors.get(id)}@${epochs.get(id)}` : cursors.get(id);
    }

    function schedule(delay) {
      clearTimeout(timer);
      timer = setTimeout(connect, delay);
    }

    function query() {
      const ids = [...cards.keys()];
      const since = ids.filter((id) => cursors.has(id)).map((id) => `${id}:${cursor(id)}`);
      let q = `matches=${encodeURIComponent(ids.join(","))}`;
      if (since.length) q += `&since=${encodeURIComponent(since.join(","))}`;
      return q + auth("&");
    }

    function auth(sep) {
      return token ? `${sep}token=${encodeURIComponent(token)}` : "";
    }

    function connect() {
      timer = 0;
      if (socket) {
        const old = socket;
        socket = null;
        old.close();
      }
      if (!cards.size || refused) return;
      if (sse) {
        sent = new Set(cards.keys());
        const es = (socket = new EventSource(`${origin}/sse?${query()}`));
        const on = (e) => receive(e.data);
        es.addEventListener("snapshot", on);
        es.addEventListener("event", on);
        es.addEventListener("problem", on);
        es.addEventListener("restart", () => es.onerror({ restart: 1 }));
        es.onopen = () => setState("live");
        es.onerror = (e) => {
          if (typeof e.data === "string") return on(e);   // the server's `event: error`
          if (socket !== es) return;
          es.close();
          socket = null;
          lost(e.restart ? 1012 : 0);
        };
        return;
      }
      // Matches are named in a subscribe op, not the URL: the server then refuses a private
      // match on its own and keeps serving the rest (a URL naming one waits for auth first).
      sent = new Set();
      const ws = (socket = new WebSocket(`${origin.replace(/^http/, "ws")}/ws${auth("?")}`));
      let open = false;
      ws.onopen = () => {
        open = opened = true;
        wsFailures = 0;
        setState("live");
        subscribe([...cards.keys()]);
      };
      ws.onmessage = (e) => receive(e.data);
      ws.onclose = (e) => {
        if (socket !== ws) return;
        socket = null;
        if (!open && ++wsFailures >= 3 && !opened) sse = true;
        lost(e.code);
      };
    }

    function lost(code) {
      if (refused) return setState("offline");
      // Capped exponential backoff with full jitter; a restarting server (1012) or a
      // shutdown (1001) is retried soon, still jittered so fans do not arrive all at once.
      const delay = code === 1012 || code === 1001
        ? 250 + Math.random() * 2000
        : Math.random() * Math.min(10000, 500 * 2 ** Math.min(attempt, 10));
      attempt += 1;
      setState(attempt > 4 ? "offline" : "reconnecting");
      schedule(delay);
    }

    function receive(data) {
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (err) {
        return;
      }
      if (msg.type === "error" && msg.match_id && /^(not_found|unauthorized|forbidden)$/.test(msg.code)) {
        for (const card of cards.get(msg.match_id) || []) {
          card.missing(msg.code === "not_found" ? "Match not found" : "Private match");
        }
        // A refused private match is not asked for again on the next connection.
        if (msg.code !== "not_found") cards.delete(msg.match_id);
      } else if (msg.type === "error" && /^(unauthorized|token_expired)$/.test(msg.code)) {
        refused = true;               // a bad or expired token: retrying cannot help
        for (const set of cards.values()) for (const card of set) card.missing("Token refused");
      } else if (msg.type === "snapshot" && msg.match) {
        attempt = 0;
        cursors.set(msg.match.id, msg.match.seq);
        if (msg.epoch) epochs.set(msg.match.id, msg.epoch);
        update(msg.match.id, msg.match, lastOf(msg.events, msg.match));
      } else if (msg.type === "event") {
        attempt = 0;
        const id = msg.match_id;
        const have = cursors.get(id);
        const known = matches.get(id);
        if (have !== undefined && msg.seq <= have) return;
        if (have === undefined || !known || msg.seq > have + 1) {
          schedule(0);  // a hole or no snapshot yet: resume from what we have
          return;
        }
        cursors.set(id, msg.seq);
        const ev = msg.event;
        const match = {
          ...known, score: msg.score, status: msg.status || known.status,
          period: msg.period === undefined ? known.period : msg.period, seq: msg.seq,
        };
        if (ev.type === "retract") match.last = undefined;
        else if (ev.type !== "notification") match.last = ev;
        update(id, match, match.last);
      }
    }

    function lastOf(events, match) {
      const gone = new Set(match.retracted || []);
      return (events || []).filter((e) => e.type !== "retract" && e.type !== "notification"
        && !gone.has(e.seq)).pop();
    }

    function update(id, match, last) {
      const before = matches.get(id);
      match.last = last;
      matches.set(id, match);
      const changed = before && (before.score.home !== match.score.home
        || before.score.away !== match.score.away);
      for (const card of cards.get(id) || []) card.paint(match, changed);
    }

    function setState(state) {
      for (const set of cards.values()) for (const card of set) card.state(state);
    }

    return { add };
  }

  const CSS = `:host{all:initial;display:block;max-width:420px;font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;--bg:#fff;--fg:#14171a;--mu:#5b6570;--ln:#d9dee3;--lv:#13883b;--fl:#ffe27a}
:host([data-theme=dark]){--bg:#1a1f25;--fg:#eef1f4;--mu:#a4adb7;--ln:#2c333b;--lv:#4fd47c;--fl:#7a6400}
.c{background:var(--bg);color:var(--fg);border:1px solid var(--ln);border-radius:10px;padding:8px 12px}
.t{display:flex;gap:6px;align-items:center;color:var(--mu);font-size:12px}
.st{border:1px solid var(--ln);border-radius:99px;padding:0 7px;color:var(--fg)}
.st.live{background:var(--lv);border-color:var(--lv);color:#fff}
.d{margin-left:auto;width:8px;height:8px;border-radius:50%;background:var(--mu)}
.d.live{background:var(--lv)}.d.reconnecting{background:#e69500}.d.offline{background:#c62828}
.s{display:grid;grid-template-columns:1fr auto 1fr;gap:8px;align-items:center;margin:4px 0;font-weight:600}
.h{text-align:right;overflow-wrap:anywhere}.a{overflow-wrap:anywhere}
.sc{font-size:24px;font-weight:800;font-variant-numeric:tabular-nums;white-space:nowrap}
.sc span{display:inline-block;padding:0 2px;border-radius:5px}
.f{animation:f 1.5s ease-out}@keyframes f{0%,30%{background:var(--fl)}}
.l{color:var(--mu);font-size:12px;min-height:16px;overflow-wrap:anywhere}
a{color:var(--mu);font-size:11px}
.k .c{display:flex;align-items:center;gap:8px;padding:4px 10px}.k .s{flex:1;margin:0}.k .sc{font-size:18px}.k .l,.k a,.k .p{display:none}
.x{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`;
  let sheet = null;

  function mountCard(host, id, options) {
    host.dataset.scoreboardMatch = id;
    if (options.theme === "dark") host.dataset.theme = "dark";
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    try {
      // A constructed sheet is not blocked by a host page's CSP style-src, a <style> may be.
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
    } catch (err) {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.append(style);
    }
    const el = (tag, cls, parent, text) => {
      const node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text) node.textContent = text;
      parent.append(node);
      return node;
    };
    const wrap = el("div", options.compact !== undefined && options.compact !== "false" ? "k" : "", root);
    const card = el("div", "c", wrap);
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", "Live score");
    const top = el("div", "t", card);
    const status = el("span", "st", top, "…");
    const period = el("span", "p", top);
    const dot = el("i", "d", top);
    dot.setAttribute("title", "Connecting");
    const line = el("div", "s", card);
    const home = el("span", "h", line);
    const score = el("b", "sc", line);
    const homeScore = el("span", "", score, "–");
    score.append("–");
    const awayScore = el("span", "", score, "–");
    const away = el("span", "a", line);
    const last = el("div", "l", card);
    const link = el("a", "", card, "Live on Scoreboard ↗");
    link.href = `${origin}/matches/${encodeURIComponent(id)}`;
    link.target = "_blank";
    link.rel = "noopener";
    const spoken = el("span", "x", card);
    spoken.setAttribute("aria-live", "polite");

    const labels = {
      scheduled: "Scheduled", live: "Live", half_time: "Half time", finished: "Full time",
      postponed: "Postponed", abandoned: "Abandoned",
    };
    const flash = (node) => {
      node.classList.remove("f");
      void node.offsetWidth;
      node.classList.add("f");
    };
    return {
      paint(match, changed) {
        home.textContent = match.home;
        away.textContent = match.away;
        if (changed && homeScore.textContent !== String(match.score.home)) flash(homeScore);
        if (changed && awayScore.textContent !== String(match.score.away)) flash(awayScore);
        homeScore.textContent = match.score.home;
        awayScore.textContent = match.score.away;
        status.textContent = labels[match.status] || match.status;
        status.className = `st ${match.status}`;
        period.textContent = match.period ? `Period ${match.period}` : "";
        const ev = match.last;
        const side = ev && (ev.team === "home" ? match.home : ev.team === "away" ? match.away : "");
        last.textContent = !ev ? "" : [
          ev.minute != null ? `${ev.minute}'` : "",
          { goal: "Goal", points: `+${ev.value}`, card: "Card", period_start: "Period started",
            period_end: ev.final ? "Full time" : "End of period", status: labels[ev.status] }[ev.type],
          side, ev.player || "",
        ].filter(Boolean).join(" ");
        if (changed) {
          spoken.textContent = `${match.home} ${match.score.home}, ${match.away} ${match.score.away}`;
        }
      },
      missing(text) {
        status.textContent = text;
        status.className = "st";
        dot.className = "d";   // not live: this card follows nothing
      },
      state(state) {
        dot.className = `d ${state}`;
        dot.setAttribute("title", state);
      },
    };
  }

  const origin = new URL(script.src, location.href).origin;
  const hubs = (window.__scoreboardHubs = window.__scoreboardHubs || {});
  // One connection per service and token: widgets with different tokens (or none) never
  // share one, so a private match one of them may see cannot reach the others.
  const add = (id, host, options) => {
    const key = `${origin} ${options.token || ""}`;
    (hubs[key] = hubs[key] || createHub(origin, options.token)).add(id, host, options);
  };

  if (script.dataset.match) {
    const host = document.createElement("div");
    script.after(host);
    add(script.dataset.match, host, script.dataset);
  }
  const mountPlaceholders = () => {
    for (const el of document.querySelectorAll(".scoreboard-widget[data-match]")) {
      if (el.dataset.scoreboardMounted) continue;
      el.dataset.scoreboardMounted = "1";
      add(el.dataset.match, el, el.dataset);
    }
  };
  mountPlaceholders();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountPlaceholders);
  }
})();
