// The key dashboard: the key's plan, today's use of each daily quota, 30 days per category and
// the latest requests — all from the keyed /v1/me endpoints, which only ever show this key.
import { callJSON, el, fillTable, keyForm } from "./common.js";
import { barChart } from "./chart.js";

const categories = [["chat", "Chat"], ["image", "Image"], ["gif", "GIF"]];
const dashboard = document.getElementById("dashboard");
const error = document.getElementById("me-error");

const when = (iso) => iso ? iso.replace("T", " ").replace("Z", "") : "—";

async function show(key) {
  error.textContent = "";
  dashboard.hidden = true;
  if (!key) return;
  try {
    const [me, usage, recent] = await Promise.all([
      callJSON("/v1/me", { key }), callJSON("/v1/me/usage?days=30", { key }),
      callJSON("/v1/me/requests?limit=50", { key }),
    ]);
    render(me, usage, recent);
    dashboard.hidden = false;
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function render(me, usage, recent) {
  document.getElementById("key-prefix").textContent = `${me.key.prefix}…${me.key.label ? ` (${me.key.label})` : ""}`;
  document.getElementById("key-tier").textContent = me.key.tier_name;
  document.getElementById("key-until").textContent = me.key.tier_until ? when(me.key.tier_until) : "no end date";
  document.getElementById("key-state").textContent = me.key.active ? "active" : `deactivated: ${me.key.deactivation_reason ?? ""}`;

  fillTable(document.getElementById("today"), categories.map(([id, name]) => {
    const quota = me.today[id];
    const used = el("span", { "data-category": id, class: "used", text: String(quota.used) });
    const meter = quota.per_day === null ? "unlimited"
      : el("span", {}, el("meter", { min: 0, max: quota.per_day, value: Math.min(quota.used, quota.per_day),
        "aria-label": `${name}: ${quota.used} of ${quota.per_day}` }), ` ${quota.per_day}`);
    return [name, used, meter, quota.limit];
  }));

  const labels = usage.days.map((day) => day.date);
  const series = categories.map(([id, name]) => ({ name, className: id, values: usage.days.map((day) => day[id].requests) }));
  document.getElementById("chart").replaceChildren(barChart(labels, series, { title: "Requests per day" }));
  fillTable(document.getElementById("totals"), categories.map(([id, name]) => {
    const totals = usage.totals[id];
    return [name, el("span", { "data-category": id, class: "requests", text: String(totals.requests) }), totals.failed,
      totals.prompt_tokens, totals.completion_tokens];
  }));

  fillTable(document.getElementById("recent"), recent.data.map((request) => [
    when(request.created_at), request.category, request.model, request.status, request.prompt_tokens,
    request.completion_tokens, request.duration_ms,
  ]));
}

keyForm(show);
