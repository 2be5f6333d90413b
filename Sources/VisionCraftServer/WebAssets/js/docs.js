// The API docs, rendered from /openapi.json: per endpoint its parameters with their ranges and
// defaults, its answers, and curl / Python / JavaScript examples; the tiers from /limits.
import { callJSON, el, tabs } from "./common.js";

const status = document.getElementById("status");
const container = document.getElementById("docs");

let spec;

/** Follows a local `$ref`. */
function resolve(schema) {
  let node = schema;
  while (node?.$ref) node = node.$ref.replace(/^#\//, "").split("/").reduce((object, key) => object[key], spec);
  return node ?? {};
}

function typeOf(schema) {
  const resolved = resolve(schema);
  if (resolved.const !== undefined) return JSON.stringify(resolved.const);
  if (resolved.enum) return resolved.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (resolved.anyOf || resolved.oneOf) return (resolved.anyOf ?? resolved.oneOf).map(typeOf).filter(Boolean).join(" | ");
  const types = [resolved.type ?? (resolved.description ? "any" : "")].flat().filter((type) => type && type !== "null");
  if (types.includes("array") && resolved.items) return `array of ${typeOf(resolved.items)}`;
  return types.join(" | ");
}

function range(schema) {
  const parts = [];
  if (schema.minimum !== undefined && schema.maximum !== undefined) parts.push(`${schema.minimum}–${schema.maximum}`);
  else if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems}`);
  if (schema.maxProperties !== undefined) parts.push(`at most ${schema.maxProperties} entries`);
  if (schema.minItems !== undefined) parts.push(`at least ${schema.minItems}`);
  return parts.join(", ");
}

function parameterTable(rows) {
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, ["Name", "Type", "Range", "Default", "Description"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map(({ name, schema, required, where }) => el("tr", {},
      el("td", {}, el("code", { text: name }), required ? " (required)" : "", where ? ` · ${where}` : ""),
      el("td", { text: typeOf(schema) }), el("td", { text: range(resolve(schema)) }),
      el("td", { text: resolve(schema).default === undefined ? "" : JSON.stringify(resolve(schema).default) }),
      el("td", { text: resolve(schema).description ?? "" }))))));
}

function examples(method, path, operation) {
  const body = operation.requestBody?.content?.["application/json"]?.example;
  const keyed = operation.security?.some((requirement) => "bearerAuth" in requirement);
  const base = location.origin;
  const json = body ? JSON.stringify(body, null, 2) : "";
  const binary = Object.keys(operation.responses?.["200"]?.content ?? {}).find((type) => type.startsWith("image/"));
  const output = binary ? ` -o out.${binary.slice(6)}` : "";
  const curlLines = [`curl ${base}${path}${output}`];
  if (method === "post") curlLines[0] = `curl -X POST ${base}${path}${output}`;
  if (keyed) curlLines.push(`  -H "Authorization: Bearer $VISIONCRAFT_API_KEY"`);
  if (body) curlLines.push(`  -H "Content-Type: application/json"`, `  -d '${json.replaceAll("'", "'\\''")}'`);

  let python;
  if (path === "/v1/chat/completions") {
    python = `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="YOUR_KEY")\n`
      + `completion = client.chat.completions.create(\n${Object.entries(body).map(([k, v]) => `    ${k}=${JSON.stringify(v).replaceAll("false", "False").replaceAll("true", "True")},`).join("\n")}\n)\n`
      + "print(completion.choices[0].message.content)";
  } else if (path === "/v1/completions") {
    python = `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="YOUR_KEY")\n`
      + `completion = client.completions.create(\n${Object.entries(body).map(([k, v]) => `    ${k}=${JSON.stringify(v)},`).join("\n")}\n)\n`
      + "print(completion.choices[0].text)";
  } else if (path === "/v1/models") {
    python = `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="YOUR_KEY")\nfor model in client.models.list():\n    print(model.id)`;
  } else {
    const call = method === "post" ? `httpx.post("${base}${path}", json=${json.replaceAll("false", "False").replaceAll("true", "True")},`
      : `httpx.get("${base}${path}",`;
    python = `import httpx  # installed with the openai SDK\n\nresponse = ${call}\n    headers={"Authorization": "Bearer YOUR_KEY"}${method === "post" ? ", timeout=600" : ""})\nresponse.raise_for_status()\n`
      + (binary ? `open("out.${binary.slice(6)}", "wb").write(response.content)` : "print(response.json())");
  }

  const fetchOptions = [];
  if (method === "post") fetchOptions.push(`  method: "POST",`);
  const headers = [];
  if (keyed) headers.push(`"Authorization": "Bearer " + apiKey`);
  if (body) headers.push(`"Content-Type": "application/json"`);
  if (headers.length) fetchOptions.push(`  headers: { ${headers.join(", ")} },`);
  if (body) fetchOptions.push(`  body: JSON.stringify(${json.replaceAll("\n", "\n  ")}),`);
  const javascript = `const response = await fetch("${base}${path}"${fetchOptions.length ? `, {\n${fetchOptions.join("\n")}\n}` : ""});\n`
    + `if (!response.ok) throw new Error((await response.json()).error.message);\n`
    + (binary ? "const blob = await response.blob();" : "console.log(await response.json());");

  const id = `${method}-${path.replace(/[^a-z0-9]+/gi, "-")}`;
  const samples = [["curl", curlLines.join(" \\\n")], ["Python", python], ["JavaScript", javascript]];
  const list = el("div", { class: "tabs samples", role: "tablist", "aria-label": `Examples for ${method.toUpperCase()} ${path}` },
    samples.map(([name], index) => el("button", {
      role: "tab", type: "button", id: `${id}-tab-${index}`, "aria-controls": `${id}-panel-${index}`,
      "aria-selected": String(index === 0), tabindex: index === 0 ? 0 : -1, text: name,
    })));
  const panels = samples.map(([, code], index) => el("div", {
    role: "tabpanel", id: `${id}-panel-${index}`, "aria-labelledby": `${id}-tab-${index}`, hidden: index !== 0,
  }, el("pre", {}, el("code", { text: code }))));
  const wrapper = el("div", {}, list, panels);
  tabs(list);
  return wrapper;
}

function operationSection(method, path, operation) {
  const id = operation.operationId;
  const parameters = (operation.parameters ?? []).map((p) => ({ name: p.name, schema: { ...p.schema, description: p.description ?? p.schema?.description }, required: p.required, where: p.in }));
  const bodySchema = resolve(operation.requestBody?.content?.["application/json"]?.schema);
  const bodyRows = Object.entries(bodySchema.properties ?? {}).map(([name, schema]) => ({
    name, schema, required: bodySchema.required?.includes(name),
  }));
  const keyed = operation.security?.some((requirement) => "bearerAuth" in requirement);
  const responses = Object.entries(operation.responses ?? {}).map(([code, response]) =>
    el("li", {}, el("strong", { text: code }), ` ${response.description}`,
      response.content ? ` (${Object.keys(response.content).join(", ")})` : ""));
  return el("section", { class: "card operation", id, "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, el("span", { class: `method ${method}`, text: method.toUpperCase() }), path),
    el("p", {}, el("strong", { text: operation.summary })),
    el("p", { text: operation.description }),
    el("p", { class: "muted", text: keyed ? "Needs a key." : "No key needed." }),
    parameters.length || bodyRows.length ? el("h4", { text: "Parameters" }) : null,
    parameters.length || bodyRows.length ? parameterTable([...parameters, ...bodyRows]) : null,
    el("h4", { text: "Answers" }), el("ul", {}, responses),
    el("h4", { text: "Examples" }), examples(method, path, operation));
}

function tiersSection(limits) {
  const tiers = Object.keys(limits);
  const rows = ["chat", "image", "gif", "concurrent"];
  return el("section", { class: "card", id: "tiers", "aria-labelledby": "tiers-title" },
    el("h2", { id: "tiers-title", text: "Tiers and limits on this server" }),
    el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "" }), tiers.map((tier) => el("th", { scope: "col", text: tier })))),
      el("tbody", {}, rows.map((row) => el("tr", {}, el("th", { scope: "row", text: row }),
        tiers.map((tier) => el("td", { text: limits[tier][row] ?? "" }))))))));
}

function errorsSection() {
  const seen = new Map();
  for (const item of Object.values(spec.paths)) {
    for (const operation of Object.values(item)) {
      for (const [code, response] of Object.entries(operation.responses ?? {})) {
        if (Number(code) >= 400 && !seen.has(code)) seen.set(code, response.description);
      }
    }
  }
  const codes = [...seen.keys()].sort();
  return el("section", { class: "card", id: "errors", "aria-labelledby": "errors-title" },
    el("h2", { id: "errors-title", text: "Errors" }),
    el("p", {}, "Every error is JSON in OpenAI's shape, so the OpenAI SDKs raise the matching exception:"),
    el("pre", {}, el("code", { text: JSON.stringify({ error: { message: "'steps' must be between 1 and 35, got 50.", type: "invalid_request_error", param: "steps", code: "invalid_value" } }, null, 2) })),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Status" }), el("th", { scope: "col", text: "Meaning" }))),
      el("tbody", {}, codes.map((code) => el("tr", {}, el("td", { text: code }), el("td", { text: seen.get(code) }))))));
}

async function render() {
  const [document_, limits] = await Promise.all([callJSON("/openapi.json"), callJSON("/limits")]);
  spec = document_;
  const intro = el("section", { class: "card", id: "authentication", "aria-labelledby": "auth-title" },
    el("h2", { id: "auth-title", text: "Keys" }),
    spec.info.description.split("\n").filter((line) => line && !line.startsWith("- ")).slice(0, 2)
      .map((line) => el("p", { text: line.replaceAll("`", "") })));
  const sections = [];
  const toc = [];
  for (const tag of spec.tags) {
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).filter(([, op]) => op.tags?.includes(tag.name)).map(([method, op]) => [method, path, op]));
    if (!operations.length) continue;
    sections.push(el("h2", { id: `tag-${tag.name}`, text: tag.name }), el("p", { class: "muted", text: tag.description }),
      ...operations.map(([method, path, op]) => operationSection(method, path, op)));
    toc.push(el("li", {}, el("a", { href: `#tag-${tag.name}`, text: tag.name }), ": ",
      operations.map(([method, path, op], index) => [index ? ", " : "", el("a", { href: `#${op.operationId}`, text: `${method.toUpperCase()} ${path}` })])));
  }
  document.getElementById("toc").replaceChildren(el("h2", { text: "Contents" }), el("ul", {},
    el("li", {}, el("a", { href: "#authentication", text: "Keys" })), el("li", {}, el("a", { href: "#tiers", text: "Tiers and limits" })),
    el("li", {}, el("a", { href: "#errors", text: "Errors" })), toc));
  container.replaceChildren(intro, tiersSection(limits), errorsSection(), ...sections);
  status.textContent = `${spec.info.title} ${spec.info.version} · OpenAPI ${spec.openapi}`;
}

render().catch((failure) => { status.textContent = `Could not load the API description: ${failure.message}`; });
