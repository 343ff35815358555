// The certificate-stores page: stores (paged, queried, sorted), a store's inventory, and the jobs on it (schedule
// inventory, add a certificate, remove one). Every action is a call of the JSON API (docs/console.md).
import {
  $, API, api, button, element, fillTable, may, queryBox, ready, say as sayIn, when,
} from "./console.js";

const STORES = `${API}/CertificateStores`;
const SCHEDULE = "/certificate_stores/schedule/";
const PAGE_SIZE = 25;
const INVENTORY_SIZE = 25;

const state = { query: "", page: 1, sortField: "ClientMachine", ascending: true, rows: [], types: new Map(),
              canSchedule: false, store: null, inventoryPage: 1 };

const say = (text, isError) => sayIn($("message"), text, isError);
const sayDetails = (text, isError) => sayIn($("details-message"), text, isError);

function schedule(value) {
  if (!value) return "none";
  if (value.Immediate) return "once, now";
  if (value.Interval) return `every ${value.Interval.Minutes} min`;
  if (value.Daily) return `daily at ${when(value.Daily.Time)}`;
  if (value.ExactlyOnce) return `once at ${when(value.ExactlyOnce.Time)}`;
  return JSON.stringify(value);
}

async function loadTypes() {
  try {
    const types = await api("GET", `${API}/CertificateStoreTypes?pq.returnLimit=100`);
    for (const type of types) state.types.set(type.StoreType, type.Name);
  } catch (error) {
    // The type's number is shown instead.
  }
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
    state.rows = await api("GET", `${STORES}?${params}`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  const rows = state.rows.map((store) => {
    const row = element("tr", {});
    row.dataset.id = store.Id;
    row.append(
      element("td", {}, store.ClientMachine),
      element("td", {}, store.Storepath),
      element("td", {}, state.types.get(store.CertStoreType) || String(store.CertStoreType)),
      element("td", { className: "wide" }, store.DisplayName || ""),
      element("td", { className: "wide" }, schedule(store.InventorySchedule)),
      element("td", {}, button("Details", () => showDetails(store.Id),
        { ariaLabel: `Details of ${store.ClientMachine} ${store.Storepath}` })),
    );
    row.addEventListener("click", (event) => {
      if (!event.target.closest("button")) showDetails(store.Id);
    });
    return row;
  });
  fillTable(document.querySelector("#stores tbody"), rows, 6, "No stores match.");
  // Stores have no Count route: a page shorter than a full one is the last.
  const first = (state.page - 1) * PAGE_SIZE;
  $("paging-status").textContent = state.rows.length
    ? `Page ${state.page} · stores ${first + 1}–${first + state.rows.length}`
    : `Page ${state.page} · no stores`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.rows.length < PAGE_SIZE;
  for (const header of document.querySelectorAll("#stores th[data-sort]")) {
    const sorted = header.dataset.sort === state.sortField;
    header.setAttribute("aria-sort", sorted ? (state.ascending ? "ascending" : "descending") : "none");
  }
}

async function showDetails(id) {
  let store;
  try {
    store = await api("GET", `${STORES}/${id}`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  state.store = store;
  state.inventoryPage = 1;
  $("details-title").textContent = `${store.ClientMachine} ${store.Storepath}`;
  const pairs = [
    ["Id", store.Id], ["Name", store.DisplayName], ["Machine", store.ClientMachine], ["Path", store.Storepath],
    ["Type", state.types.get(store.CertStoreType) || String(store.CertStoreType)],
    ["Orchestrator", store.AgentId], ["Container", store.ContainerName],
    ["Approved", store.Approved ? "yes" : "no (awaiting approval)"],
    ["Inventory schedule", schedule(store.InventorySchedule)],
    ["Inventory job", store.CertStoreInventoryJobId],
    ["Properties", store.Properties],
  ];
  $("details-fields").replaceChildren(...pairs.filter(([, value]) => value)
    .flatMap(([name, value]) => [element("dt", {}, name), element("dd", {}, value)]));
  $("schedule-form").hidden = !state.canSchedule;
  $("add-form").hidden = !state.canSchedule;
  sayDetails("");
  $("details").hidden = false;
  $("details").focus();
  await loadInventory();
}

async function loadInventory() {
  const store = state.store;
  const params = new URLSearchParams({
    "pq.pageReturned": String(state.inventoryPage), "pq.returnLimit": String(INVENTORY_SIZE),
  });
  let entries;
  try {
    entries = await api("GET", `${STORES}/${store.Id}/Inventory?${params}`);
  } catch (error) {
    sayDetails(error.message, true);
    return;
  }
  const rows = entries.map((entry) => {
    const certificate = (entry.Certificates || [])[0] || {};
    const row = element("tr", { className: "static" });
    row.dataset.alias = entry.Name;
    row.append(
      element("td", {}, entry.Name),
      element("td", {}, certificate.IssuedDN || ""),
      element("td", { className: "wide mono" }, certificate.Thumbprint || ""),
      element("td", {}, when(certificate.NotAfter)),
      element("td", {}, entry.PrivateKeyEntry ? "yes" : "no"),
      element("td", { className: "schedule-only" }, state.canSchedule
        ? button("Remove", () => removeEntry(entry.Name), { className: "danger", ariaLabel: `Remove ${entry.Name}` })
        : null),
    );
    return row;
  });
  fillTable(document.querySelector("#inventory tbody"), rows, 6,
    state.inventoryPage === 1 ? "The last inventory found nothing (or none has run)." : "No more entries.");
  $("inventory-status").textContent = `Page ${state.inventoryPage} · ${entries.length} entries`;
  $("inventory-previous").disabled = state.inventoryPage <= 1;
  $("inventory-next").disabled = entries.length < INVENTORY_SIZE;
}

function jobText(ids) {
  return ids.length === 1 ? `job ${ids[0]}` : `jobs ${ids.join(", ")}`;
}

function failure(error) {
  const failed = (error.body && error.body.FailedOperations) || [];
  const reasons = failed.map((each) => each.Reason).filter(Boolean);
  return reasons.length ? `${error.message} ${reasons.join(" ")}` : error.message;
}

async function scheduleInventory(event) {
  event.preventDefault();
  const interval = document.querySelector('#schedule-form input[name="when"]:checked').value === "interval";
  const body = {
    StoreIds: [state.store.Id],
    Schedule: interval ? { Interval: { Minutes: Number($("interval-minutes").value) } } : { Immediate: true },
  };
  try {
    await api("POST", `${STORES}/Schedule`, body);
  } catch (error) {
    sayDetails(`Nothing was scheduled: ${failure(error)}`, true);
    return;
  }
  const id = state.store.Id;
  await showDetails(id);
  sayDetails(`Inventory scheduled (${interval ? `every ${body.Schedule.Interval.Minutes} min` : "now, once"}): ` +
    `job ${state.store.CertStoreInventoryJobId || "?"}.`);
  await loadTable();
}

async function findCertificates() {
  const text = $("certificate-search").value.trim().replace(/["\\]/g, "");
  const params = new URLSearchParams({ "pq.returnLimit": "25" });
  if (text) {
    const hex = text.replace(/[\s:]/g, "");
    params.set("pq.queryString", /^[0-9a-fA-F]{40}$/.test(hex)
      ? `Thumbprint -eq "${hex}"` : `IssuedDN -contains "${text}"`);
  }
  let found;
  try {
    found = await api("GET", `${API}/Certificates?${params}`);
  } catch (error) {
    sayDetails(error.message, true);
    return;
  }
  const select = $("certificate");
  select.replaceChildren(...found.map((certificate) => element("option", { value: String(certificate.Id) },
    `${certificate.IssuedDN || "(no subject)"} · ${certificate.Thumbprint} · expires ${when(certificate.NotAfter)}`)));
  if (!found.length) select.append(element("option", { value: "" }, "(no certificate matches)"));
  sayDetails(`${found.length} ${found.length === 1 ? "certificate" : "certificates"} found.`);
}

async function addCertificate(event) {
  event.preventDefault();
  const certificateId = Number($("certificate").value);
  if (!certificateId) {
    sayDetails("Choose a certificate first.", true);
    return;
  }
  const entry = { CertificateStoreId: state.store.Id, Overwrite: $("overwrite").checked };
  const alias = $("alias").value.trim();
  if (alias) entry.Alias = alias;
  try {
    const ids = await api("POST", `${STORES}/Certificates/Add`,
      { CertificateId: certificateId, CertificateStores: [entry], Schedule: { Immediate: true } });
    sayDetails(`Add scheduled: ${jobText(ids)}.`);
  } catch (error) {
    sayDetails(`Nothing was scheduled: ${failure(error)}`, true);
  }
}

async function removeEntry(alias) {
  try {
    const ids = await api("POST", `${STORES}/Certificates/Remove`, {
      CertificateStores: [{ CertificateStoreId: state.store.Id, Alias: alias }], Schedule: { Immediate: true },
    });
    sayDetails(`Remove of ${alias} scheduled: ${jobText(ids)}.`);
  } catch (error) {
    sayDetails(`Nothing was scheduled: ${failure(error)}`, true);
  }
}

function closeDetails() {
  $("details").hidden = true;
  state.store = null;
}

function wire() {
  queryBox({
    resource: "CertificateStores", input: $("query"), status: $("query-status"), mark: $("query-mark"),
    everything: "No query: every store.",
  });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value;
    state.page = 1;
    loadTable();
  });
  for (const header of document.querySelectorAll("#stores th[data-sort]")) {
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
  $("inventory-previous").addEventListener("click", () => { state.inventoryPage -= 1; loadInventory(); });
  $("inventory-next").addEventListener("click", () => { state.inventoryPage += 1; loadInventory(); });
  $("schedule-form").addEventListener("submit", scheduleInventory);
  $("certificate-find").addEventListener("click", findCertificates);
  $("certificate-search").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); findCertificates(); }
  });
  $("add-form").addEventListener("submit", addCertificate);
  $("details-close").addEventListener("click", closeDetails);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("details").hidden) closeDetails();
  });
}

async function start() {
  wire();
  try {
    state.canSchedule = await may(SCHEDULE);
  } catch (error) {
    say(error.message, true);
  }
  document.body.classList.toggle("read-only", !state.canSchedule);
  await loadTypes();
  await loadTable();
  ready();
}

start();
