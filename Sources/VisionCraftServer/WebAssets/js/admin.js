// The operator console. The session is an HttpOnly cookie this script never sees; it holds
// only the CSRF token the server hands out, in memory, and sends it with every change.
import { APIError, callJSON, el, fillTable, formValues } from "./common.js";
import { barChart } from "./chart.js";

const status = document.getElementById("admin-status");
const loginSection = document.getElementById("login");
const consoleSection = document.getElementById("console");
let csrf = null;

const day = (iso) => iso ? iso.slice(0, 10) : "—";

/** A change: JSON with the CSRF token. */
const change = (path, body = {}) => callJSON(path, { method: "POST", body, headers: { "X-CSRF-Token": csrf } });

async function start() {
  try {
    const session = await callJSON("/admin/api/session");
    if (!session.signed_in) return showLogin();
    csrf = session.csrf_token;
    await showConsole();
  } catch (failure) {
    status.textContent = failure instanceof APIError && failure.status === 404
      ? "The console is off: start the server with VISIONCRAFT_ADMIN_TOKEN set (16 characters or more)."
      : failure.message;
  }
}

function showLogin() {
  status.textContent = "Signed out.";
  consoleSection.hidden = true;
  loginSection.hidden = false;
  document.getElementById("admin-token").focus();
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  const input = document.getElementById("admin-token");
  try {
    csrf = (await callJSON("/admin/api/login", { method: "POST", body: { token: input.value } })).csrf_token;
    input.value = "";
    await showConsole();
  } catch (failure) {
    error.textContent = failure.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await change("/admin/api/logout");
  csrf = null;
  showLogin();
});

async function showConsole() {
  loginSection.hidden = true;
  consoleSection.hidden = false;
  status.textContent = "Signed in.";
  await Promise.all([loadKeys(), loadUsage(), loadTelegram()]);
}

// MARK: Keys

async function loadKeys() {
  const error = document.getElementById("keys-error");
  error.textContent = "";
  try {
    const query = document.getElementById("key-search").value;
    const keys = (await callJSON(`/admin/api/keys?q=${encodeURIComponent(query)}`)).data;
    fillTable(document.getElementById("keys"), keys.map((key) => [
      key.id, key.prefix, key.label ?? "", key.tier_name, day(key.tier_until),
      key.revoked_at ? "revoked" : key.active ? "active" : `deactivated (${key.deactivation_reason ?? ""})`,
      key.revoked_at ? "" : actions(key),
    ]));
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function actions(key) {
  const act = (label, action, body) => el("button", {
    type: "button", class: "secondary", "data-action": action, "data-key": key.id, text: label,
    "aria-label": `${label} key ${key.id}`,
    onclick: async () => {
      if (action === "revoke" && !confirm(`Revoke key ${key.id} (${key.prefix}…) for good?`)) return;
      try {
        await change(`/admin/api/keys/${key.id}/${action}`, body?.() ?? {});
        await loadKeys();
      } catch (failure) {
        document.getElementById("keys-error").textContent = failure.message;
      }
    },
  });
  const tier = el("select", { "aria-label": `Tier of key ${key.id}`, "data-tier": key.id },
    ["free", "tier1", "tier2"].map((name) => el("option", { value: name, selected: name === key.tier, text: name })));
  const until = el("input", { type: "date", "aria-label": `Tier end of key ${key.id}`, value: day(key.tier_until) === "—" ? "" : day(key.tier_until) });
  return el("div", { class: "row" },
    key.active ? act("Deactivate", "deactivate") : act("Activate", "activate"),
    act("Revoke", "revoke"), tier, until, act("Set tier", "tier", () => ({ tier: tier.value, until: until.value || null })));
}

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadKeys();
});

document.getElementById("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("create-error");
  error.textContent = "";
  try {
    const created = await change("/admin/api/keys", formValues(event.target));
    document.getElementById("created-key").textContent = created.key;
    document.getElementById("created").hidden = false;
    event.target.reset();
    await loadKeys();
  } catch (failure) {
    error.textContent = failure.message;
  }
});

// MARK: Usage and Telegram

document.getElementById("usage-days").addEventListener("change", loadUsage);
document.getElementById("usage-by").addEventListener("change", loadUsage);

async function loadUsage() {
  const days = document.getElementById("usage-days").value;
  const byKey = document.getElementById("usage-by").value === "key";
  const usage = await callJSON(`/admin/api/usage?days=${days}`);
  // The six busiest models or keys, one bar each per day.
  const rows = [...(byKey ? usage.by_key : usage.by_model)]
    .sort((a, b) => b.totals.requests - a.totals.requests).slice(0, 6);
  const labels = rows[0]?.days.map((d) => d.date) ?? [];
  const series = rows.map((row, index) => ({
    name: byKey ? `${row.key_id} · ${row.label ?? row.prefix}` : row.model || "(none)", className: `series-${index}`,
    values: row.days.map((d) => d.chat.requests + d.image.requests + d.gif.requests),
  }));
  document.getElementById("usage-chart").replaceChildren(labels.length
    ? barChart(labels, series, { title: `Requests per day per ${byKey ? "key" : "model"}` })
    : el("p", { class: "muted", text: "No requests in this period." }));
  fillTable(document.getElementById("usage-keys"), usage.by_key.map((row) => [
    `${row.key_id} · ${row.prefix}…`, row.label ?? "", row.chat.requests, row.image.requests, row.gif.requests,
    row.totals.failed, row.totals.prompt_tokens + row.totals.completion_tokens,
  ]));
  fillTable(document.getElementById("usage-models"), usage.by_model.map((row) => [
    row.model || "(none)", row.totals.requests, row.totals.failed, row.totals.prompt_tokens, row.totals.completion_tokens,
  ]));
}

async function loadTelegram() {
  const telegram = await callJSON("/admin/api/telegram");
  document.getElementById("telegram-note").textContent = telegram.configured
    ? "" : "No Telegram bot data on this server.";
  fillTable(document.getElementById("accounts"), telegram.accounts.map((account) => [
    account.user_id, account.key_id ?? "—", account.banned ? "yes" : "no", account.left_channel ? "yes" : "no",
    day(account.trial_claimed_at),
  ]));
  fillTable(document.getElementById("payments"), telegram.payments.map((payment) => [
    payment.charge_id, payment.user_id, payment.tier, payment.stars, payment.days, day(payment.paid_at),
    day(payment.refunded_at),
  ]));
}

start();
