// Scoreboard's service worker (served at /sw.js, scope "/"): shows each Web Push as a
// notification and, on a click, focuses the match page if it is open or opens it; when the
// browser rotates the push subscription, it renews it on the server.
// The payload is the server's JSON: {title, body, url, tag, kind, match_id, seq, score, status}.

importScripts("/static/push-sync.js");  // self.scoreboardPush: the subscription's record and server calls

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/** Only a path of this site: a payload must never send a fan elsewhere. */
function samePlaceUrl(raw) {
  try {
    const url = new URL(raw || "/", self.location.origin);
    return url.origin === self.location.origin ? url.href : self.location.origin + "/";
  } catch {
    return self.location.origin + "/";
  }
}

function readPayload(data) {
  if (!data) return {};
  try {
    return data.json();
  } catch {
    return { title: data.text() };
  }
}

self.addEventListener("push", (event) => {
  const message = readPayload(event.data);
  const title = message.title || "Scoreboard";
  const options = {
    body: message.body || "",
    // One notification per match: a newer score replaces the older one and alerts again.
    tag: message.tag || undefined,
    renotify: Boolean(message.tag),
    timestamp: Date.now(),
    data: { url: samePlaceUrl(message.url), matchId: message.match_id, seq: message.seq, kind: message.kind },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

/** Bring up `url`: focus a window already showing it, else turn one of the site's windows
 * into it (no pile of tabs after a match of goals), else open a new window. */
async function openOrFocus(url) {
  const path = new URL(url).pathname;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const showing = windows.find((client) => new URL(client.url).pathname === path);
  if (showing) return focus(showing);
  const ours = windows.find((client) => "navigate" in client && client.frameType === "top-level");
  if (ours) {
    try {
      return focus(await ours.navigate(url));
    } catch {
      // not controlled by this worker (yet): open a window instead
    }
  }
  return self.clients.openWindow(url);
}

async function focus(client) {
  try {
    return client ? await client.focus() : client;
  } catch {
    return client;  // focusing needs the click's permission; the page is there either way
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openOrFocus(samePlaceUrl(event.notification.data && event.notification.data.url)));
});

/** The browser replaced (or dropped) the push subscription: the server must get the new one,
 * or pushes go to an endpoint that no longer delivers. Made with the server's key; what the
 * subscription follows comes from the record the page left in IndexedDB, and the record (its
 * new endpoint, or a new id and token if the server had deleted the old one) goes back there
 * and to any open page. */
async function renewSubscription(offered) {
  const push = self.scoreboardPush;
  const record = await push.read();
  if (!record || !record.id) return;  // this browser follows nothing: nothing to renew
  const subscription = await push.browserSubscription(self.registration.pushManager, offered);
  const renewed = await push.send(record, subscription);
  await push.write(renewed);
  push.announce(renewed);
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(renewSubscription(event.newSubscription));
});
