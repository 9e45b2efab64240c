/* Scoreboard live score widget. No dependencies; paste on any page:
 *   <script src="https://HOST/static/widget.js" data-match="ID" async></script>
 * or place <div class="scoreboard-widget" data-match="ID"></div> and load the script once.
 * Options: data-theme="light|dark", data-compact (one line: no scorers, no "N watching"), data-token="<viewer
 * token>" (a private match). The minute ticks on the server's clock (`subscribed.now`). The card lives in a Shadow DOM so the host page's CSS and ours never mix. Widgets
 * share one connection per service and token: a token's grant never reaches a widget that
 * was not given that token.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  let offset = 0;   // the server's clock minus ours, from `subscribed.now`
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
    let state = "";              // of the connection, for cards mounted after it was reported
    // One second hand for every card of this hub: the live minute, on the server's clock.
    setInterval(() => { for (const set of cards.values()) for (const card of set) card.tick(); }, 1000);

    function add(id, host, options) {
      const card = mountCard(host, id, options);
      if (!cards.has(id)) cards.set(id, new Set());
      cards.get(id).add(card);
      if (state) card.state(state);
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
        es.onmessage = on;   // unnamed: `watching`
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
      } else if (msg.type === "subscribed" && msg.now) {
        offset = Date.parse(msg.now) - Date.now();
      } else if (msg.type === "snapshot" && msg.match) {
        attempt = 0;
        const m = msg.match;
        cursors.set(m.id, m.seq);
        if (msg.epoch) epochs.set(m.id, msg.epoch);
        const gone = new Set(m.retracted || []);
        m.goals = (msg.events || []).filter((e) => e.type === "goal" && !gone.has(e.seq));
        update(m.id, m, lastOf(msg.events, gone));
      } else if (msg.type === "watching" && matches.has(msg.match_id)) {
        const m = matches.get(msg.match_id);
        m.watching = msg.count;
        update(msg.match_id, m, m.last);
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
        // The frame's fields over the last view; the ones it leaves out while null are null.
        const match = { ...known, added_time: null, shootout: null, result: null, winner: null, ...msg };
        delete match.event;
        if (ev.type === "goal") match.goals = [...known.goals, ev];
        if (ev.type === "retract") {
          match.goals = known.goals.filter((g) => g.seq !== ev.target);
          match.last = undefined;
        } else if (!/^(notification|clock)$/.test(ev.type)) match.last = ev;
        update(id, match, match.last);
      }
    }

    function lastOf(events, gone) {
      return (events || []).filter((e) => !/^(retract|notification|clock)$/.test(e.type)
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

    function setState(next) {
      state = next;
      for (const set of cards.values()) for (const card of set) card.state(next);
    }

    return { add };
  }

  // The same card as /embed/{id} (style.css "iframe card"): status line with the ticking
  // minute, a row per team with its score and scorers, the result (or the last event) and a
  // link. Text 14 px and up; the wrapper's padding keeps stacked widgets apart whatever the
  // host page's CSS does.
  const CSS = `:host{all:initial;display:block;max-width:420px;min-width:0;font:15px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;--bg:#fff;--fg:#0f1419;--mu:#55606c;--ln:#dce1e7;--lv:#067a39;--ol:#fff;--fl:#ffe27a}
:host([data-theme=dark]){--bg:#151b22;--fg:#eef1f4;--mu:#a3adb8;--ln:#29323c;--lv:#3fcf78;--ol:#04210f;--fl:#6b5800}
.w{padding:6px 0}
.c{background:var(--bg);color:var(--fg);border:1px solid var(--ln);border-radius:12px;padding:9px 13px}
.t,.f{display:flex;gap:8px;align-items:center;color:var(--mu);font-size:14px;white-space:nowrap;min-width:0;overflow:hidden}
.st{border:1px solid var(--ln);border-radius:99px;padding:0 8px;color:var(--fg);font-weight:700}
.st.live{background:var(--lv);border-color:var(--lv);color:var(--ol)}.st.half_time{border-color:var(--lv);color:var(--lv)}
.ck{color:var(--lv);font-weight:800;font-variant-numeric:tabular-nums}.ck:empty,.s:empty{display:none}
.cx,.l,.s{min-width:0;overflow:hidden;text-overflow:ellipsis}.p:not(:empty)+.cx:not(:empty):before{content:"· "}
.d{flex:none;margin-left:auto;width:8px;height:8px;border-radius:50%;background:var(--mu)}
.d.live{background:var(--lv)}.d.reconnecting{background:#e69500}.d.offline{background:#c62828}
.g{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:2px 12px;align-items:center;margin:5px 0}
.h,.a{font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;overflow-wrap:normal}
.s{grid-column:1/-1;margin-top:-2px;font-size:14px;color:var(--mu);white-space:nowrap}
.n{font-size:20px;font-weight:800;font-variant-numeric:tabular-nums;text-align:right;padding:0 2px;border-radius:4px}
.scheduled .n{visibility:hidden}.lh .a,.lh .as,.la .h,.la .hs{color:var(--mu);font-weight:500}
.f{justify-content:space-between;flex-wrap:wrap;row-gap:2px}.l{flex:1 1 9em}.r{flex:1 0 auto;color:var(--fg);font-weight:700}a{margin-left:auto}
a{color:var(--mu);flex:none}.v:empty{display:none}.v{flex:none}.v:before{content:"";display:inline-block;width:1.1em;height:1.1em;margin-right:4px;vertical-align:-3px;background:currentColor;mask:url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath fill-rule='evenodd' d='M12 5C6.6 5 2.8 9 1.5 12c1.3 3 5.1 7 10.5 7s9.2-4 10.5-7C21.2 9 17.4 5 12 5zm0 11.6a4.6 4.6 0 1 1 0-9.2 4.6 4.6 0 0 1 0 9.2zm0-2.4a2.2 2.2 0 1 0 0-4.4 2.2 2.2 0 0 0 0 4.4z'/%3E%3C/svg%3E") center/contain no-repeat}
.z .g,.z .f,.z .ck{display:none}
.fl{animation:f 1.5s ease-out}@keyframes f{0%,30%{background:var(--fl)}}
.k .c{display:flex;align-items:center;gap:8px;padding:5px 11px}.k .t{display:contents}.k .p,.k .cx,.k .f,.k .s{display:none}.k .t:has(.ck:not(:empty)) .st{display:none}
.k .g{display:flex;flex:1;min-width:0;margin:0;gap:6px;order:1}.k .h,.k .a{white-space:nowrap}.k .d{order:2}.k .h{flex:1;text-align:right;order:1}.k .hs{order:2}.k .hs:after{content:"–";color:var(--mu);padding-left:2px}.k .as{order:3}.k .a{flex:1;order:4}
.x{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`;
  let sheet = null;
  const LABELS = {
    scheduled: "Scheduled", live: "Live", half_time: "Half time", finished: "Full time",
    postponed: "Postponed", abandoned: "Abandoned",
  };
  const minute = (e) => e.minute_label || (e.minute != null ? `${e.minute}'` : "");
  const note = (e) => (e.penalty ? " (pen.)" : e.own_goal ? " (o.g.)" : "");

  // The clock of a live match now, as static/match-clock.js reads it: "67'", "45+2'", and a
  // countdown's time left ("4:12", its period named by the status beside it).
  function clock(m) {
    const c = m.clock;
    const ps = m.periods || [];
    const last = ps[ps.length - 1];
    let p = ps.find((x) => x.period === m.period);
    if (!p && last && m.period > last.period) {   // a later overtime, as long as the last
      const start = last.end + (m.period - last.period - 1) * (last.end - last.start);
      p = { start, end: start + last.end - last.start };
    }
    if (m.status !== "live" || !c || !c.at || !p || p.end === p.start) return "";
    const e = c.running ? c.elapsed + Math.max(0, (Date.now() + offset - Date.parse(c.at)) / 1000) : c.elapsed;
    if (m.countdown) {
      const left = Math.floor(Math.max(0, Math.min(p.end - e, p.end - p.start)));
      return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    }
    const n = Math.floor(e / 60) + 1;
    const end = p.end / 60;
    return (n > end ? `${end}+${n - end}'` : `${n}'`) + (m.added_time ? ` +${m.added_time}` : "");
  }

  // "Messi 23' (pen.), 108', Di María 36'": a side's scorers in the order of their first goal.
  function scorers(goals, side) {
    const by = new Map();
    for (const g of goals || []) {
      if (g.team !== side) continue;
      const who = g.player || "";
      by.set(who, [...(by.get(who) || []), minute(g) + note(g)]);
    }
    return [...by].map(([who, times]) => `${who} ${times.join(", ")}`.trim()).join(", ");
  }

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
    const compact = options.compact !== undefined && options.compact !== "false";
    const wrap = el("div", compact ? "w k" : "w", root);
    const card = el("div", "c", wrap);
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", "Live score");
    const top = el("div", "t", card);
    const status = el("span", "st", top, "…");
    const ticking = el("span", "ck", top);
    const period = el("span", "p", top);
    const context = el("span", "cx", top);
    const dot = el("i", "d", top);
    dot.setAttribute("title", "Connecting");
    const grid = el("div", "g", card);
    const home = el("span", "h", grid);
    const homeScore = el("b", "n hs", grid);
    const homeGoals = el("span", "s", grid);
    el("span", "x", grid, ", ");
    const away = el("span", "a", grid);
    const awayScore = el("b", "n as", grid);
    const awayGoals = el("span", "s", grid);
    const foot = el("div", "f", card);
    const last = el("span", "l", foot);
    const eye = el("span", "v", foot);   // "2,314 watching"; compact cards hide the foot
    const link = el("a", "", foot, "Live on Scoreboard ↗");
    link.href = `${origin}/matches/${encodeURIComponent(id)}`;
    link.target = "_blank";
    link.rel = "noopener";
    const spoken = el("span", "x", card);
    spoken.setAttribute("aria-live", "polite");
    let gone = false;   // the service refused or does not know this match
    let shown = null;   // the match painted, for the second hand

    const flash = (node) => {
      node.classList.remove("fl");
      void node.offsetWidth;
      node.classList.add("fl");
    };
    const kickoff = (iso) => {
      const date = new Date(iso);
      return new Intl.DateTimeFormat(undefined, {
        weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
        year: date.getFullYear() === new Date().getFullYear() ? undefined : "numeric",
      }).format(date);
    };
    return {
      paint(match, changed) {
        gone = false;
        shown = match;
        card.classList.remove("z");
        link.hidden = false;
        home.textContent = match.home;
        away.textContent = match.away;
        if (changed && homeScore.textContent !== String(match.score.home)) flash(homeScore);
        if (changed && awayScore.textContent !== String(match.score.away)) flash(awayScore);
        homeScore.textContent = match.score.home;
        awayScore.textContent = match.score.away;
        homeGoals.textContent = scorers(match.goals, "home");
        awayGoals.textContent = scorers(match.goals, "away");
        status.textContent = match.status_label || LABELS[match.status] || match.status;
        status.className = `st ${match.status}`;
        const ahead = match.winner || (match.score.home > match.score.away ? "home"
          : match.score.away > match.score.home ? "away" : "");
        card.className = `c ${match.status}${match.status === "finished" && ahead ? ` l${ahead[0]}` : ""}`;
        period.textContent = match.status === "scheduled" && match.starts_at ? kickoff(match.starts_at)
          : match.period && !match.status_label && match.status !== "finished" ? `Period ${match.period}` : "";
        context.textContent = [match.competition, match.stage].filter(Boolean).join(" · ");
        const ev = match.last;
        const side = ev && (ev.team === "home" ? match.home : ev.team === "away" ? match.away : "");
        last.className = match.result ? "l r" : "l";
        last.textContent = match.result || (!ev ? "" : [
          minute(ev),
          { goal: "Goal", points: `+${ev.value}`, period_start: "Period started", substitution: "Substitution",
            card: { yellow: "Yellow card", red: "Red card", second_yellow: "Second yellow" }[ev.color] || "Card",
            shootout_kick: ev.scored ? "Penalty scored" : "Penalty missed", added_time: `+${ev.minutes} min`,
            period_end: ev.final ? "Full time" : "End of period", status: LABELS[ev.status] }[ev.type],
          side, (ev.player || ev.player_in || "") + (ev.type === "goal" ? note(ev) : ""),
        ].filter(Boolean).join(" "));
        const fans = match.status === "finished" || match.status === "abandoned" ? 0 : match.watching;
        eye.textContent = fans > 0 ? `${fans.toLocaleString()} watching` : "";
        this.tick();
        if (changed) {
          spoken.textContent = `${match.home} ${match.score.home}, ${match.away} ${match.score.away}`;
        }
      },
      tick() {
        const text = gone || !shown ? "" : clock(shown);
        if (ticking.textContent !== text) ticking.textContent = text;
      },
      // Nothing to show or follow: say why, and link nowhere (the match page would say the same).
      missing(text) {
        gone = true;
        status.textContent = text;
        status.className = "st";
        card.className = "c z";
        link.hidden = true;
        dot.className = "d";
        dot.setAttribute("title", text);
      },
      state(next) {
        if (gone) return;
        dot.className = `d ${next}`;
        dot.setAttribute("title", next);
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
