// The scorekeeper's side of the HTTP API: bearer auth, safe retries, errors in plain words.
import { backoffDelay } from "./live.js";

// Retries of one press: enough to ride out a few seconds of a bad connection, few enough that
// the scorekeeper hears about a real outage while the moment is still fresh.
const SEND_ATTEMPTS = 4;

export class ApiError extends Error {
  constructor(status, error = {}, network = false) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (network ? "network" : "http");
    this.fields = error.fields || null;
    this.network = network;
  }
}

const PLAIN = {
  network: "The server could not be reached. Check the connection.",
  unauthorized: "The API key was not accepted. Enter it again, or ask the organiser for a valid one.",
  forbidden: "This API key is not allowed to do that.",
  not_found: "That match does not exist (any more). Reload the list of matches.",
  match_closed: "This match is over: only an undo (correction) or a notification can be added now.",
  seq_conflict: "Another scorekeeper recorded something at the same moment. Check the events and try again.",
  id_conflict: "This press was already recorded with different details.",
  match_exists: "A match with that id already exists. Choose another id, or pick it from the list.",
  too_large: "That is too much text. Shorten it and try again.",
  bad_json: "The server could not read what this page sent. Reload the page.",
  unsupported_media_type: "The server could not read what this page sent. Reload the page.",
  method_not_allowed: "The server does not accept that here. Reload the page.",
  store_unavailable: "The server cannot save right now. Try again in a moment.",
};

const FIELD_LABELS = {
  home: "Home team", away: "Away team", id: "Match id", starts_at: "Start time",
  team: "Team", player: "Player", minute: "Minute", title: "Title", text: "Text",
  level: "Level", color: "Colour", period: "Period", target: "Event to undo", type: "Event",
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

/** One or two sentences a scorekeeper can act on. */
export function explain(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err.message || err}`;
  if (err.code === "validation_failed") {
    const lines = fieldLines(err.fields);
    const what = err.message && !/^validation/i.test(err.message) ? `${err.message}.` : "";
    return [what.charAt(0).toUpperCase() + what.slice(1), lines.length ? lines.join("; ") + "." : ""]
      .filter(Boolean).join(" ") || "Some details are not valid.";
  }
  return PLAIN[err.code] || err.message || `The server answered ${err.status}.`;
}

/** A client event id; randomUUID needs a secure context, getRandomValues does not. */
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

/** GET JSON; with `key`, as that scorekeeper (so private matches are visible too). */
export async function getJson(path, key = "") {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch {
    throw new ApiError(0, {}, true);
  }
  if (!response.ok) throw new ApiError(response.status, await readError(response));
  return response.json();
}

/**
 * POST a JSON body with the bearer key. Network failures and 5xx are retried with the very
 * same body (so the same event id): the server answers a repeat with the original result.
 * Resolves {status, data}; rejects with ApiError (network=true when delivery is unknown).
 */
export async function postJson(path, body, key, { onRetry = () => {} } = {}) {
  const init = {
    method: "POST",
    headers: {
      "Content-Type": "application/json", Accept: "application/json",
      Authorization: `Bearer ${key}`,
    },
    body: JSON.stringify(body),
  };
  for (let attempt = 1; ; attempt += 1) {
    let response = null;
    try {
      response = await fetch(path, init);
    } catch {
      response = null;
    }
    const retryable = response === null || response.status >= 500;
    if (!retryable) {
      if (!response.ok) throw new ApiError(response.status, await readError(response));
      return { status: response.status, data: await response.json() };
    }
    if (attempt >= SEND_ATTEMPTS) {
      throw response === null
        ? new ApiError(0, {}, true)
        : new ApiError(response.status, await readError(response), true);
    }
    onRetry(attempt);
    await new Promise((resolve) => setTimeout(resolve, 300 + backoffDelay(attempt, 500, 4000)));
  }
}
