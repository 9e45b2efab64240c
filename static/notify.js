// What the page tells people besides the score: connection state, screen-reader
// announcements, in-page toasts and (opt-in) system notifications while the tab is hidden.

import { pushCovers } from "./push.js";

const TOAST_MS = 6000;
const MAX_TOASTS = 3;   // a reconnect can replay many events at once; do not bury the page

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

/** Keep the #conn badge in step with the live feed; its Retry button reconnects at once. */
export function connectionBadge(feedRef) {
  const badge = document.getElementById("conn");
  if (!badge) return () => {};
  badge.hidden = false;
  const label = badge.querySelector(".conn-label");
  const retry = badge.querySelector(".conn-retry");
  if (retry) retry.addEventListener("click", () => feedRef().reconnectNow());
  return (state, info = {}) => {
    badge.dataset.state = state;
    badge.dataset.transport = info.transport || "";
    let text = CONNECTION_LABELS[state] || state;
    if (state === "offline" && info.retryInMs !== undefined) {
      text = `Offline · retrying in ${Math.max(1, Math.round(info.retryInMs / 1000))} s`;
    }
    label.textContent = text;
    if (retry) retry.hidden = state !== "offline" && state !== "reconnecting";
  };
}

export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  // Clearing first makes a repeated identical sentence be read again.
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

export function toast(title, body = "", level = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast level-${level}`;
  const strong = document.createElement("strong");
  strong.className = "toast-title";
  strong.textContent = title;
  item.append(strong);
  if (body) {
    const p = document.createElement("span");
    p.className = "toast-body";
    p.textContent = body;
    item.append(" ", p);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  box.append(item);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS);
}

/** A system notification, only when the tab is hidden and the visitor opted in. */
export function systemNotify(title, body, tag) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (pushCovers(String(tag).split(":")[0])) return;  // the service worker shows it already
  if (document.visibilityState !== "hidden") return;
  try {
    new Notification(title, { body, tag });
  } catch (err) {
    // Android Chrome allows notifications only from a service worker; the toast is enough.
    console.info("scoreboard: system notification unavailable", err);
  }
}

/** Wire the opt-in button: shown only where the browser can still grant permission. */
export function notificationOptIn(button) {
  if (!button || !("Notification" in window)) return;
  const paint = () => {
    const permission = Notification.permission;
    button.hidden = permission === "denied";
    const on = permission === "granted";
    button.setAttribute("aria-pressed", String(on));
    button.disabled = on;
    button.textContent = on ? "Notifications on" : "Notify me of goals";
  };
  paint();
  button.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } finally {
      paint();
    }
  });
}
