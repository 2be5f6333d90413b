// Bar charts drawn as SVG by the page itself: one group of bars per day, one bar per series.
import { el } from "./common.js";

const svgNS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * `labels`: the x values (dates); `series`: [{ name, className, values }].
 * Returns a container holding a legend and the chart, with a text summary for screen readers.
 */
export function barChart(labels, series, { title }) {
  const width = 720, height = 220, left = 40, bottom = 24, top = 10;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const plotWidth = width - left - 8, plotHeight = height - bottom - top;
  const groupWidth = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(1, (groupWidth - 2) / Math.max(1, series.length));
  const total = series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: ${total} in all` });
  chart.append(svg("title", {}, title));
  const ticks = niceTicks(max);
  for (const tick of ticks) {
    const y = top + plotHeight - (tick / ticks[ticks.length - 1]) * plotHeight;
    chart.append(svg("line", { class: "axis", x1: left, x2: width - 8, y1: y, y2: y }));
    chart.append(svg("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, String(tick)));
  }
  const scale = ticks[ticks.length - 1];
  labels.forEach((label, day) => {
    series.forEach((s, index) => {
      const value = s.values[day] ?? 0;
      if (!value) return;
      const barHeight = (value / scale) * plotHeight;
      const bar = svg("rect", {
        class: s.className, x: left + day * groupWidth + 1 + index * barWidth, y: top + plotHeight - barHeight,
        width: barWidth, height: barHeight,
      });
      bar.append(svg("title", {}, `${label} · ${s.name}: ${value}`));
      chart.append(bar);
    });
    const every = Math.ceil(labels.length / 8);
    if (day % every === 0) {
      chart.append(svg("text", { x: left + day * groupWidth + groupWidth / 2, y: height - 6, "text-anchor": "middle" },
        label.slice(5)));
    }
  });
  const legend = el("div", { class: "legend" },
    series.map((s) => el("span", {}, el("span", { class: `swatch ${s.className}` }), s.name)));
  return el("div", {}, legend, chart);
}

/** Round steps for the y axis: 0 and up to five more reaching at least `max`. */
function niceTicks(max) {
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough);
  const ticks = [];
  for (let value = 0; value < max + step; value += step) {
    ticks.push(value);
    if (value >= max) break;
  }
  return ticks;
}
