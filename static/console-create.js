// The "Create a new match" form as the API's match body: fixture fields left empty are left
// out, the kickoff typed in the scorekeeper's own time is sent as an instant (UTC).

const TEXT_FIELDS = ["home", "away", "competition", "stage", "venue", "id"];

/** The body of POST /api/matches from the create form's FormData. */
export function matchBody(values) {
  const get = (name) => String(values.get(name) ?? "").trim();
  const body = { sport: get("sport") || "football" };
  for (const name of TEXT_FIELDS) if (get(name)) body[name] = get(name);
  const kickoff = get("starts_at");
  if (kickoff) {
    // A datetime-local value has no offset: Date reads it in the browser's time zone.
    const instant = new Date(kickoff);
    if (!Number.isNaN(instant.getTime())) body.starts_at = instant.toISOString();
  }
  const minutes = get("period_minutes");
  if (minutes) body.period_minutes = Number(minutes);
  if (get("private")) body.private = true;   // a checked box is in the form data, as "on"
  return body;
}

/** "(your time, Europe/Paris)": which zone the kickoff field is read in. */
export function zoneNote() {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone ? `(your time, ${zone})` : "(your time)";
  } catch {
    return "(your time)";
  }
}
