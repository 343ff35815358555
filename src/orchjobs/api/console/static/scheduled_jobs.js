// The scheduled-jobs page: the list (GET OrchestratorJobs/ScheduledJobs), unschedule (selected, or all matching
// after a preview), reschedule failed runs (after a preview), and schedule a custom job. Every action is a call of
// the JSON API (docs/console.md).
import {
  $, API, JOBS, api, element, fillTable, goLive, may, plural, queryBox, ready, say as sayIn, when,
} from "./console.js";

const MODIFY = "/agents/management/modify/";
const SCHEDULE = "/certificate_stores/schedule/";
const PAGE_SIZE = 25;
const COLUMNS = 7;
// JobTypeFields' Type: 1 String, 2 Int, 3 DateTime, 4 Bool.
const FIELD_INPUT = { 1: "text", 2: "number", 3: "datetime-local", 4: "checkbox" };

const state = { query: "", page: 1, sortField: "Requested", ascending: false, total: 0, rows: [],
              canSchedule: false, canCustom: false, preview: null, reschedule: null, jobTypes: [] };

function say(text, isError) {
  sayIn($("message"), text, isError);
}

function listParams(extra) {
  const params = new URLSearchParams(extra);
  if (state.query.trim()) params.set("pq.queryString", state.query);
  return params;
}

async function loadTable() {
  const params = listParams({
    "pq.pageReturned": String(state.page),
    "pq.returnLimit": String(PAGE_SIZE),
    "pq.sortField": state.sortField,
    "pq.sortAscending": state.ascending ? "0" : "1",
  });
  try {
    const [rows, count] = await Promise.all([
      api("GET", `${JOBS}/ScheduledJobs?${params}`),
      api("GET", `${JOBS}/ScheduledJobs/Count?${listParams({})}`),
    ]);
    state.rows = rows;
    state.total = count.Count;
  } catch (error) {
    say(error.message, true);
    return;
  }
  renderRows();
}

// A KeyfactorSchedule in words, in the viewer's time zone.
function scheduleText(schedule) {
  if (!schedule || schedule.Immediate) return "Immediately";
  if (schedule.Interval) return `Every ${plural(schedule.Interval.Minutes, "minute")}`;
  const time = (value) => new Date(value).toLocaleTimeString(undefined, { timeStyle: "short" });
  if (schedule.Daily) return `Daily at ${time(schedule.Daily.Time)}`;
  if (schedule.ExactlyOnce) return `Once at ${when(schedule.ExactlyOnce.Time)}`;
  if (schedule.Weekly) return `Weekly at ${time(schedule.Weekly.Time)}`;
  if (schedule.Monthly) return `Monthly on day ${schedule.Monthly.Day} at ${time(schedule.Monthly.Time)}`;
  return Object.keys(schedule)[0] || "";
}

function renderRows() {
  const kept = new Set(selectedIds());
  const rows = state.rows.map((job) => {
    const select = element("input", { type: "checkbox", className: "row-select", value: job.Id,
                                       checked: kept.has(job.Id) });
    select.setAttribute("aria-label", `Select ${job.JobType} job on ${job.ClientMachine}`);
    select.addEventListener("change", selectionChanged);
    const row = element("tr", { className: "static" },
      element("td", { className: "select" }, select),
      element("td", {}, job.JobType),
      element("td", {}, job.ClientMachine),
      element("td", { className: "wide" }, job.Target || ""),
      element("td", {}, scheduleText(job.Schedule)),
      element("td", { className: "wide" }, when(job.Requested)),
      element("td", {}, job.NextRun ? when(job.NextRun) : "in flight"),
    );
    row.dataset.id = job.Id;
    return row;
  });
  fillTable(document.querySelector("#jobs tbody"), rows, COLUMNS, "No scheduled jobs match.");
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  $("paging-status").textContent = `Page ${state.page} of ${pages} · ${plural(state.total, "job")}`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.page >= pages;
  $("select-all").checked = false;
  for (const header of document.querySelectorAll("#jobs th[data-sort]")) {
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
  $("unschedule-selected").disabled = count === 0;
  $("unschedule-selected").textContent = count ? `Unschedule ${count} selected` : "Unschedule selected";
}

async function unscheduleSelected() {
  const ids = selectedIds();
  if (!ids.length) return;
  try {
    await api("POST", `${JOBS}/Unschedule`, { JobIds: ids });
    say(`Unscheduled ${plural(ids.length, "job")}.`);
  } catch (error) {
    say(error.message, true);
  }
  await loadTable();
}

async function previewUnschedule() {
  const query = state.query.trim();
  if (!query) {
    say("Type a query and search first: unscheduling all needs a query.", true);
    return;
  }
  try {
    const preview = await api("POST", `${JOBS}/Unschedule/Preview`, { Query: query });
    state.preview = preview;
    $("preview-text").textContent =
      `The query selects ${plural(preview.Selected, "job")}; ${preview.Eligible} will be unscheduled.`;
    $("preview-confirm").disabled = preview.Eligible === 0;
    $("preview").hidden = false;
    $("preview-confirm").focus();
    say("");
  } catch (error) {
    say(error.message, true);
  }
}

async function commitUnschedule() {
  const preview = state.preview;
  if (!preview) return;
  try {
    await api("POST", `${JOBS}/Unschedule`, { Query: preview.Query, PreviewToken: preview.PreviewToken });
    say(`Unscheduled ${plural(preview.Eligible, "job")}.`);
  } catch (error) {
    say(error.status === 409 ? `Nothing was unscheduled: the jobs changed meanwhile. ${error.message}`
                             : error.message, true);
  }
  state.preview = null;
  $("preview").hidden = true;
  await loadTable();
}

async function previewReschedule() {
  const query = $("reschedule-query").value.trim();
  if (!query) {
    say("Type a job-history query for the failed runs to reschedule.", true);
    return;
  }
  try {
    const preview = await api("POST", `${JOBS}/Reschedule/Preview`, { Query: query });
    state.reschedule = preview;
    $("reschedule-preview-text").textContent =
      `The query selects ${plural(preview.Selected, "run")}; ${plural(preview.Eligible, "job")} will become due now.`;
    $("reschedule-confirm").disabled = preview.Eligible === 0;
    $("reschedule-preview").hidden = false;
    $("reschedule-confirm").focus();
  } catch (error) {
    say(error.message, true);
  }
}

async function commitReschedule() {
  const preview = state.reschedule;
  if (!preview) return;
  try {
    await api("POST", `${JOBS}/Reschedule`, { Query: preview.Query, PreviewToken: preview.PreviewToken });
    say(`Rescheduled ${plural(preview.Eligible, "job")}.`);
  } catch (error) {
    say(error.status === 409 ? `Nothing was rescheduled: the runs changed meanwhile. ${error.message}`
                             : error.message, true);
  }
  state.reschedule = null;
  $("reschedule-preview").hidden = true;
  await loadTable();
}

// Schedule a custom job: the job types and the approved orchestrators to choose from, one input per field.
async function loadCustomChoices() {
  const [types, agents] = await Promise.all([
    api("GET", `${API}/JobTypes/Custom?${new URLSearchParams({ "pq.returnLimit": "200" })}`),
    api("GET", `${API}/Agents?${new URLSearchParams({
      "pq.queryString": "Status -eq 2", "pq.returnLimit": "200", "pq.sortField": "ClientMachine",
    })}`),
  ]);
  state.jobTypes = types;
  $("custom-type").replaceChildren(...types.map((type) => element("option", { value: type.JobTypeName },
                                                                   type.JobTypeName)));
  $("custom-agent").replaceChildren(...agents.map((agent) => element("option", { value: agent.AgentId },
                                                                      agent.ClientMachine)));
  if (!types.length) {
    $("custom-error").textContent = "No custom job types yet: define one (POST /KeyfactorAPI/JobTypes/Custom).";
  }
  renderFields();
}

function renderFields() {
  const type = state.jobTypes.find((each) => each.JobTypeName === $("custom-type").value);
  const parts = [];
  (type ? type.JobTypeFields || [] : []).forEach((field, index) => {
    const id = `custom-field-${index}`;
    const input = element("input", { id, type: FIELD_INPUT[field.Type] || "text", className: "custom-field" });
    input.dataset.name = field.Name;
    input.dataset.type = String(field.Type);
    if (field.Required) input.required = true;
    if (field.DefaultValue !== undefined) {
      if (field.Type === 4) input.checked = field.DefaultValue === "true";
      else if (field.Type === 3) input.value = field.DefaultValue.replace(/Z$/, "").slice(0, 16);
      else input.value = field.DefaultValue;
    }
    const label = element("label", { htmlFor: id }, field.Name + (field.Required ? " (required)" : ""));
    parts.push(label, input);
  });
  $("custom-fields").replaceChildren(...parts);
}

function scheduleKindChanged() {
  const kind = $("custom-schedule").value;
  for (const [name, shown] of [["at", kind === "ExactlyOnce"], ["minutes", kind === "Interval"],
                               ["daily", kind === "Daily"]]) {
    $(`custom-${name}`).hidden = !shown;
    $(`custom-${name}-label`).hidden = !shown;
  }
}

// The API's Schedule shape (docs/scheduling.md); times entered in the viewer's zone, sent in UTC.
function scheduleValue() {
  const kind = $("custom-schedule").value;
  const utc = (local) => (local ? new Date(local).toISOString() : local);
  if (kind === "ExactlyOnce") return { ExactlyOnce: { Time: utc($("custom-at").value) } };
  if (kind === "Interval") return { Interval: { Minutes: Number($("custom-minutes").value) } };
  if (kind === "Daily") {
    const [hours, minutes] = ($("custom-daily").value || "00:00").split(":").map(Number);
    const at = new Date();
    at.setHours(hours, minutes, 0, 0);
    return { Daily: { Time: at.toISOString() } };
  }
  return { Immediate: true };
}

function fieldValues() {
  const values = {};
  for (const input of document.querySelectorAll(".custom-field")) {
    const type = Number(input.dataset.type);
    if (type === 4) values[input.dataset.name] = input.checked;
    else if (input.value === "") continue;  // absent: the field's default applies, a required one is refused
    else if (type === 2) values[input.dataset.name] = Number.isNaN(Number(input.value)) ? input.value
                                                                                        : Number(input.value);
    else if (type === 3) values[input.dataset.name] = new Date(input.value).toISOString();
    else values[input.dataset.name] = input.value;
  }
  return values;
}

async function scheduleCustom(event) {
  event.preventDefault();
  $("custom-error").textContent = "";
  $("custom-message").textContent = "";
  const body = {
    AgentId: $("custom-agent").value,
    JobTypeName: $("custom-type").value,
    Schedule: scheduleValue(),
    JobFields: fieldValues(),
  };
  try {
    const job = await api("POST", `${JOBS}/Custom`, body);
    $("custom-message").textContent = `Scheduled ${job.JobTypeName} job ${job.JobId}.`;
  } catch (error) {
    // The API's 400 says what is wrong (every field at once); it stays beside the form.
    $("custom-error").textContent = error.message;
    return;
  }
  await loadTable();
}

function wire() {
  queryBox({ resource: "ScheduledJobs", input: $("query"), status: $("query-status"), mark: $("query-mark"),
             everything: "No query: every scheduled job." });
  queryBox({ resource: "JobHistory", input: $("reschedule-query"), status: $("reschedule-query-status"),
             mark: $("reschedule-query-mark"), everything: "A query is needed." });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value;
    state.page = 1;
    state.preview = null;
    $("preview").hidden = true;
    loadTable();
  });
  for (const header of document.querySelectorAll("#jobs th[data-sort]")) {
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
  $("unschedule-selected").addEventListener("click", unscheduleSelected);
  $("unschedule-all").addEventListener("click", previewUnschedule);
  $("preview-confirm").addEventListener("click", commitUnschedule);
  $("preview-cancel").addEventListener("click", () => { state.preview = null; $("preview").hidden = true; });
  $("reschedule-form").addEventListener("submit", (event) => { event.preventDefault(); previewReschedule(); });
  $("reschedule-confirm").addEventListener("click", commitReschedule);
  $("reschedule-cancel").addEventListener("click", () => {
    state.reschedule = null;
    $("reschedule-preview").hidden = true;
  });
  $("custom-type").addEventListener("change", renderFields);
  $("custom-schedule").addEventListener("change", scheduleKindChanged);
  $("custom-form").addEventListener("submit", scheduleCustom);
}

async function start() {
  wire();
  try {
    state.canCustom = await may(MODIFY);
    state.canSchedule = state.canCustom && (await may(SCHEDULE));
  } catch (error) {
    say(error.message, true);
  }
  $("actions").hidden = !state.canSchedule;
  $("reschedule").hidden = !state.canSchedule;
  $("custom").hidden = !state.canCustom;
  document.body.classList.toggle("read-only", !state.canSchedule);
  const loads = [loadTable()];
  if (state.canCustom) loads.push(loadCustomChoices().catch((error) => { $("custom-error").textContent = error.message; }));
  await Promise.all(loads);
  // A job handed out or completed changes its next run: the table follows job history.
  goLive($("live"), loadTable);
  ready();
}

start();
