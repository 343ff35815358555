// The settings page: every application setting, edited inline by its type for a viewer who may change them, and
// saved in one bulk PUT (all or nothing: each refused entry's reason is shown beside its setting, and nothing
// changes). Every action is a call of the JSON API (docs/console.md).
import { $, API, api, element, fillTable, may, ready, say as sayIn } from "./console.js";

const SETTINGS = `${API}/AppSetting`;
const MODIFY = "/application_settings/modify/";
// The range of each integer setting, by short name in lower case: the very values the API checks.
const RANGES = JSON.parse($("settings-form").dataset.ranges || "{}");

const state = { settings: [], canModify: false };
const say = (text, isError) => sayIn($("message"), text, isError);

function isTrue(value) {
  return ["true", "1", "yes", "on"].includes(String(value).trim().toLowerCase());
}

function control(setting) {
  const id = `setting-${setting.Id}`;
  const label = `${setting.DisplayName || setting.ShortName}`;
  if (!state.canModify) {
    return element("span", { id, className: "value" }, setting.ValueType === "Bool"
      ? (isTrue(setting.Value) ? "True" : "False") : String(setting.Value));
  }
  let input;
  if (setting.ValueType === "Bool") {
    input = element("input", { type: "checkbox", id, checked: isTrue(setting.Value) });
  } else if (setting.ValueType === "Int") {
    input = element("input", { type: "number", id, step: "1", value: setting.Value, className: "number" });
    const range = RANGES[setting.ShortName.toLowerCase()];
    if (range) {
      [input.min, input.max] = range.map(String);
      input.title = `${range[0]} to ${range[1]}`;
    }
  } else {
    input = element("input", { type: "text", id, value: setting.Value });
  }
  input.ariaLabel = label;
  input.dataset.id = String(setting.Id);
  input.setAttribute("aria-describedby", `${id}-error ${id}-range`);
  input.addEventListener("input", changed);
  input.addEventListener("change", changed);
  return input;
}

function valueOf(input) {
  return input.type === "checkbox" ? (input.checked ? "True" : "False") : input.value.trim();
}

function original(setting) {
  return setting.ValueType === "Bool" ? (isTrue(setting.Value) ? "True" : "False") : String(setting.Value);
}

function render() {
  const rows = state.settings.map((setting) => {
    const id = `setting-${setting.Id}`;
    const range = RANGES[setting.ShortName.toLowerCase()];
    const row = element("tr", { className: "static" });
    row.dataset.shortName = setting.ShortName;
    row.append(
      element("th", { scope: "row" }, setting.DisplayName || setting.ShortName),
      element("td", { className: "wide mono" }, setting.ShortName),
      element("td", {}, setting.ValueType),
      element("td", { className: "setting-value" },
        control(setting),
        range ? element("span", { id: `${id}-range`, className: "muted range" }, ` ${range[0]}–${range[1]}`) : null,
        element("span", { id: `${id}-error`, className: "error field-error", role: "alert" })),
      element("td", { className: "wide meaning" }, setting.Description || ""),
    );
    return row;
  });
  fillTable(document.querySelector("#settings tbody"), rows, 5, "No settings.");
  changed();
}

function changes() {
  const list = [];
  for (const setting of state.settings) {
    const input = $(`setting-${setting.Id}`);
    if (!input || input.tagName !== "INPUT") continue;
    const value = valueOf(input);
    if (value !== original(setting)) list.push({ Id: setting.Id, Value: value });
  }
  return list;
}

function changed() {
  const count = changes().length;
  $("save").disabled = count === 0;
  $("undo").disabled = count === 0;
  $("save").textContent = count ? `Save ${count} ${count === 1 ? "change" : "changes"}` : "Save changes";
}

function clearErrors() {
  for (const field of document.querySelectorAll(".field-error")) field.textContent = "";
  for (const input of document.querySelectorAll("#settings input")) input.removeAttribute("aria-invalid");
}

async function load() {
  try {
    state.settings = await api("GET", SETTINGS);
  } catch (error) {
    say(error.message, true);
    return;
  }
  render();
}

async function save(event) {
  event.preventDefault();
  const body = changes();
  if (!body.length) return;
  clearErrors();
  try {
    await api("PUT", SETTINGS, body);
  } catch (error) {
    const failed = (error.body && error.body.FailedOperations) || [];
    for (const each of failed) {
      const field = $(`setting-${each.Id}-error`);
      if (field) {
        field.textContent = each.Reason;
        $(`setting-${each.Id}`).setAttribute("aria-invalid", "true");
      }
    }
    const unplaced = failed.filter((each) => !$(`setting-${each.Id}-error`)).map((each) => each.Reason);
    say(`Nothing was saved: ${[error.message, ...unplaced].join(" ")}`, true);
    return;
  }
  say(`Saved ${body.length} ${body.length === 1 ? "setting" : "settings"}.`);
  await load();
}

async function start() {
  try {
    state.canModify = await may(MODIFY);
  } catch (error) {
    say(error.message, true);
  }
  $("save-bar").hidden = !state.canModify;
  document.body.classList.toggle("read-only", !state.canModify);
  $("settings-form").addEventListener("submit", save);
  $("undo").addEventListener("click", () => { clearErrors(); say(""); render(); });
  await load();
  ready();
}

start();
