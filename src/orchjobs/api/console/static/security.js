// The users-and-roles page: identities (users and groups) with their roles, roles with their permissions and
// holders; for a viewer who may change security, adding and removing identities, creating roles and setting who
// holds a role and what it grants. Built-in (immutable) roles' permissions are read-only. Every action is a call of
// the JSON API, so its refusals (the last identity that may change security...) are the API's (docs/console.md).
import { $, API, api, button, element, fillTable, may, ready, say as sayIn } from "./console.js";

const SECURITY = `${API}/Security`;
const ROLES = `${SECURITY}/Roles`;
const MODIFY = "/security/modify/";
const PAGE_SIZE = 25;
// The permissions a role may be given, as the API knows them: {Path (v2), Name (Area:Permission), Description}.
const CATALOGUE = JSON.parse($("identities-section").dataset.catalogue || "[]");

const state = { canModify: false, identityPage: 1, roles: [], role: null, holders: [] };
const say = (text, isError) => sayIn($("message"), text, isError);
const sayRole = (text, isError) => sayIn($("role-message"), text, isError);

function reason(error) {
  const failed = (error.body && error.body.FailedOperations) || [];
  return [error.message, ...failed.map((each) => each.Reason).filter(Boolean)].join(" ");
}

function quoted(text) {
  return `"${text.replace(/["\\]/g, "")}"`;
}

async function loadIdentities() {
  const params = new URLSearchParams({
    "pq.pageReturned": String(state.identityPage), "pq.returnLimit": String(PAGE_SIZE), "pq.sortField": "AccountName",
  });
  let identities;
  try {
    identities = await api("GET", `${SECURITY}/Identities?${params}`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  const rows = identities.map((identity) => {
    const row = element("tr", { className: "static" });
    row.dataset.account = identity.AccountName;
    row.append(
      element("td", {}, identity.AccountName),
      element("td", {}, identity.IdentityType),
      element("td", {}, identity.Roles.map((role) => role.Name).join(", ") || "(none)"),
      state.canModify
        ? element("td", {}, button("Remove", () => removeIdentity(identity),
          { className: "danger", ariaLabel: `Remove identity ${identity.AccountName}` }))
        : null,
    );
    return row;
  });
  fillTable(document.querySelector("#identities tbody"), rows, state.canModify ? 4 : 3, "No identities.");
  const first = (state.identityPage - 1) * PAGE_SIZE;
  $("identities-status").textContent = identities.length
    ? `Page ${state.identityPage} · identities ${first + 1}–${first + identities.length}`
    : `Page ${state.identityPage} · none`;
  $("identities-previous").disabled = state.identityPage <= 1;
  $("identities-next").disabled = identities.length < PAGE_SIZE;
}

async function loadRoles() {
  try {
    state.roles = await api("GET", `${ROLES}?pq.returnLimit=100&pq.sortField=Name`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  const rows = state.roles.map((role) => {
    const row = element("tr", {});
    row.dataset.role = role.Name;
    row.append(
      element("td", {}, role.Name),
      element("td", { className: "wide" }, role.Description || ""),
      element("td", {}, role.Immutable ? "built in" : "custom"),
      element("td", {}, (role.Identities || []).map((identity) => identity.AccountName).join(", ") || "(nobody)"),
      element("td", {}, button("Details", () => showRole(role.Id), { ariaLabel: `Details of role ${role.Name}` })),
    );
    row.addEventListener("click", (event) => {
      if (!event.target.closest("button")) showRole(role.Id);
    });
    return row;
  });
  fillTable(document.querySelector("#roles tbody"), rows, 5, "No roles.");
}

async function refresh() {
  await Promise.all([loadIdentities(), loadRoles()]);
}

async function addIdentity(event) {
  event.preventDefault();
  const name = $("account-name").value.trim();
  try {
    const made = await api("POST", `${SECURITY}/Identities`, { AccountName: name, IdentityType: $("identity-type").value });
    say(`Identity ${made.AccountName} added (it holds no role yet: give it one below).`);
    $("account-name").value = "";
  } catch (error) {
    say(`Not added: ${reason(error)}`, true);
  }
  await refresh();
}

async function removeIdentity(identity) {
  try {
    await api("DELETE", `${SECURITY}/Identities/${identity.Id}`);
    say(`Identity ${identity.AccountName} removed.`);
  } catch (error) {
    say(`Not removed: ${reason(error)}`, true);
  }
  await refresh();
}

async function createRole(event) {
  event.preventDefault();
  let made;
  try {
    made = await api("POST", ROLES, { Name: $("role-name").value.trim(), Description: $("role-description").value.trim() });
  } catch (error) {
    say(`Not created: ${reason(error)}`, true);
    return;
  }
  say(`Role ${made.Name} created; give it permissions and holders below.`);
  $("role-name").value = "";
  $("role-description").value = "";
  await loadRoles();
  await showRole(made.Id);
}

async function showRole(id) {
  let role, held;
  try {
    [role, held] = await Promise.all([api("GET", `${ROLES}/${id}`), api("GET", `${ROLES}/${id}/Permissions`)]);
  } catch (error) {
    say(error.message, true);
    return;
  }
  state.role = role;
  state.holders = (role.Identities || []).map((identity) => ({ Id: identity.Id, AccountName: identity.AccountName }));
  $("role-title").textContent = `Role ${role.Name}${role.Immutable ? " (built in)" : ""}`;
  $("role-description-text").textContent = role.Description || "";
  const names = new Set(held.map((each) => `${each.Area}:${each.Permission}`));
  $("permissions").replaceChildren(...CATALOGUE.filter((each) => names.has(each.Name)).map((each) =>
    element("li", {}, element("code", {}, each.Path), ` ${each.Description}`)));
  if (!names.size) $("permissions").append(element("li", { className: "muted" }, "(no permission)"));
  // Holders may be changed for any role (built in too); permissions only for a role that is not built in.
  $("holders-form").hidden = !state.canModify;
  const editable = state.canModify && !role.Immutable;
  $("permissions-form").hidden = !editable;
  $("permissions").hidden = editable;
  if (editable) {
    const choices = CATALOGUE.map((each, index) => {
      const box = element("input", { type: "checkbox", id: `permission-${index}`, value: each.Path,
        checked: names.has(each.Name) });
      return element("div", { className: "choice" }, box,
        element("label", { htmlFor: box.id }, element("code", {}, each.Path), ` ${each.Description}`));
    });
    $("permission-choices").replaceChildren(element("legend", {}, "Global permissions of this role"), ...choices);
  }
  renderHolders();
  sayRole("");
  $("role").hidden = false;
  $("role").focus();
}

function renderHolders() {
  const items = state.holders.map((holder) => element("li", {}, holder.AccountName,
    state.canModify ? button("Remove", () => {
      state.holders = state.holders.filter((each) => each.Id !== holder.Id);
      renderHolders();
      sayRole("Not saved yet: Save holders.");
    }, { ariaLabel: `Take ${holder.AccountName} off this role` }) : null));
  $("holders").replaceChildren(...items);
  if (!items.length) $("holders").append(element("li", { className: "muted" }, "(nobody)"));
}

async function addHolder() {
  const name = $("holder-name").value.trim();
  if (!name) return;
  let found;
  try {
    found = await api("GET",
      `${SECURITY}/Identities?${new URLSearchParams({ "pq.queryString": `AccountName -eq ${quoted(name)}` })}`);
  } catch (error) {
    sayRole(error.message, true);
    return;
  }
  if (!found.length) {
    sayRole(`No identity is named ${name}: add it under Identities first.`, true);
    return;
  }
  const identity = found[0];
  if (!state.holders.some((each) => each.Id === identity.Id)) {
    state.holders.push({ Id: identity.Id, AccountName: identity.AccountName });
  }
  $("holder-name").value = "";
  renderHolders();
  sayRole("Not saved yet: Save holders.");
}

async function saveHolders(event) {
  event.preventDefault();
  const role = state.role;
  try {
    const now = await api("PUT", `${ROLES}/${role.Id}/Identities`, { Ids: state.holders.map((each) => each.Id) });
    sayRole(`${role.Name} is now held by ${now.map((each) => each.Name).join(", ") || "nobody"}.`);
  } catch (error) {
    sayRole(`Nothing changed: ${reason(error)}`, true);
  }
  await refresh();
}

async function savePermissions(event) {
  event.preventDefault();
  const role = state.role;
  const chosen = [...document.querySelectorAll("#permission-choices input:checked")].map((box) => box.value);
  try {
    const now = await api("PUT", `${ROLES}/${role.Id}/Permissions/Global`, chosen);
    sayRole(`${role.Name} now grants ${now.length} ${now.length === 1 ? "permission" : "permissions"}.`);
  } catch (error) {
    sayRole(`Nothing changed: ${reason(error)}`, true);
  }
  await loadRoles();
}

function closeRole() {
  $("role").hidden = true;
  state.role = null;
}

async function start() {
  try {
    state.canModify = await may(MODIFY);
  } catch (error) {
    say(error.message, true);
  }
  document.body.classList.toggle("read-only", !state.canModify);
  $("identity-form").hidden = !state.canModify;
  $("role-form").hidden = !state.canModify;
  $("identity-form").addEventListener("submit", addIdentity);
  $("role-form").addEventListener("submit", createRole);
  $("holder-add").addEventListener("click", addHolder);
  $("holder-name").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); addHolder(); }
  });
  $("holders-form").addEventListener("submit", saveHolders);
  $("permissions-form").addEventListener("submit", savePermissions);
  $("role-close").addEventListener("click", closeRole);
  $("identities-previous").addEventListener("click", () => { state.identityPage -= 1; loadIdentities(); });
  $("identities-next").addEventListener("click", () => { state.identityPage += 1; loadIdentities(); });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("role").hidden) closeRole();
  });
  await refresh();
  ready();
}

start();
