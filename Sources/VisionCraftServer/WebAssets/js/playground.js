// The playground: chat (streamed), an image and a GIF with the key kept in this browser; each
// request is shown as the curl command that makes it.
import { call, callJSON, curl, el, formValues, keyForm, tabs } from "./common.js";

let apiKey = "";
const keyStatus = document.getElementById("key-status");
tabs(document.querySelector(".tabs"));

function options(select, names, { empty } = {}) {
  select.replaceChildren(...(empty ? [el("option", { value: "", text: empty })] : []),
    ...names.map((name) => el("option", { value: name, text: name })));
}

async function loadModels() {
  const [chat, images, gifs] = await Promise.all([
    callJSON("/v1/models"), callJSON("/sd/models"), callJSON("/text2gif/models"),
  ]);
  options(document.getElementById("chat-model"), chat.data.map((model) => model.id));
  options(document.getElementById("image-model"), images);
  options(document.getElementById("gif-model"), gifs, { empty: gifs.length ? undefined : "(none served)" });
  await loadImageModel();
}

keyForm((key) => {
  apiKey = key;
  keyStatus.textContent = key ? "Key set for this browser." : "No key set: requests will be refused with 401.";
});

// MARK: Chat

const chatForm = document.getElementById("chat-form");
const transcript = document.getElementById("transcript");
const chatError = document.getElementById("chat-error");
const stopButton = document.getElementById("chat-stop");
let conversation = [];
let running = null;

function bubble(role, text) {
  const body = el("span", { class: "text", text });
  const node = el("div", { class: `message ${role}` }, el("span", { class: "who", text: role }), body);
  transcript.append(node);
  return body;
}

function chatRequest() {
  const { model, system, message, stop, stream, ...sampling } = formValues(chatForm);
  const messages = [...(system ? [{ role: "system", content: system }] : []), ...conversation,
    { role: "user", content: message }];
  const body = { model, messages, ...sampling, stream: Boolean(stream) };
  if (stop) body.stop = stop;
  return body;
}

chatForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  chatError.textContent = "";
  const body = chatRequest();
  document.getElementById("chat-curl").textContent = curl("/v1/chat/completions", body);
  const question = body.messages[body.messages.length - 1].content;
  bubble("user", question);
  const answer = bubble("assistant", "");
  answer.parentElement.setAttribute("aria-busy", "true");
  document.getElementById("chat-message").value = "";
  running = new AbortController();
  stopButton.disabled = false;
  document.getElementById("chat-send").disabled = true;
  try {
    const response = await call("/v1/chat/completions", { key: apiKey, method: "POST", body, signal: running.signal });
    if (body.stream) {
      await readEvents(response, (chunk) => { answer.textContent += chunk.choices?.[0]?.delta?.content ?? ""; });
    } else {
      answer.textContent = (await response.json()).choices[0].message.content;
    }
    conversation.push({ role: "user", content: question }, { role: "assistant", content: answer.textContent });
  } catch (failure) {
    if (failure.name !== "AbortError") chatError.textContent = failure.message;
  } finally {
    answer.parentElement.setAttribute("aria-busy", "false");
    answer.parentElement.dataset.done = "true";
    running = null;
    stopButton.disabled = true;
    document.getElementById("chat-send").disabled = false;
  }
});

/** Reads server-sent events, calling `onChunk` with each JSON chunk until `[DONE]`. */
async function readEvents(response, onChunk) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        onChunk(chunk);
      }
    }
  }
}

stopButton.addEventListener("click", () => running?.abort());
document.getElementById("chat-clear").addEventListener("click", () => {
  conversation = [];
  transcript.replaceChildren();
});

// MARK: Images and GIFs

const imageModel = document.getElementById("image-model");
imageModel.addEventListener("change", loadImageModel);

/** The chosen model's samplers and LoRAs, and its defaults as the fields' placeholders. */
async function loadImageModel() {
  const name = imageModel.value;
  const loras = document.getElementById("image-loras");
  if (!name) return;
  const detail = await callJSON(`/sd/models/${encodeURIComponent(name)}`);
  options(document.getElementById("image-sampler"), detail.samplers, { empty: `default (${detail.defaults.sampler ?? "model's"})` });
  for (const field of ["width", "height", "steps", "cfg_scale"]) {
    document.querySelector(`#image-form [name="${field}"]`).placeholder = `default ${detail.defaults[field]}`;
  }
  loras.replaceChildren(el("legend", { text: "LoRAs" }), ...(detail.loras.length ? detail.loras.map((lora) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", "data-lora": lora }), lora,
      el("input", { type: "number", step: "0.05", min: "-10", max: "10", value: "1", "data-weight": lora,
        "aria-label": `Weight of ${lora}` })))
    : [el("p", { class: "muted", text: "None offered by this model." })]));
}

function imageRequest(form) {
  const body = formValues(form);
  const loras = {};
  for (const box of form.querySelectorAll("[data-lora]")) {
    if (box.checked) loras[box.dataset.lora] = Number(form.querySelector(`[data-weight="${CSS.escape(box.dataset.lora)}"]`).value);
  }
  if (Object.keys(loras).length) body.loras = loras;
  return body;
}

function wireMedia(kind, path, extension, build) {
  const form = document.getElementById(`${kind}-form`);
  const error = document.getElementById(`${kind}-error`);
  const button = document.getElementById(`${kind}-generate`);
  let url = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = build(form);
    document.getElementById(`${kind}-curl`).textContent = `${curl(path, body)} \\\n  -o ${kind}.${extension}`;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const response = await call(path, { key: apiKey, method: "POST", body });
      const seed = response.headers.get("X-Seed");
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(await response.blob());
      const image = document.getElementById(`${kind}-output`);
      image.src = url;
      const download = document.getElementById(`${kind}-download`);
      download.href = url;
      download.download = `visioncraft-${seed ?? "image"}.${extension}`;
      document.getElementById(`${kind}-seed`).textContent = seed ? `Seed ${seed}.` : "";
      document.getElementById(`${kind}-result`).hidden = false;
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
}

wireMedia("image", "/sd", "png", imageRequest);
wireMedia("gif", "/text2gif", "gif", (form) => formValues(form));

loadModels().catch((failure) => { keyStatus.textContent = `Could not list the models: ${failure.message}`; });
