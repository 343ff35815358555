// The audit-log page: who changed what and when, paged, queried and sorted on the server, each entry's data in its
// details. Read-only, like the API it calls (docs/console.md, docs/audit.md).
import { $, API, api, button, element, fillTable, pill, queryBox, ready, say as sayIn, when } from "./console.js";

const AUDIT = `${API}/Audit`;
const PAGE_SIZE = 25;

const state = { query: "", page: 1, sortField: "At", ascending: false, total: 0, rows: [] };
const say = (text, isError) => sayIn($("message"), text, isError);

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
  let rows, count;
  try {
    [rows, count] = await Promise.all([api("GET", `${AUDIT}?${params}`), api("GET", `${AUDIT}/Count?${listParams({})}`)]);
  } catch (error) {
    say(error.message, true);
    return;
  }
  say("");
  state.rows = rows;
  state.total = count.Count !== undefined ? count.Count : count;
  const body = document.querySelector("#audit tbody");
  fillTable(body, rows.map((entry) => {
    const row = element("tr", {});
    row.dataset.id = String(entry.Id);
    row.append(
      element("td", {}, String(entry.Id)),
      element("td", {}, when(entry.At)),
      element("td", {}, entry.Actor),
      element("td", {}, pill([], entry.Action, "action")),
      element("td", { className: "wide" }, entry.Resource),
      element("td", { className: "wide" }, String(entry.RowCount)),
      element("td", {}, button("Details", () => showDetails(entry), { ariaLabel: `Details of entry ${entry.Id}` })),
    );
    row.addEventListener("click", (event) => {
      if (!event.target.closest("button")) showDetails(entry);
    });
    return row;
  }), 7, "No entries match.");
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  $("paging-status").textContent = `Page ${state.page} of ${pages} · ${state.total} entries`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.page >= pages;
  for (const header of document.querySelectorAll("#audit th[data-sort]")) {
    const sorted = header.dataset.sort === state.sortField;
    header.setAttribute("aria-sort", sorted ? (state.ascending ? "ascending" : "descending") : "none");
  }
}

function showDetails(entry) {
  $("details-title").textContent = `Entry ${entry.Id}: ${entry.Action}`;
  const pairs = [
    ["Who", entry.Actor], ["When", when(entry.At)], ["Action", entry.Action], ["Resource", entry.Resource],
    ["Rows", String(entry.RowCount)], ["Query", entry.Query],
  ];
  $("details-fields").replaceChildren(...pairs.filter(([, value]) => value)
    .flatMap(([name, value]) => [element("dt", {}, name), element("dd", {}, value)]));
  $("details-ids").textContent = entry.Ids ? JSON.stringify(entry.Ids, null, 2) : "(none)";
  $("details-data").textContent = entry.Details ? JSON.stringify(entry.Details, null, 2) : "(none)";
  $("details").hidden = false;
  $("details").focus();
}

function closeDetails() {
  $("details").hidden = true;
}

function wire() {
  queryBox({
    resource: "Audit", input: $("query"), status: $("query-status"), mark: $("query-mark"),
    everything: "No query: every entry.",
  });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value;
    state.page = 1;
    loadTable();
  });
  for (const header of document.querySelectorAll("#audit th[data-sort]")) {
    header.querySelector("button").addEventListener("click", () => {
      const field = header.dataset.sort;
      state.ascending = field === state.sortField ? !state.ascending : field !== "At" && field !== "Id";
      state.sortField = field;
      state.page = 1;
      loadTable();
    });
  }
  $("previous-page").addEventListener("click", () => { state.page -= 1; loadTable(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadTable(); });
  $("details-close").addEventListener("click", closeDetails);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("details").hidden) closeDetails();
  });
}

async function start() {
  wire();
  await loadTable();
  ready();
}

start();
