// A competition's live tables, recomputed in the browser from the match views the page keeps
// live: a goal in a group's match moves its table at once, without every fan's page asking
// the server for the standings again. The rules of scoreboard/domain/standings.py table()
// (the server decided which tables exist and which teams each has; this only counts):
// finished matches with their final score, live ones with their current score (marked live),
// points per the sport (win, draw, loss), ordered by points, goal difference, goals for, name.

const COUNTED = new Set(["finished", "live", "half_time"]);
const LIVE = new Set(["live", "half_time"]);

/** The rows of one table from its matches; `teams` keeps unplayed teams in it with zeros. */
export function tableRows(teams, matches, tablePoints) {
  const blank = (team) => ({
    team, played: 0, won: 0, drawn: 0, lost: 0, goals_for: 0, goals_against: 0, points: 0, live: false,
  });
  const rows = new Map([...teams].map((team) => [team, blank(team)]));
  const row = (team) => rows.get(team) || rows.set(team, blank(team)).get(team);
  for (const match of matches) {
    const home = row(match.home);
    const away = row(match.away);
    if (!COUNTED.has(match.status)) continue;
    const points = tablePoints[match.sport || "football"] || [3, 1, 0];
    record(home, match.score.home, match.score.away, points, LIVE.has(match.status));
    record(away, match.score.away, match.score.home, points, LIVE.has(match.status));
  }
  const sorted = [...rows.values()].map((r) => ({ ...r, goal_difference: r.goals_for - r.goals_against }));
  sorted.sort((a, b) => b.points - a.points || b.goal_difference - a.goal_difference
    || b.goals_for - a.goals_for || (a.team < b.team ? -1 : a.team > b.team ? 1 : 0));
  return sorted.map((r, i) => ({ ...r, position: i + 1 }));
}

function record(row, scored, conceded, [win, draw, loss], live) {
  row.played += 1;
  row.goals_for += scored;
  row.goals_against += conceded;
  if (scored > conceded) {
    row.won += 1;
    row.points += win;
  } else if (scored === conceded) {
    row.drawn += 1;
    row.points += draw;
  } else {
    row.lost += 1;
    row.points += loss;
  }
  row.live = row.live || live;
}

function cell(tag, text, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = text;
  return el;
}

/** A row as templates/_standings.html standings_row prints it. */
function standingsRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.team = row.team;
  if (row.live) tr.className = "live";
  const team = cell("th", "", "team-cell");
  team.scope = "row";
  const live = cell("span", "Live", "row-live");
  live.hidden = !row.live;
  team.append(cell("span", row.team, "team"), live);
  const gd = row.goal_difference > 0 ? `+${row.goal_difference}` : String(row.goal_difference);
  tr.append(cell("td", String(row.position), "pos"), team,
    ...[row.played, row.won, row.drawn, row.lost].map((n) => cell("td", String(n))),
    cell("td", String(row.goals_for), "wide"), cell("td", String(row.goals_against), "wide"),
    cell("td", gd), cell("td", String(row.points), "pts"));
  return tr;
}

/** What a fan sees of a table's rows, to repaint only when it changed. */
const signature = (rows) => rows.map((r) => [r.team, r.played, r.won, r.drawn, r.lost,
  r.goals_for, r.goals_against, r.points, r.live].join(",")).join(";");

export class Standings {
  /** tables: the server's first tables; views: matchId -> match view (kept live by the page). */
  constructor(root, tables, views, tablePoints) {
    this.views = views;
    this.tablePoints = tablePoints;
    this.tables = tables.map((table, index) => ({
      stage: table.stage ?? null,
      teams: new Set(table.rows.map((r) => r.team)),
      figure: root.querySelector(`.standings[data-table="${index}"]`),
      shown: signature(table.rows),
    }));
  }

  /** The table a match counts in, if any. */
  tableOf(match) {
    return this.tables.find((t) => t.stage === (match.stage ?? null) && t.teams.has(match.home));
  }

  /** Recount the table of a match whose score or status changed; repaint it if it moved. */
  update(match) {
    const table = this.tableOf(match);
    if (!table || !table.figure) return;
    const games = [...this.views.values()].filter((m) => this.tableOf(m) === table);
    const rows = tableRows(table.teams, games, this.tablePoints);
    const shown = signature(rows);
    if (shown === table.shown) return;
    table.shown = shown;
    table.figure.querySelector("tbody").replaceChildren(...rows.map(standingsRow));
    const live = games.some((m) => LIVE.has(m.status));
    table.figure.dataset.hasLive = String(live);
    table.figure.querySelector(".table-live").hidden = !live;
  }
}
