// The browser's push subscription as the server knows it, shared by the match page (push.js)
// and the service worker (sw.js): the record of it in IndexedDB (its id and management token,
// what it follows, the endpoint last sent) and the calls that keep the server in step.
//
// Why IndexedDB: when the browser rotates a subscription it tells the service worker
// (`pushsubscriptionchange`), maybe with no page open, and a worker can read IndexedDB but not
// localStorage. The page keeps a synchronous copy in localStorage (its buttons paint from it)
// and updates it from here; a BroadcastChannel tells open pages when the worker changed it.
//
// One file for both: the worker loads it with importScripts() (a classic script), the page
// imports it for its side effect; either way it defines self.scoreboardPush, so the two
// cannot disagree on the record's format or on how the server is called.
(function (scope) {
  const DB = "scoreboard-push";
  const STORE = "record";
  const KEY = "subscription";
  const CHANNEL = "scoreboard-push";

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function inStore(mode, action) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = action(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  /** A record as the page and the worker use it: {id, token, matches, teams, endpoint}. */
  function normal(record) {
    if (!record || !Array.isArray(record.matches) || !Array.isArray(record.teams)) return null;
    return {
      id: record.id || null, token: record.token || null, matches: record.matches, teams: record.teams,
      endpoint: record.endpoint || null,
    };
  }

  const read = async () => normal(await inStore("readonly", (store) => store.get(KEY)));
  const write = (record) => inStore("readwrite", (store) => store.put(normal(record), KEY));

  /** Tell the site's other pages (and the worker's clients) that the record changed. */
  function announce(record) {
    if (!("BroadcastChannel" in scope)) return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage({ type: "record", record: normal(record) });
    channel.close();
  }

  function keyBytes(base64url) {
    const padded = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function serverKey() {
    const answer = await fetch("/api/push/key");
    if (!answer.ok) throw new Error("the server has no push key right now");
    return keyBytes((await answer.json()).public_key);
  }

  function madeWith(subscription, key) {
    const given = subscription && subscription.options && subscription.options.applicationServerKey;
    if (!given) return false;
    const bytes = new Uint8Array(given);
    return bytes.length === key.length && bytes.every((byte, i) => byte === key[i]);
  }

  /**
   * A browser subscription made with the server's key: `offered` (what the browser handed a
   * pushsubscriptionchange) or the one it holds, when made with that key; else a new one. A
   * subscription made with another key (the server's key changed) would only get 403s from
   * the push service, so it is dropped.
   */
  async function browserSubscription(pushManager, offered = null) {
    const key = await serverKey();
    const held = await pushManager.getSubscription();
    for (const candidate of [offered, held]) {
      if (madeWith(candidate, key)) return candidate;
    }
    if (held) await held.unsubscribe().catch(() => {});
    return pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }

  async function problem(answer) {
    try {
      const { error } = await answer.json();
      return Object.assign(new Error(error.message), { status: answer.status });
    } catch {
      return Object.assign(new Error(`the server answered ${answer.status}`), { status: answer.status });
    }
  }

  /**
   * Make the server hold `record` for `subscription`: create it, replace what it follows (and
   * its browser keys), or delete it when it follows nothing. `query` carries a private
   * match's viewer token ("?token=..."). Returns the record as it now is.
   */
  async function send(record, subscription, query = "") {
    const json = { "Content-Type": "application/json" };
    if (record.id && !record.matches.length && !record.teams.length) {
      await fetch(`/api/push/subscriptions/${encodeURIComponent(record.id)}`, {
        method: "DELETE", headers: { Authorization: `Bearer ${record.token}` },
      });
      return { ...record, id: null, token: null, endpoint: null };
    }
    const browser = subscription.toJSON();
    const body = JSON.stringify({ subscription: browser, matches: record.matches, teams: record.teams });
    if (record.id) {
      const answer = await fetch(`/api/push/subscriptions/${encodeURIComponent(record.id)}${query}`, {
        method: "PUT", headers: { ...json, Authorization: `Bearer ${record.token}` }, body,
      });
      if (answer.ok) return { ...record, endpoint: browser.endpoint };
      // Gone (the push service expired the old endpoint and the server deleted it, or the
      // server lost it): subscribe again below. Anything else is a real failure.
      if (answer.status !== 404 && answer.status !== 403) throw await problem(answer);
    }
    const answer = await fetch(`/api/push/subscriptions${query}`, { method: "POST", headers: json, body });
    if (!answer.ok) throw await problem(answer);
    const made = await answer.json();
    return { ...record, id: made.id, token: made.token, endpoint: browser.endpoint };
  }

  scope.scoreboardPush = { CHANNEL, read, write, announce, normal, browserSubscription, send };
})(self);
