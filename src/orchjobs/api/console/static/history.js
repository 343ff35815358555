// The job-history page: every action is a call of the JSON API with the session cookie, the CSRF token and
// Command's x-keyfactor-requested-with header. Plain JavaScript, no build step (docs/console.md).
import {
  $, JOBS, RESULT, STATUS, api, goLive, may, pill, queryBox, ready, say as sayIn, when,
} from "./console.js";

const ACKNOWLEDGE = "/agents/management/modify/acknowledge/";
const PAGE_SIZE = 25;

const state = { query: "", page: 1, sortField: "JobHistoryId", ascending: false, total: 0, rows: [],
              canAcknowledge: false, failureQuery: "", preview: null };

function listParams(extra) {
const params = new URLSearchParams(extra);
if (state.query.trim()) params.set("pq.queryString", state.query);
return params;
}

function say(text, isError) {
sayIn($("message"), text, isError);
}

// The failure count: how many failed and warning runs still wait, in the age-out window.
async function loadFailureCount() {
  const count = await api("GET", `${JOBS}/JobHistory/FailureCount`);
  const badge = $("failure-badge");
  badge.textContent = `${count.Count} failed or warning ${count.Count === 1 ? "run" : "runs"} to acknowledge`;
  badge.classList.toggle("zero", count.Count === 0);
  badge.disabled = false;
  badge.dataset.count = String(count.Count);
  $("failure-window").textContent = `in the last ${count.AgeOutDays} days; select to list them`;
  state.failureQuery = count.Query;
}

async function loadTable() {
  const params = listParams({
    "pq.pageReturned": String(state.page),
    "pq.returnLimit": String(PAGE_SIZE),
    "pq.sortField": state.sortField,
    "pq.sortAscending": state.ascending ? "0" : "1",
  });
  let rows, count;
  try {
    [rows, count] = await Promise.all([
      api("GET", `${JOBS}/JobHistory?${params}`),
      api("GET", `${JOBS}/JobHistory/Count?${listParams({})}`),
    ]);
  } catch (error) {
    say(error.message, true);
    return;
  }
  state.rows = rows;
  state.total = count.Count !== undefined ? count.Count : count;
  renderRows();
}

function renderRows() {
  const body = document.querySelector("#history tbody");
  // A live refresh keeps what the viewer selected (the runs still on the page).
  const kept = new Set(selectedIds());
  body.replaceChildren();
  for (const run of state.rows) {
    const row = document.createElement("tr");
    row.dataset.id = String(run.JobHistoryId);
    const select = document.createElement("input");
    select.type = "checkbox";
    select.className = "row-select";
    select.value = String(run.JobHistoryId);
    select.setAttribute("aria-label", `Select run ${run.JobHistoryId}`);
    select.checked = kept.has(run.JobHistoryId);
    select.addEventListener("change", selectionChanged);
    const cells = [
      select,
      String(run.JobHistoryId),
      run.JobType || "",
      run.AgentMachine || "",
      run.StorePath || "",
      when(run.OperationStart),
      pill(STATUS, run.Status, "status"),
      pill(RESULT, run.Result, "result"),
      run.Message || "",
    ];
    cells.forEach((content, index) => {
      const cell = document.createElement("td");
      if (index === 0) cell.className = "select";
      if (index === 3 || index === 4 || index === 8) cell.className = "wide";
      if (index === 8) cell.title = run.Message || "";
      cell.append(content);
      row.append(cell);
    });
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = "Details";
    open.setAttribute("aria-label", `Details of run ${run.JobHistoryId}`);
    open.addEventListener("click", () => showDetails(run));
    const cell = document.createElement("td");
    cell.append(open);
    row.append(cell);
    row.addEventListener("click", (event) => {
      if (event.target.closest("button, input")) return;
      showDetails(run);
    });
    body.append(row);
  }
  if (!state.rows.length) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 10;
    cell.className = "empty";
    cell.textContent = "No runs match.";
    row.append(cell);
    body.append(row);
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  $("paging-status").textContent = `Page ${state.page} of ${pages} · ${state.total} runs`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.page >= pages;
  $("select-all").checked = false;
  for (const header of document.querySelectorAll("#history th[data-sort]")) {
    const sorted = header.dataset.sort === state.sortField;
    header.setAttribute("aria-sort", sorted ? (state.ascending ? "ascending" : "descending") : "none");
  }
  selectionChanged();
}

function selectedIds() {
  return [...document.querySelectorAll(".row-select:checked")].map((box) => Number(box.value));
}

function selectionChanged() {
  const count = selectedIds().length;
  const button = $("ack-selected");
  button.disabled = count === 0;
  button.textContent = count ? `Acknowledge ${count} selected` : "Acknowledge selected";
}

async function refresh() {
  await Promise.all([loadFailureCount().catch((error) => say(error.message, true)), loadTable()]);
}

async function search(query) {
  state.query = query;
  state.page = 1;
  hidePreview();
  await loadTable();
}

async function showDetails(run) {
  const panel = $("details");
  $("details-title").textContent = `Run ${run.JobHistoryId}`;
  const fields = $("details-fields");
  fields.replaceChildren();
  const pairs = [
    ["Job type", run.JobType], ["Orchestrator", run.AgentMachine], ["Target", run.StorePath],
    ["Job", run.JobId], ["Started", when(run.OperationStart)], ["Ended", when(run.OperationEnd)],
    ["Status", STATUS[run.Status]], ["Result", RESULT[run.Result]],
  ];
  for (const [name, value] of pairs) {
    if (!value) continue;
    const term = document.createElement("dt");
    term.textContent = name;
    const detail = document.createElement("dd");
    detail.textContent = value;
    fields.append(term, detail);
  }
  $("details-message").textContent = run.Message || "(no message)";
  $("details-ack").textContent = run.AcknowledgedBy
    ? `Acknowledged by ${run.AcknowledgedBy} at ${when(run.AcknowledgedAt)}` +
      (run.AcknowledgeNote ? `: ${run.AcknowledgeNote}` : ".")
    : "Not acknowledged.";
  const unacknowledge = $("unacknowledge");
  unacknowledge.hidden = !(state.canAcknowledge && run.Status === 4);
  unacknowledge.onclick = () => unacknowledgeRun(run.JobHistoryId);
  $("details-data").textContent = "…";
  panel.hidden = false;
  panel.focus();
  try {
    const data = await api("GET", `${JOBS}/JobStatus/Data?jobHistoryId=${run.JobHistoryId}`);
    $("details-data").textContent = data.Data || "(none)";
  } catch (error) {
    $("details-data").textContent = error.message;
  }
}

function closeDetails() {
  $("details").hidden = true;
}

async function acknowledgeSelected() {
  const ids = selectedIds();
  if (!ids.length) return;
  const body = { JobAuditIds: ids };
  const note = $("note").value.trim();
  if (note) body.Note = note;
  try {
    await api("POST", `${JOBS}/Acknowledge`, body);
    say(`Acknowledged ${ids.length} ${ids.length === 1 ? "run" : "runs"}.`);
  } catch (error) {
    say(error.message, true);
  }
  await refresh();
}

// Acknowledge all matching: preview first (how many the query selects, how many will change), then commit
// exactly that with the preview's token; a 409 means the runs changed meanwhile.
async function previewAll() {
  const query = state.query.trim();
  if (!query) {
    say("Type a query (or select the failure count) first: acknowledging all needs a query.", true);
    return;
  }
  try {
    const preview = await api("POST", `${JOBS}/Acknowledge/Preview`, { Query: query });
    state.preview = preview;
    $("preview-text").textContent =
      `The query selects ${preview.Selected} ${preview.Selected === 1 ? "run" : "runs"}; ` +
      `${preview.Eligible} will be acknowledged.`;
    $("preview-confirm").disabled = preview.Eligible === 0;
    $("preview").hidden = false;
    $("preview-confirm").focus();
    say("");
  } catch (error) {
    say(error.message, true);
  }
}

function hidePreview() {
  state.preview = null;
  $("preview").hidden = true;
}

async function commitPreview() {
  const preview = state.preview;
  if (!preview) return;
  const body = { Query: preview.Query, PreviewToken: preview.PreviewToken };
  const note = $("note").value.trim();
  if (note) body.Note = note;
  try {
    await api("POST", `${JOBS}/Acknowledge`, body);
    say(`Acknowledged ${preview.Eligible} ${preview.Eligible === 1 ? "run" : "runs"}.`);
  } catch (error) {
    if (error.status === 409) {
      say(`Nothing was acknowledged: the runs changed meanwhile. ${error.message}`, true);
    } else {
      say(error.message, true);
    }
  }
  hidePreview();
  await refresh();
}

async function unacknowledgeRun(id) {
  try {
    await api("POST", `${JOBS}/Unacknowledge`, { JobAuditIds: [id] });
    say(`Run ${id} is no longer acknowledged.`);
    closeDetails();
  } catch (error) {
    say(error.message, true);
  }
  await refresh();
}

async function loadPermissions() {
  state.canAcknowledge = await may(ACKNOWLEDGE);
  $("actions").hidden = !state.canAcknowledge;
  document.body.classList.toggle("read-only", !state.canAcknowledge);
}

let queryChecker = null;

function wire() {
  queryChecker = queryBox({
    resource: "JobHistory", input: $("query"), status: $("query-status"), mark: $("query-mark"),
    everything: "No query: every run.",
  });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("query").value);
  });
  $("failure-badge").addEventListener("click", () => {
    $("query").value = state.failureQuery;
    queryChecker.explain();
    search(state.failureQuery);
  });
  for (const header of document.querySelectorAll("#history th[data-sort]")) {
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
  $("ack-selected").addEventListener("click", acknowledgeSelected);
  $("ack-all").addEventListener("click", previewAll);
  $("preview-confirm").addEventListener("click", commitPreview);
  $("preview-cancel").addEventListener("click", hidePreview);
  $("details-close").addEventListener("click", closeDetails);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("details").hidden) closeDetails();
  });
}

async function start() {
  wire();
  // A link from another page (a failure group's "List runs") names its query: /?query=...
  const linked = new URLSearchParams(window.location.search).get("query");
  if (linked) {
    $("query").value = linked;
    state.query = linked;
    queryChecker.explain();
  }
  try {
    await loadPermissions();
  } catch (error) {
    say(error.message, true);
  }
  await refresh();
  // Live updates: the badge and the current table page follow job history, keeping the query, sort, page,
  // selection and open details.
  goLive($("live"), refresh);
  ready();
}

start();
