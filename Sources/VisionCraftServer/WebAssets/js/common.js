// What every page shares: building elements (text is always set as text, never parsed as
// markup, so whatever a user or a model wrote cannot become HTML), the key kept in this
// browser, and calls to the API that turn its error shape into a readable message.

/** Creates an element; string children become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a table body's rows. */
export function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((cells) => el("tr", {}, cells.map((cell) =>
    cell instanceof Node ? el("td", {}, cell)
      : typeof cell === "number" ? el("td", { class: "num", text: cell.toLocaleString("en-US") })
      : el("td", { text: cell ?? "" })))));
}

const keyName = "visioncraft.apiKey";
export const storedKey = () => localStorage.getItem(keyName) ?? "";
export const storeKey = (key) => localStorage.setItem(keyName, key);
export const forgetKey = () => localStorage.removeItem(keyName);

/** Wires a page's key form: fills it from storage, saves on submit, forgets on request. */
export function keyForm(onKey) {
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  input.value = storedKey();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey(input.value.trim());
    onKey(input.value.trim());
  });
  document.getElementById("forget-key").addEventListener("click", () => {
    forgetKey();
    input.value = "";
    onKey("");
  });
  if (input.value) onKey(input.value);
}

export class APIError extends Error {
  constructor(status, body) {
    const detail = body?.error;
    super(detail?.message ?? `The server answered ${status}.`);
    this.status = status;
    this.code = detail?.code ?? null;
  }
}

/** Calls the API; the parsed JSON, or an `APIError` carrying the server's message. */
export async function callJSON(path, { key, method = "GET", body, headers = {} } = {}) {
  const response = await call(path, { key, method, body, headers });
  return response.status === 204 ? null : response.json();
}

/** Calls the API; the response when it is a success, else an `APIError`. */
export async function call(path, { key, method = "GET", body, headers = {}, signal } = {}) {
  const allHeaders = { ...headers };
  if (key) allHeaders.Authorization = `Bearer ${key}`;
  if (body !== undefined) allHeaders["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers: allHeaders, body: body === undefined ? undefined : JSON.stringify(body), signal,
    credentials: "same-origin",
  });
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch { /* not JSON */ }
    throw new APIError(response.status, parsed);
  }
  return response;
}

/** Shows which page is open in the navigation. */
export function markCurrentPage() {
  for (const link of document.querySelectorAll("header.site nav a")) {
    if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
  }
}

/** A request as a curl command line (the key as a shell variable, not its value). */
export function curl(path, body, { key = true } = {}) {
  const url = new URL(path, location.origin).href;
  const lines = [`curl ${url}`];
  if (key) lines.push(`  -H "Authorization: Bearer $VISIONCRAFT_API_KEY"`);
  if (body !== undefined) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d '${JSON.stringify(body, null, 2).replaceAll("'", "'\\''")}'`);
  }
  return lines.join(" \\\n");
}

/** Wires an ARIA tab list: click and arrow keys select, the matching panel shows. */
export function tabs(list) {
  const tabs = [...list.querySelectorAll('[role="tab"]')];
  const select = (tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  });
}

/** The form's non-empty fields, numbers as numbers. */
export function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name || field.value === "" || field.type === "submit") continue;
    if (field.type === "checkbox") values[field.name] = field.checked;
    else if (field.type === "number") values[field.name] = Number(field.value);
    else values[field.name] = field.value;
  }
  return values;
}

markCurrentPage();
