// Web Push on the match page: "Notify me" (this match) and "Follow <team>" (every match of
// that team). One browser has one push subscription for the site; its record (id, token,
// what it follows) lives in IndexedDB, shared with the service worker (push-sync.js), and is
// copied to localStorage for the page's synchronous reads; it is sent whole on each change.
// Kept apart from the page's other scripts so the page design can change around it.

import "./push-sync.js";

const STORE_KEY = "scoreboard.push";
const push = self.scoreboardPush;
let openMatch = null;  // {id, teams} of the page's match: pushes for a followed team cover it too

/** What stops Web Push here, in words a fan understands, or null when it can work. */
export function pushBlocker() {
  if (!window.isSecureContext) return "Notifications need a secure (https) connection to this site.";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return /iPhone|iPad/.test(navigator.userAgent)
      ? "On iPhone and iPad, add Scoreboard to your Home Screen (Share → Add to Home Screen) to get notifications."
      : "This browser cannot show notifications when the page is closed.";
  }
  if (Notification.permission === "denied") {
    return "Notifications are blocked for this site. Allow them in your browser's site settings, then try again.";
  }
  return null;
}

const EMPTY = { id: null, token: null, matches: [], teams: [], endpoint: null };

/** The page's copy of the record (localStorage: read synchronously when painting). */
function saved() {
  try {
    return push.normal(JSON.parse(localStorage.getItem(STORE_KEY) || "null")) || { ...EMPTY };
  } catch {
    return { ...EMPTY };  // a broken entry is replaced on the next save
  }
}

function keepCopy(record) {
  localStorage.setItem(STORE_KEY, JSON.stringify(push.normal(record)));
}

/** A changed record: the page's copy, IndexedDB for the worker, and the site's other pages. */
async function save(record) {
  keepCopy(record);
  try {
    await push.write(record);
  } catch (err) {
    // No IndexedDB here (some private modes): pushes still work; only a renewal by the
    // worker cannot happen, and the next visit's check (reconcile) covers that.
    console.info("scoreboard: push record not kept for the service worker", err);
  }
  push.announce(record);
}

/** Whether pushes already cover this match (the page then skips its own hidden-tab alert):
 * it is followed, or it is the open match and one of its teams is. */
export function pushCovers(matchId) {
  const state = saved();
  if (!state.id) return false;
  if (state.matches.includes(matchId)) return true;
  const followed = new Set(state.teams.map(teamKey));
  return Boolean(openMatch) && matchId === openMatch.id && openMatch.teams.some((team) => followed.has(teamKey(team)));
}

/** Teams are followed by name, as the server matches them: case and spacing do not count. */
function teamKey(name) {
  return String(name).trim().split(/\s+/).join(" ").toLowerCase();
}

async function registration() {
  // updateViaCache "none": the worker's importScripts (push-sync.js) are never taken stale from the HTTP cache.
  const registered = await navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" });
  await navigator.serviceWorker.ready;
  return registered;
}

function viewerQuery() {
  const viewerToken = new URLSearchParams(location.search).get("token");
  return viewerToken ? `?token=${encodeURIComponent(viewerToken)}` : "";
}

/**
 * Bring the page's copy in step with IndexedDB (the worker may have renewed the subscription
 * while no page was open), then check the browser still holds the subscription the server
 * has: not every browser fires pushsubscriptionchange when it replaces one, and a renewal
 * the worker tried offline is lost, so an endpoint that changed is sent from here too.
 * Quiet: it only ever repairs.
 */
async function reconcile(paint) {
  const stored = await push.read();
  const copy = saved();
  if (stored) {
    if (JSON.stringify(stored) !== JSON.stringify(copy)) keepCopy(stored);
  } else if (copy.id) {
    await push.write(copy);  // a record from before the worker kept one
  }
  paint();
  const record = saved();
  if (!record.id || pushBlocker() || Notification.permission !== "granted") return;
  const existing = await navigator.serviceWorker.getRegistration("/");
  if (!existing) return;
  const held = await existing.pushManager.getSubscription();
  if (held && held.endpoint === record.endpoint) return;
  const subscription = await push.browserSubscription(existing.pushManager, held);
  await save(await push.send(record, subscription, viewerQuery()));
  paint();
}

function listenForChanges(paint) {
  if (!("BroadcastChannel" in self)) return;
  const channel = new BroadcastChannel(push.CHANNEL);
  channel.addEventListener("message", (event) => {
    if (event.data && event.data.type === "record") {
      keepCopy(event.data.record);
      paint();
    }
  });
}

/** A failure to subscribe, in words a fan understands. */
function explain(err) {
  // Chrome refuses the Push API in incognito windows with "Registration failed - permission denied".
  if (err && (err.name === "NotAllowedError" || /permission denied/i.test(err.message || ""))) {
    return "This browser window does not allow push notifications (private and incognito windows never do).";
  }
  if (err && err.name === "AbortError") {
    return "Your browser's push service could not be reached. Check the connection and try again.";
  }
  return `Could not turn notifications on: ${(err && err.message) || err}`;
}

/** Wire the page's push buttons (`[data-push]`) and its status line (`.push-status`). */
export function setupPush(root, match) {
  const buttons = [...root.querySelectorAll("[data-push]")];
  const status = root.querySelector(".push-status");
  openMatch = { id: match.id, teams: [match.home, match.away].filter(Boolean) };
  if (!buttons.length) return;
  const say = (text) => {
    if (!status) return;
    status.hidden = !text;
    status.textContent = text || "";
  };
  const target = (button) => (button.dataset.push === "team" ? button.dataset.team : match.id);
  // Pushes carry goals, kick-off and results: a sport without goals is told of the match.
  const news = match.sport === "basketball" ? "this match" : "goals";
  const list = (state, button) => (button.dataset.push === "team" ? state.teams : state.matches);
  const paint = () => {
    const state = saved();
    for (const button of buttons) {
      const on = Boolean(state.id) && list(state, button).includes(target(button));
      button.hidden = false;
      button.setAttribute("aria-pressed", String(on));
      button.textContent = button.dataset.push === "team"
        ? (on ? `Following ${button.dataset.team}` : `Follow ${button.dataset.team}`)
        : (on ? `Notifying you of ${news}` : `Notify me of ${news}`);
    }
  };
  paint();
  const blocked = pushBlocker();
  if (blocked) say(blocked);
  if (!blocked) {
    listenForChanges(paint);
    reconcile(paint).catch((err) => console.info("scoreboard: push subscription not checked", err));
  }

  for (const button of buttons) {
    button.addEventListener("click", async () => {
      const blocker = pushBlocker();
      if (blocker) {
        say(blocker);
        return;
      }
      buttons.forEach((b) => { b.disabled = true; });
      try {
        if (Notification.permission !== "granted" && (await Notification.requestPermission()) !== "granted") {
          say("Notifications were not allowed. Allow them for this site to get goals when the page is closed.");
          return;
        }
        const state = saved();
        const items = list(state, button);
        const name = target(button);
        const adding = !(state.id && items.includes(name));
        if (adding && !items.includes(name)) items.push(name);
        if (!adding) items.splice(items.indexOf(name), 1);
        const registered = await registration();
        await save(await push.send(state, await push.browserSubscription(registered.pushManager), viewerQuery()));
        say(adding
          ? (button.dataset.push === "team"
            ? `You will get ${name}'s goals and results, even with this page closed.`
            : "You will get this match's goals and results, even with this page closed.")
          : "Stopped.");
      } catch (err) {
        say(explain(err));
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
        paint();
      }
    });
  }
}
