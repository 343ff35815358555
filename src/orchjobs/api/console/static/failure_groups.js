// The failure-groups page: GET JobHistory/FailureGroups, each group listed in the job history by its own query, or
// previewed and acknowledged in one step (Acknowledge/Preview, then Acknowledge with the preview's token).
import {
  $, JOBS, api, button, element, fillTable, goLive, may, plural, queryBox, ready, say as sayIn, when,
} from "./console.js";

const ACKNOWLEDGE = "/agents/management/modify/acknowledge/";
const PAGE_SIZE = 20;
const state = { query: "", page: 1, groups: [], canAcknowledge: false, preview: null };

function say(text, isError) {
  sayIn($("message"), text, isError);
}

async function loadGroups() {
  const params = new URLSearchParams({ "pq.pageReturned": String(state.page), "pq.returnLimit": String(PAGE_SIZE) });
  if (state.query.trim()) params.set("pq.queryString", state.query);
  try {
    state.groups = await api("GET", `${JOBS}/JobHistory/FailureGroups?${params}`);
  } catch (error) {
    say(error.message, true);
    return;
  }
  render();
}

function render() {
  const rows = state.groups.map((group, index) => {
    const listed = element("a", { href: `/?${new URLSearchParams({ query: group.Query })}` }, "List runs");
    listed.setAttribute("aria-label", `List the ${plural(group.Count, "run")} of group ${index + 1}`);
    const actions = element("td", { className: "actions-cell" }, listed);
    if (state.canAcknowledge) {
      const acknowledge = button("Acknowledge…", () => preview(group));
      acknowledge.setAttribute("aria-label", `Acknowledge group ${index + 1}`);
      actions.append(" ", acknowledge);
    }
    const message = element("td", { className: "wide", title: group.LastMessage || "" }, group.MessageGroup || "");
    const row = element(
      "tr", { className: "static" },
      element("td", {}, element("strong", {}, String(group.Count))),
      element("td", {}, group.JobType || ""),
      element("td", { className: "wide" }, group.ClientMachine || ""),
      element("td", { className: "wide" }, group.TargetPath || ""),
      message,
      element("td", { title: `First seen ${when(group.FirstSeen)}` }, when(group.LastSeen)),
      actions,
    );
    row.dataset.group = String(index + 1);
    return row;
  });
  fillTable(document.querySelector("#groups tbody"), rows, 7, "No failed or warning runs wait: nothing to group.");
  $("paging-status").textContent = `Page ${state.page}`;
  $("previous-page").disabled = state.page <= 1;
  $("next-page").disabled = state.groups.length < PAGE_SIZE;
}

// One step per group: how many runs its query selects and how many will change, then exactly those.
async function preview(group) {
  try {
    const answer = await api("POST", `${JOBS}/Acknowledge/Preview`, { Query: group.Query });
    state.preview = answer;
    $("preview-text").textContent =
      `${group.JobType} on ${group.ClientMachine || "no orchestrator"}: "${group.MessageGroup}". ` +
      `The group's query selects ${plural(answer.Selected, "run")}; ${answer.Eligible} will be acknowledged.`;
    $("preview-confirm").disabled = answer.Eligible === 0;
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

async function commit() {
  const answer = state.preview;
  if (!answer) return;
  const body = { Query: answer.Query, PreviewToken: answer.PreviewToken };
  const note = $("note").value.trim();
  if (note) body.Note = note;
  try {
    await api("POST", `${JOBS}/Acknowledge`, body);
    say(`Acknowledged ${plural(answer.Eligible, "run")}.`);
  } catch (error) {
    const meanwhile = error.status === 409 ? "Nothing was acknowledged: the runs changed meanwhile. " : "";
    say(`${meanwhile}${error.message}`, true);
  }
  hidePreview();
  await loadGroups();
}

async function start() {
  const checker = queryBox({
    resource: "JobHistory", input: $("query"), status: $("query-status"), mark: $("query-mark"),
    everything: "No query: every counted run.",
  });
  $("query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value;
    state.page = 1;
    hidePreview();
    checker.explain();
    loadGroups();
  });
  $("previous-page").addEventListener("click", () => { state.page -= 1; loadGroups(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadGroups(); });
  $("preview-confirm").addEventListener("click", commit);
  $("preview-cancel").addEventListener("click", hidePreview);
  try {
    state.canAcknowledge = await may(ACKNOWLEDGE);
  } catch (error) {
    say(error.message, true);
  }
  $("actions").hidden = !state.canAcknowledge;
  await loadGroups();
  goLive($("live"), loadGroups);
  ready();
}

start();
