// Web Push on the match page: "Notify me" (this match) and "Follow <team>" (every match of
// that team). One browser has one push subscription for the site; what it follows is kept
// in localStorage with the subscription's id and token, and sent whole on each change.
// Kept apart from the page's other scripts so the page design can change around it.

const STORE_KEY = "scoreboard.push";

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

function saved() {
  try {
    const state = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    if (state && Array.isArray(state.matches) && Array.isArray(state.teams)) return state;
  } catch { /* a broken entry is replaced below */ }
  return { id: null, token: null, matches: [], teams: [] };
}

function save(state) {
  localStorage.setItem(STORE_KEY, JSON.stringify(state));
}

/** Whether pushes already cover this match (the page then skips its own hidden-tab alert). */
export function pushCovers(matchId) {
  const state = saved();
  return Boolean(state.id) && state.matches.includes(matchId);
}

function keyBytes(base64url) {
  const padded = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function browserSubscription() {
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  if (existing) return existing;
  const answer = await fetch("/api/push/key");
  if (!answer.ok) throw new Error("the server has no push key right now");
  const { public_key: key } = await answer.json();
  return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
}

/** Send the whole state to the server: create, replace or delete the subscription. */
async function sync(state, subscription) {
  const viewerToken = new URLSearchParams(location.search).get("token");
  const query = viewerToken ? `?token=${encodeURIComponent(viewerToken)}` : "";
  const body = JSON.stringify({ subscription: subscription.toJSON(), matches: state.matches, teams: state.teams });
  const json = { "Content-Type": "application/json" };
  if (state.id && !state.matches.length && !state.teams.length) {
    await fetch(`/api/push/subscriptions/${state.id}`, {
      method: "DELETE", headers: { Authorization: `Bearer ${state.token}` },
    });
    return { ...state, id: null, token: null };
  }
  if (state.id) {
    const answer = await fetch(`/api/push/subscriptions/${state.id}${query}`, {
      method: "PUT", headers: { ...json, Authorization: `Bearer ${state.token}` }, body,
    });
    if (answer.ok) return state;
    if (answer.status !== 404 && answer.status !== 403) throw await problem(answer);
    // Gone (the push service expired it, or the server lost it): subscribe again.
  }
  const answer = await fetch(`/api/push/subscriptions${query}`, { method: "POST", headers: json, body });
  if (!answer.ok) throw await problem(answer);
  const made = await answer.json();
  return { ...state, id: made.id, token: made.token };
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

async function problem(answer) {
  try {
    const { error } = await answer.json();
    return new Error(error.message);
  } catch {
    return new Error(`the server answered ${answer.status}`);
  }
}

/** Wire the page's push buttons (`[data-push]`) and its status line (`.push-status`). */
export function setupPush(root, match) {
  const buttons = [...root.querySelectorAll("[data-push]")];
  const status = root.querySelector(".push-status");
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
        const next = await sync(state, await browserSubscription());
        save(next);
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
