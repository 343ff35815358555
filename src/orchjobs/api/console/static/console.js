// What every console page shares: the JSON API call (session cookie, CSRF token, Command's header), the viewer's
// permissions, the query box that checks as you type, live updates, and small rendering helpers. An ES module with
// no build step (docs/console.md); each page's script imports what it uses.

export const API = "/KeyfactorAPI";
export const JOBS = `${API}/OrchestratorJobs`;
export const STATUS = ["Unknown", "Waiting", "InProcess", "Completed", "Acknowledged", "CompletedWillRetry"];
export const RESULT = ["Unknown", "InProcess", "Success", "Warning", "Failure"];

const csrf = document.querySelector('meta[name="csrf-token"]').content;

export const $ = (id) => document.getElementById(id);

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.Message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }
}

// One call of the JSON API. A 401 (the session ended) sends the browser to /login.
export async function api(method, path, body) {
  const headers = { "x-keyfactor-requested-with": "XMLHttpRequest", "x-csrf-token": csrf };
  const options = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    window.location.assign("/login");
    throw new ApiError(401, { Message: "Your session has ended; log in again." });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The viewer's permissions (Security/My), asked once per page: a control the viewer may not use is not shown.
let permissions = null;
export async function may(permission) {
  if (permissions === null) {
    const my = await api("GET", `${API}/Security/My`);
    permissions = new Set(my.Permissions || []);
  }
  return permissions.has(permission);
}

// A status line (a live region): the outcome of the last action, or its error.
export function say(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("error", Boolean(isError));
}

// A time in the viewer's own time zone and conventions.
export function when(value) {
  return value ? new Date(value).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }) : "";
}

export function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many || `${one}s`}`;
}

// A coloured name for an enum value (Status, Result, an orchestrator's state...).
export function pill(names, value, kind) {
  const span = document.createElement("span");
  const name = Array.isArray(names) ? names[value] || String(value) : String(value);
  span.textContent = name;
  span.className = `pill ${kind}-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return span;
}

// An element with text or children: element("td", {className: "wide"}, "text", child...).
export function element(tag, properties, ...children) {
  const made = Object.assign(document.createElement(tag), properties || {});
  made.append(...children.filter((child) => child !== null && child !== undefined));
  return made;
}

export function button(text, onClick, properties) {
  const made = element("button", { type: "button", ...properties }, text);
  made.addEventListener("click", onClick);
  return made;
}

// A table body's rows, or one "nothing here" row spanning the columns.
export function fillTable(body, rows, columns, emptyText) {
  body.replaceChildren(...rows);
  if (!rows.length) {
    body.append(element("tr", {}, element("td", { colSpan: columns, className: "empty" }, emptyText)));
  }
}

// The query box: each pause in typing asks Query/Explain whether the query is right for `resource`, and where it
// is not (the server's own parser); the error is shown, its character marked and the input set aria-invalid.
export function queryBox({ resource, input, status, mark, everything }) {
  let timer = null;
  let asked = 0;
  async function explain() {
    const text = input.value;
    const mine = ++asked;
    let answer;
    try {
      answer = await api("GET", `${JOBS}/Query/Explain?${new URLSearchParams({ resource, query: text })}`);
    } catch (error) {
      show(error.message, true);
      return undefined;
    }
    if (mine !== asked) return undefined;  // a later keystroke's answer wins
    if (answer.Valid) {
      show(text.trim() ? answer.Description : everything, false);
      mark.hidden = true;
    } else {
      show(answer.Error.Message, true);
      markPosition(text, answer.Error.Position);
    }
    return answer;
  }
  function show(text, isError) {
    say(status, text, isError);
    input.setAttribute("aria-invalid", isError ? "true" : "false");
  }
  function markPosition(text, position) {
    if (position === undefined || position === null) {
      mark.hidden = true;
      return;
    }
    const at = Math.min(position, text.length);
    const wrong = element("mark", { title: `position ${position}` }, text.slice(at, at + 1) || " ");
    mark.replaceChildren(text.slice(0, at), wrong, text.slice(at + 1));
    mark.hidden = false;
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(explain, 300);
  });
  return { explain };
}

// Live updates (GET /console/events): `changed` runs when job history changed, by any process; calls asked for
// while one runs fold into one more. The indicator says live or offline. EventSource reconnects by itself; a
// refused stream (401: the session ended) is closed for good, so the page asks the API, which sends it to /login.
export function goLive(indicator, changed) {
  let running = null;
  function refresh() {
    if (running) { running.again = true; return; }
    running = { again: false };
    Promise.resolve(changed()).finally(() => {
      const again = running.again;
      running = null;
      if (again) refresh();
    });
  }
  let wasLive = false;
  function open() {
    const events = new EventSource("/console/events");
    events.addEventListener("ready", () => {
      if (wasLive) refresh();  // back after a lost connection: what changed meanwhile
      wasLive = true;
      indicator.textContent = "live";
      indicator.classList.add("on");
      indicator.title = "The page follows job history as it happens.";
    });
    events.addEventListener("history", refresh);
    events.addEventListener("error", () => {
      indicator.textContent = "offline";
      indicator.classList.remove("on");
      indicator.title = "Reconnecting to the server for live updates…";
      if (events.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          api("GET", `${API}/Security/My`).then(open, () => setTimeout(open, 10000));
        }, 3000);
      }
    });
  }
  open();
}

// Every page marks itself ready once its first load is done (the browser tests wait for it).
export function ready() {
  document.body.dataset.ready = "true";
}
