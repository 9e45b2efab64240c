// The scorekeeper's side of the HTTP API: bearer auth, one attempt per call, errors in plain
// words. Retrying is the outbox's job (console-outbox.js): it resends the very same body.

export class ApiError extends Error {
  /** `network`: the request may or may not have reached the server (no answer, or a 5xx). */
  constructor(status, error = {}, network = false) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (network ? "network" : "http");
    this.fields = error.fields || null;
    this.network = network;
  }
}

// The codes of the API's JSON error body (scoreboard/errors.py) a scorekeeper can act on. The
// server's own message follows where it says more (which period to start, what to send).
const PLAIN = {
  network: "The server could not be reached. Check the connection.",
  unauthorized: "The API key was not accepted. Enter it again, or ask the organiser for a valid one.",
  forbidden: "This API key is not allowed to do that.",
  not_found: "That match does not exist (any more). Reload the list of matches.",
  match_closed: "This match is over: only an undo (correction) can be added now.",
  seq_conflict: "Another scorekeeper recorded something at the same moment. Check the events and try again.",
  id_conflict: "This press was already recorded with different details.",
  match_exists: "A match with that id already exists. Choose another id, or pick it from the list.",
  too_large: "That is too much text. Shorten it and try again.",
  rate_limited: "Too many events at once: wait a moment.",
  bad_json: "The server could not read what this page sent. Reload the page.",
  unsupported_media_type: "The server could not read what this page sent. Reload the page.",
  store_unavailable: "The server cannot save right now. It will be tried again.",
};
// Codes whose server message is the useful part ("start the first period (period_start) …").
const SERVER_SAYS = new Set(["not_in_play", "seq_conflict", "not_found"]);

const FIELD_LABELS = {
  home: "Home team", away: "Away team", id: "Match id", starts_at: "Kickoff",
  team: "Team", player: "Player", minute: "Minute", title: "Title", text: "Text",
  level: "Level", color: "Colour", period: "Period", target: "Event to undo", type: "Event",
  competition: "Competition", stage: "Stage", venue: "Venue", sport: "Sport",
  period_minutes: "Period length", elapsed: "Clock", minutes: "Added time",
  player_in: "Player on", player_out: "Player off", assist: "Assist", value: "Points",
};

function fieldLines(fields, prefix = "") {
  const lines = [];
  for (const [name, value] of Object.entries(fields || {})) {
    const label = FIELD_LABELS[name] || (prefix ? `${prefix} ${name}` : name);
    if (Array.isArray(value)) lines.push(`${label}: ${value.join(" ")}`);
    else if (value && typeof value === "object") lines.push(...fieldLines(value, label));
    else lines.push(`${label}: ${value}`);
  }
  return lines;
}

const sentence = (text) => {
  const trimmed = (text || "").trim();
  if (!trimmed) return "";
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
};

/** One or two sentences a scorekeeper can act on, from the API's JSON error body. */
export function explain(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err.message || err}`;
  if (err.code === "validation_failed") {
    const lines = fieldLines(err.fields);
    const what = err.message && !/^validation/i.test(err.message) ? sentence(err.message) : "";
    return [what, lines.length ? sentence(lines.join("; ")) : ""].filter(Boolean).join(" ")
      || "Some details are not valid.";
  }
  if (SERVER_SAYS.has(err.code) && err.message) {
    const plain = PLAIN[err.code] && err.code !== "not_in_play" ? `${PLAIN[err.code]} ` : "";
    return `${plain}${sentence(err.message)}`;
  }
  return PLAIN[err.code] || sentence(err.message) || `The server answered ${err.status}.`;
}

/** A client event id (the API's idempotency key); randomUUID needs a secure context. */
export function newEventId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function readError(response) {
  try {
    const body = await response.json();
    return body.error || {};
  } catch {
    return {};
  }
}

function headers(key, json = false) {
  const all = { Accept: "application/json" };
  if (json) all["Content-Type"] = "application/json";
  if (key) all.Authorization = `Bearer ${key}`;
  return all;
}

async function call(path, init) {
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, {}, true);
  }
  if (!response.ok) {
    // A 5xx leaves delivery unknown: the same body may be sent again safely.
    throw new ApiError(response.status, await readError(response), response.status >= 500);
  }
  return { status: response.status, data: await response.json() };
}

/** GET JSON; with `key`, as that scorekeeper (so private matches are visible too). */
export async function getJson(path, key = "") {
  const { data } = await call(path, { headers: headers(key), cache: "no-store" });
  return data;
}

/** POST a JSON body with the bearer key, once. Resolves {status, data}; rejects with ApiError. */
export function postJson(path, body, key) {
  return call(path, { method: "POST", headers: headers(key, true), body: JSON.stringify(body) });
}
