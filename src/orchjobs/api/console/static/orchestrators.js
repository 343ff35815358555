// The orchestrators page: the list (GET /Agents), health (GET /Agents/Health, judged by the server against the
// heartbeat interval), approve / disapprove / reset, and fetch logs then read them from job history. Every action
// is a call of the JSON API (docs/console.md).
import {
  $, API, JOBS, RESULT, STATUS, api, button, element, fillTable, goLive, may, pill, plural, queryBox, ready,
  say as sayIn, when,
} from "./console.js";

const AGENTS = `${API}/Agents`;
const MODIFY = "/agents/management/modify/";
const AGENT_STATUS = ["Unknown", "New", "Approved", "Disapproved"];
const PLATFORM = ["Unknown", ".NET", "Java", "Mac", "Android", "Native", "Bash", "Universal Orchestrator"];
const PAGE_SIZE = 25;
const COLUMNS = 8;

const state = { query: "", page: 1, sortField: "ClientMachine", ascending: true, rows: [], health: {},
              canModify: false, logsOf: null, pendingReset: [] };

function say(text, isError) {
  sayIn($("message"), text, isError);
}

async function loadTable() {
  const params = new URLSearchParams({
    "pq.pageReturned": String(state.page),
    "pq.returnLimit": String(PAGE_SIZE),
    "pq.sortField": state.sortField,
    "pq.sortAscending": state.ascending ? "0" : "1",
  });
  if (state.query.trim()) params.set("pq.queryString", state.query);
  try {
    state.rows = await api("GET", `${AGENTS}?${params}`);
    state.health = {};
    if (state.rows.length) {
      const ids = new URLSearchParams(state.rows.map((row) => ["agentIds", row.AgentId]));
      const health = await api("GET", `${AGENTS}/Health?${ids}`);
      for (const item of health.Agents) state.health[item.AgentId] = item.Health;
      $("health-legend").textContent =
        `Health: Late when not seen for more than ${health.LateAfterMinutes} minutes (2 heartbeat intervals of ` +
        `${health.HeartbeatMinutes}), Silent after ${health.SilentAfterMinutes} minutes.`;
    }
  } catch (error) {
    say(error.message, true);
    return;
  }
  // The open logs panel follows its orchestrator's row (approved meanwhile: it may fetch logs now).
  const shown = state.logsOf && state.rows.find((row) => row.AgentId === state.logsOf.AgentId);
  if (shown) {
    state.logsOf = shown;
    $("fetch-logs").hidden = !(state.canModify && shown.Status === 2);
  }
  renderRows();
}

function capabilities(list) {
  if (!list.length) return "none";
  const names = element("ul", {}, ...list.map((name) => element("li", {}, name)));
  return element("details", {}, element("summary", {}, plural(list.length, "capability", "capabilities")), names);
}

function renderRows() {
  const kept = new Set(selectedIds());
  const rows = state.rows.map((agent) => {
    const select = element("input", { type: "checkbox", className: "row-select", value: agent.AgentId,
                                       checked: kept.has(agent.AgentId) });
    select.setAttribute("aria-label", `Select ${agent.ClientMachine}`);
    select.addEventListener("change", selectionChanged);
    const health = state.health[agent.AgentId];
    const logs = button("Logs", () => openLogs(agent));
    logs.setAttribute("aria-label", `Logs of ${agent.ClientMachine}`);
    const cells = [
      element("td", { className: "select" }, select),
      element("td", {}, agent.ClientMachine),
      element("td", {}, pill(AGENT_STATUS, agent.Status, "agent")),
      element("td", { className: "wide" }, `${agent.Version} · ${PLATFORM[agent.AgentPlatform] || "Unknown"}`),
      element("td", {}, when(agent.LastSeen)),
      element("td", { className: "health" }, health ? pill([], health, "health") : ""),
      element("td", { className: "wide" }, capabilities(agent.Capabilities || [])),
      element("td", {}, logs),
    ];
    const row = element("tr", { className: "static" }, ...cells);
    row.dataset.id = agent.AgentId;
    return row;
  });
  fillTable(document.querySelector("#orchestrators tbody"), rows, COLUMNS, "No orchestrators match.");
  $("paging-status").textContent = `Page ${state.page} · ${plural(state.rows.length, "orchestrator")} shown`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.rows.length < PAGE_SIZE;
  $("select-all").checked = false;
  for (const header of document.querySelectorAll("#orchestrators th[data-sort]")) {
    const sorted = header.dataset.sort === state.sortField;
    header.setAttribute("aria-sort", sorted ? (state.ascending ? "ascending" : "descending") : "none");
  }
  selectionChanged();
}

function selectedIds() {
  return [...document.querySelectorAll(".row-select:checked")].map((box) => box.value);
}

function selectionChanged() {
  const count = selectedIds().length;
  for (const [id, verb] of [["approve", "Approve"], ["disapprove", "Disapprove"], ["reset", "Reset"]]) {
    $(id).disabled = count === 0;
    $(id).textContent = `${verb} ${count ? `${count} ` : ""}selected${id === "reset" ? "…" : ""}`;
  }
}

async function act(path, ids, done) {
  if (!ids.length) return;
  try {
    await api("POST", `${AGENTS}/${path}`, ids);
    say(`${done} ${plural(ids.length, "orchestrator")}.`);
  } catch (error) {
    say(error.message, true);
  }
  await refresh();
}

function askReset() {
  state.pendingReset = selectedIds();
  $("reset-text").textContent =
    `Reset ${plural(state.pendingReset.length, "orchestrator")}: their scheduled jobs, certificate stores and ` +
    "sessions are removed and they become New; job history is kept.";
  $("reset-confirm").hidden = false;
  $("reset-commit").focus();
}

async function commitReset() {
  $("reset-confirm").hidden = true;
  await act("Reset", state.pendingReset, "Reset");
}

// Logs: the latest FetchLogs run of the orchestrator in job history and the log it uploaded; while a FetchLogs
// job waits for the orchestrator (still scheduled, or its run in flight) the panel says so, and live updates
// read it again until the run completes.
async function openLogs(agent) {
  state.logsOf = agent;
  $("logs-title").textContent = `Logs of ${agent.ClientMachine}`;
  $("fetch-logs").hidden = !(state.canModify && agent.Status === 2);
  $("logs").hidden = false;
  $("logs").focus();
  await loadLogs();
}

async function loadLogs() {
  const agent = state.logsOf;
  if (!agent) return;
  const query = `JobType -eq "FetchLogs" AND AgentId -eq "${agent.AgentId}"`;
  const runParams = new URLSearchParams({
    "pq.queryString": query, "pq.pageReturned": "1", "pq.returnLimit": "1",
    "pq.sortField": "JobHistoryId", "pq.sortAscending": "1",
  });
  const jobParams = new URLSearchParams({ "pq.queryString": query });
  let runs, waiting;
  try {
    [runs, waiting] = await Promise.all([
      api("GET", `${JOBS}/JobHistory?${runParams}`),
      api("GET", `${JOBS}/ScheduledJobs/Count?${jobParams}`),
    ]);
  } catch (error) {
    say(error.message, true);
    return;
  }
  if (state.logsOf?.AgentId !== agent.AgentId) return;  // another orchestrator's panel opened meanwhile
  const run = runs[0];
  const inFlight = run && (run.Status === 1 || run.Status === 2);
  const state_ = $("logs-state");
  if (waiting.Count > 0 && !inFlight) {
    state_.textContent = "A FetchLogs job waits for the orchestrator to check in…";
  } else if (inFlight) {
    state_.textContent = `The orchestrator is fetching its logs (${STATUS[run.Status]})…`;
  } else if (run) {
    state_.textContent = `Latest FetchLogs run: ${RESULT[run.Result]}, ${when(run.OperationEnd || run.OperationStart)}.`;
  } else {
    state_.textContent = "No logs fetched yet.";
  }
  state_.dataset.waiting = String(waiting.Count > 0 || Boolean(inFlight));
  const fields = $("logs-run");
  fields.replaceChildren();
  if (run) {
    const pairs = [["Run", String(run.JobHistoryId)], ["Status", STATUS[run.Status]], ["Result", RESULT[run.Result]],
                   ["Started", when(run.OperationStart)], ["Ended", when(run.OperationEnd)],
                   ["Message", run.Message]];
    for (const [name, value] of pairs) {
      if (value) fields.append(element("dt", {}, name), element("dd", {}, value));
    }
  }
  if (!run || inFlight) {
    $("logs-data").textContent = run ? "…" : "";
    return;
  }
  try {
    const data = await api("GET", `${JOBS}/JobStatus/Data?jobHistoryId=${run.JobHistoryId}`);
    if (state.logsOf?.AgentId === agent.AgentId) $("logs-data").textContent = data.Data || "(no log text)";
  } catch (error) {
    $("logs-data").textContent = error.message;
  }
}

async function fetchLogs() {
  const agent = state.logsOf;
  try {
    await api("POST", `${AGENTS}/${agent.AgentId}/FetchLogs`);
    say(`Asked ${agent.ClientMachine} for its logs.`);
  } catch (error) {
    say(error.message, true);
  }
  await loadLogs();
}

async function refresh() {
  await loadTable();
  await loadLogs();
}

function wire() {
  queryBox({ resource: "Agents", input: $("query"), status: $("query-status"), mark: $("query-mark"),
             everything: "No query: every orchestrator." });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value;
    state.page = 1;
    loadTable();
  });
  for (const header of document.querySelectorAll("#orchestrators th[data-sort]")) {
    header.querySelector("button").addEventListener("click", () => {
      const field = header.dataset.sort;
      state.ascending = field === state.sortField ? !state.ascending : true;
      state.sortField = field;
      state.page = 1;
      loadTable();
    });
  }
  $("previous-page").addEventListener("click", () => { state.page -= 1; loadTable(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadTable(); });
  $("select-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll(".row-select")) box.checked = event.target.checked;
    selectionChanged();
  });
  $("approve").addEventListener("click", () => act("Approve", selectedIds(), "Approved"));
  $("disapprove").addEventListener("click", () => act("Disapprove", selectedIds(), "Disapproved"));
  $("reset").addEventListener("click", askReset);
  $("reset-commit").addEventListener("click", commitReset);
  $("reset-cancel").addEventListener("click", () => { $("reset-confirm").hidden = true; });
  $("fetch-logs").addEventListener("click", fetchLogs);
  $("logs-close").addEventListener("click", () => { state.logsOf = null; $("logs").hidden = true; });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("logs").hidden) { state.logsOf = null; $("logs").hidden = true; }
  });
}

async function start() {
  wire();
  try {
    state.canModify = await may(MODIFY);
  } catch (error) {
    say(error.message, true);
  }
  $("actions").hidden = !state.canModify;
  document.body.classList.toggle("read-only", !state.canModify);
  await loadTable();
  // A FetchLogs run handed out or completed is a change of job history: the table and the open logs follow it.
  goLive($("live"), refresh);
  ready();
}

start();
