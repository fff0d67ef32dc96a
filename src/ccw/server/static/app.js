"use strict";

// ccw dashboard: plain DOM, one JSON API, no build step.

const API = "/api/litellm-api";
const POLL_MS = 2000;

const state = {
  providers: [],
  endpoints: [],
  types: [],
  config: null,
  cache: null,
  entries: [],
  history: null,
  spend: null,
  tests: new Map(),
  health: new Map(),
  pools: [],
  stamps: {},
  editing: null,
  files: { files: [], defaultScope: "project" },
};

// ---- helpers --------------------------------------------------------------------------------

const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function formatBytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// A duration for people: "840 ms", "3.2 s", "3 min", "1 h 5 min"; never "180419 ms".
function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "";
  const value = Number(ms);
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60000) return `${(value / 1000).toFixed(1)} s`;
  const minutes = Math.round(value / 60000);
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
}

// Where an entry is defined: the user's config (every repository) or the project's.
function sourceBadge(entry) {
  const source = entry.source;
  if (!source || source === "built-in" || source === "config") return null;
  const title = source === "user" ? "From your user config: used in every repository" : "From this project's .ccw/ config";
  return h("span", { class: `badge source ${source}`, title, "data-source": source }, source);
}

function formatTime(value) {
  if (!value) return "–";
  const date = typeof value === "number" ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

function toast(message) {
  const el = $("#toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 2500);
}

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, fix, status) {
    super(message);
    this.fix = fix;
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem("ccw-token");
}

// The session's next single-use CSRF token (GET /api/csrf-token; each mutation's answer
// carries the next one). Not needed when the page sends the server token.
let csrfToken = null;

async function freshCsrfToken() {
  const response = await fetch("/api/csrf-token", { headers: { accept: "application/json" } });
  csrfToken = response.ok ? (await response.json()).csrfToken : null;
}

async function api(method, path, body, retried = false) {
  const headers = { accept: "application/json" };
  const secret = token();
  if (secret) headers.authorization = `Bearer ${secret}`;
  const mutation = !["GET", "HEAD"].includes(method);
  if (mutation && !secret) {
    if (!csrfToken) await freshCsrfToken().catch(() => {});
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
    csrfToken = null;
  }
  const init = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    setOnline(false);
    throw new ApiError("cannot reach the ccw server", "is `ccw serve` still running?", 0);
  }
  setOnline(response.status !== 401, "token needed");
  if (response.headers.get("x-csrf-token")) csrfToken = response.headers.get("x-csrf-token");
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const message = (data && data.error) || `HTTP ${response.status}`;
    if (response.status === 403 && mutation && !retried && message.startsWith("CSRF")) {
      return api(method, path, body, true);  // the token expired: one more with a new one
    }
    throw new ApiError(message, data && data.fix, response.status);
  }
  return data;
}

function setOnline(online, reason = "offline") {
  const el = $("#status");
  el.classList.toggle("offline", !online);
  el.textContent = online ? "connected" : reason;
}

function showError(error, title = "Error") {
  const box = $("#alert");
  $("#alert-title").textContent = `${title}:`;
  $("#alert-message").textContent = error.message || String(error);
  $("#alert-fix").textContent = error.fix ? `Fix: ${error.fix}` : "";
  $("#token-form").hidden = error.status !== 401;
  box.hidden = false;
}

function clearError() {
  $("#alert").hidden = true;
}

// Runs an action, shows its error in the page instead of the console.
async function guarded(action, title) {
  try {
    const result = await action();
    return result;
  } catch (error) {
    showError(error, title);
    return undefined;
  }
}

// ---- loading --------------------------------------------------------------------------------

async function loadConfig() {
  const [providers, endpoints, config, files] = await Promise.all([
    api("GET", "/providers"),
    api("GET", "/endpoints"),
    api("GET", "/config"),
    api("GET", "/config/files"),
  ]);
  state.files = files;
  state.providers = providers.providers;
  state.endpoints = endpoints.endpoints;
  state.config = config;
  const multi = state.providers.filter((p) => (p.apiKeys || []).length);
  const [pools, ...health] = await Promise.all([
    api("GET", "/model-pools"),
    ...multi.map((p) => api("GET", `/providers/${encodeURIComponent(p.id)}/health-status`)),
  ]);
  state.pools = pools.pools;
  for (const report of health) state.health.set(report.providerId, report);
  renderPools();
  renderProviders();
  renderEndpoints();
  renderCacheSettings();
}

async function loadCache() {
  const [stats, entries] = await Promise.all([api("GET", "/cache/stats"), api("GET", "/cache/entries")]);
  state.cache = stats;
  state.entries = entries.entries;
  renderCache();
}

async function loadHistory() {
  if (state.history === null) return;
  const all = $("#history-all").checked ? "&all=true" : "";
  const data = await api("GET", `/history?limit=30${all}`);
  state.history = data.history;
  renderHistory();
}

async function poll() {
  if (document.hidden) return;
  try {
    const stamps = await api("GET", "/changes");
    const seen = state.stamps;
    const loaders = { config: loadConfig, cache: loadCache, history: () => Promise.all([loadHistory(), loadSpend()]) };
    for (const [name, load] of Object.entries(loaders)) {
      if (stamps[name] === undefined || stamps[name] === seen[name]) continue;
      await load();
      seen[name] = stamps[name];
    }
  } catch (error) {
    showError(error, error.status === 401 ? "Token needed" : "Refresh failed");
  }
}

// ---- providers ------------------------------------------------------------------------------

function typeInfo(type) {
  return state.types.find((t) => t.type === type) || { models: [] };
}

function keyBadge(provider) {
  const several = (provider.apiKeys || []).length;
  if (several && !provider.apiKey) return h("span", { class: "badge" }, `${several} keys below`);
  if (!provider.apiKey) {
    const info = typeInfo(provider.type);
    if (!info.needsKey) return h("span", { class: "badge" }, "no key needed");
    return h("span", { class: "badge" }, info.keyEnv ? `uses $${info.keyEnv}` : "no key");
  }
  const source = provider.apiKeySource === "env" ? "env" : "literal";
  return h("span", {}, h("code", {}, provider.apiKey), " ", h("span", { class: "badge" }, source));
}

function testResultView(result) {
  if (!result) return null;
  if (result.pending) return h("div", { class: "result" }, "Testing connection…");
  if (result.success) {
    const models = result.models === null ? "" : ` · ${result.models} model${result.models === 1 ? "" : "s"}`;
    return h("div", { class: "result ok", "data-test-result": "ok" }, `✓ Connected in ${formatDuration(result.latencyMs)}${models}`);
  }
  const kind = (result.errorKind || "error").replace(/_/g, " ");
  return h(
    "div",
    { class: "result bad", "data-test-result": "error" },
    `✗ ${kind} · ${formatDuration(result.latencyMs)}`,
    h("span", { class: "detail" }, result.error || ""),
  );
}

function renderProviders() {
  const list = $("#providers");
  $("#count-providers").textContent = state.providers.length || "";
  list.replaceChildren();
  if (!state.providers.length) {
    list.append(h("div", { class: "empty" }, "No providers yet. Add one to get started."));
    return;
  }
  for (const p of state.providers) {
    const base = p.apiBase || typeInfo(p.type).defaultBase || "";
    const row = h(
      "div",
      { class: `row${p.enabled ? "" : " disabled"}`, "data-provider": p.id },
      h(
        "div",
        { class: "cell" },
        h("div", { class: "title" }, p.name || p.id, p.builtin ? h("span", { class: "badge accent" }, "built-in") : null,
          sourceBadge(p), p.enabled ? null : h("span", { class: "badge" }, "disabled")),
        p.name && p.name !== p.id ? h("div", { class: "sub mono" }, p.id) : null,
      ),
      h("div", { class: "cell" }, h("div", {}, h("span", { class: "badge accent" }, p.type)), h("div", { class: "sub mono" }, base)),
      h("div", { class: "cell" }, keyBadge(p)),
      h(
        "div",
        { class: "cell cell-actions" },
        h("button", { class: "btn small", onclick: () => testProvider(p.id), "data-action": "test" }, "Test"),
        p.builtin ? null : h("button", { class: "btn small", onclick: () => openProviderDialog(p), "data-action": "edit" }, "Edit"),
        p.builtin ? null : h("button", { class: "btn small danger", onclick: () => deleteProvider(p), "data-action": "delete" }, "Delete"),
      ),
      testResultView(state.tests.get(p.id)),
      keysView(p),
    );
    list.append(row);
  }
}

function healthBadge(status) {
  const cls = status === "healthy" ? "ok" : status === "unhealthy" ? "bad" : "";
  return h("span", { class: `badge ${cls}`, "data-key-status": status }, status);
}

/** A multi-key provider's keys: label, weight and the health each last check recorded. */
function keysView(p) {
  const keys = p.apiKeys || [];
  if (!keys.length) return null;
  const report = state.health.get(p.id);
  const byId = new Map(((report && report.keys) || []).map((k) => [k.keyId, k]));
  const routing = p.routingStrategy || "simple-shuffle";
  return h(
    "div",
    { class: "keys", "data-keys": p.id },
    h("div", { class: "keys-head" },
      h("span", { class: "sub" }, `${keys.length} keys · routing: ${routing}`),
      h("button", { class: "btn small", onclick: () => checkKeys(p.id), "data-action": "check-keys" }, "Check keys")),
    ...keys.map((k) => {
      const health = byId.get(k.id) || {};
      return h(
        "div",
        { class: `key-line${k.enabled === false ? " disabled" : ""}`, "data-key": k.id },
        h("span", { class: "title" }, k.label || k.id),
        h("code", {}, k.key || ""),
        h("span", { class: "sub" }, k.weight ? `weight ${k.weight}` : ""),
        healthBadge(k.enabled === false ? "disabled" : health.status || "unknown"),
        health.lastError ? h("span", { class: "sub" }, health.lastError) : null,
      );
    }),
  );
}

async function checkKeys(id) {
  await guarded(async () => {
    const report = await api("POST", `/providers/${encodeURIComponent(id)}/health-check-now`);
    state.health.set(id, report);
    renderProviders();
  }, "Key check failed");
}

async function testProvider(id) {
  state.tests.set(id, { pending: true });
  renderProviders();
  const result = await guarded(() => api("POST", `/providers/${encodeURIComponent(id)}/test`), "Test failed");
  if (result) state.tests.set(id, result);
  else state.tests.delete(id);
  renderProviders();
}

async function deleteProvider(p) {
  const used = state.endpoints.filter((e) => e.providerId === p.id && !e.builtin).map((e) => e.id);
  const extra = used.length ? ` Its endpoints (${used.join(", ")}) are deleted too.` : "";
  if (!(await confirmAction(`Delete provider ${p.name || p.id}?`, `This removes it from the ${p.source || "project"} config file.${extra}`))) return;
  await guarded(async () => {
    await api("DELETE", `/providers/${encodeURIComponent(p.id)}`);
    state.tests.delete(p.id);
    toast(`Deleted ${p.id}`);
    await loadConfig();
  }, "Delete failed");
}

function fillTypes(select) {
  select.replaceChildren(...state.types.map((t) => h("option", { value: t.type }, t.type)));
}

function updateKeyMode(form) {
  const mode = form.elements.keyMode.value;
  $(".key-env", form).hidden = mode !== "env";
  form.elements.keyLiteral.hidden = mode !== "literal";
  const hint = $("#provider-key-hint");
  const editing = state.editing;
  if (mode === "literal" && editing && editing.apiKeySource === "literal") {
    hint.textContent = `Stored key ${editing.apiKey}. Leave empty to keep it.`;
  } else if (mode === "env") {
    hint.textContent = "Resolved from the environment of the process that calls the model; never stored.";
  } else if (mode === "literal") {
    hint.textContent = "Stored in the chosen config file (mode 0600) and shown masked; refused in a file inside a git repository (use a variable: ccw keys set NAME).";
  } else {
    hint.textContent = "No key is sent (local servers, or the type's usual variable).";
  }
}

function updateTypeHints(form) {
  const info = typeInfo(form.elements.type.value);
  form.elements.keyEnv.placeholder = info.keyEnv || "MY_API_KEY";
  $("#provider-base-hint").textContent = info.needsBase ? "required" : (info.defaultBase ? `default ${info.defaultBase}` : "");
  form.elements.apiBase.placeholder = info.defaultBase || "https://…";
}

// The "Save in" choice: empty means the server's default, which the hint names.
function fillScope(kind, entry) {
  const hint = $(`#${kind}-scope-hint`);
  const layered = state.files.files.length > 1;
  $(`#${kind}-scope`).closest("label").hidden = !layered;
  const first = $(`#${kind}-scope`).options[0];
  if (entry && entry.source && entry.source !== "built-in") {
    first.textContent = `Where it is defined (${entry.source} config)`;
    hint.textContent = `defined in the ${entry.source} config; choose the other one to override it there`;
  } else {
    first.textContent = `Default (${state.files.defaultScope} config)`;
    hint.textContent = `default: the ${state.files.defaultScope} config`;
  }
}

function openProviderDialog(provider) {
  const dialog = $("#provider-dialog");
  const form = $("#provider-form");
  form.reset();
  fillScope("provider", provider);
  $("#provider-keys").replaceChildren();
  state.editing = provider || null;
  fillTypes(form.elements.type);
  $("#provider-error").hidden = true;
  $("#provider-dialog-title").textContent = provider ? `Edit ${provider.name || provider.id}` : "Add provider";
  $("#provider-id-row").hidden = Boolean(provider);
  if (provider) {
    form.elements.type.value = provider.type;
    form.elements.name.value = provider.name || "";
    form.elements.apiBase.value = provider.apiBase || "";
    form.elements.enabled.checked = provider.enabled !== false;
    form.elements.timeout.value = provider.timeout || "";
    form.elements.apiVersion.value = provider.apiVersion || "";
    form.elements.organization.value = provider.organization || "";
    form.elements.routingStrategy.value = provider.routingStrategy || "";
    for (const entry of provider.apiKeys || []) addKeyRow(entry);
    const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(provider.apiKey || "");
    if (match) {
      form.elements.keyMode.value = "env";
      form.elements.keyEnv.value = match[1];
    } else {
      form.elements.keyMode.value = provider.apiKey ? "literal" : "none";
    }
  } else {
    form.elements.type.value = "openai";
    form.elements.keyMode.value = "env";
  }
  updateTypeHints(form);
  updateKeyMode(form);
  dialog.showModal();
}

/** One row of the keys editor; an existing key shows masked and is kept unless replaced. */
function addKeyRow(entry) {
  const row = h(
    "div",
    { class: "key-row", "data-key-row": entry ? entry.id : "" },
    h("input", { name: "keyLabel", placeholder: "Label", value: entry ? entry.label || "" : "", "aria-label": "Key label", autocomplete: "off" }),
    h("input", { name: "keyValue", type: "password", autocomplete: "new-password", placeholder: entry ? entry.key : "sk-… or ${VAR}", "aria-label": "Key" }),
    h("input", { name: "keyWeight", type: "number", min: "0", step: "any", placeholder: "weight", value: entry && entry.weight ? entry.weight : "", "aria-label": "Weight" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "keyEnabled", checked: !entry || entry.enabled !== false }), " on"),
    h("button", { class: "icon-btn", type: "button", "aria-label": "Remove key", onclick: () => row.remove() }, "×"),
  );
  if (entry) row.dataset.masked = entry.key || "";
  $("#provider-keys").append(row);
}

function keysPayload() {
  const rows = [...document.querySelectorAll("#provider-keys .key-row")];
  const taken = new Set(rows.map((r) => r.dataset.keyRow).filter(Boolean));
  let n = 0;
  return rows.map((row) => {
    let id = row.dataset.keyRow;
    while (!id) {
      n += 1;
      if (!taken.has(`key-${n}`)) id = `key-${n}`;
    }
    taken.add(id);
    const key = $("[name=keyValue]", row).value.trim() || row.dataset.masked;
    if (!key) throw new ApiError("enter each key, or remove its row");
    const entry = { id, key, enabled: $("[name=keyEnabled]", row).checked };
    const label = $("[name=keyLabel]", row).value.trim();
    if (label) entry.label = label;
    const weight = Number($("[name=keyWeight]", row).value);
    if (weight > 0) entry.weight = weight;
    return entry;
  });
}

function providerPayload(form) {
  const f = form.elements;
  const editing = state.editing;
  const data = { type: f.type.value, name: f.name.value.trim(), enabled: f.enabled.checked };
  const optional = { apiBase: f.apiBase.value.trim(), apiVersion: f.apiVersion.value.trim(), organization: f.organization.value.trim() };
  for (const [key, value] of Object.entries(optional)) {
    if (value) data[key] = value;
    else if (editing) data[key] = null;
  }
  const keys = keysPayload();
  if (keys.length) data.apiKeys = keys;
  else if (editing && (editing.apiKeys || []).length) data.apiKeys = null;
  if (f.routingStrategy.value) data.routingStrategy = f.routingStrategy.value;
  else if (editing && editing.routingStrategy) data.routingStrategy = null;
  if (f.timeout.value) data.timeout = Number(f.timeout.value);
  else if (editing) data.timeout = null;
  if (!editing && f.id.value.trim()) data.id = f.id.value.trim();
  if (!data.name) {
    if (editing) delete data.name;
    else data.name = `My ${data.type}`;
  }
  const mode = f.keyMode.value;
  if (mode === "env") {
    const name = f.keyEnv.value.trim() || f.keyEnv.placeholder;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ApiError("the variable name may hold letters, digits and _ only");
    data.apiKey = `\${${name}}`;
  } else if (mode === "literal") {
    const key = f.keyLiteral.value.trim();
    if (key) data.apiKey = key;
    else if (!(editing && editing.apiKeySource === "literal")) throw new ApiError("enter the key, or choose an environment variable");
  } else if (editing) {
    data.apiKey = null;
  }
  return data;
}

/** Submit a provider or endpoint dialog: POST when adding, PUT when editing; errors stay in
 * the dialog. `kind` is "provider" or "endpoint"; `payload` reads the form. */
async function saveDialog(event, kind, payload) {
  event.preventDefault();
  const errorBox = $(`#${kind}-error`);
  const button = $(`#${kind}-save`);
  button.disabled = true;
  try {
    const body = payload(event.target);
    const scope = event.target.elements.scope ? event.target.elements.scope.value : "";
    if (scope) body.scope = scope;
    const editing = state.editing;
    if (editing) await api("PUT", `/${kind}s/${encodeURIComponent(editing.id)}`, body);
    else await api("POST", `/${kind}s`, body);
    $(`#${kind}-dialog`).close();
    const label = kind[0].toUpperCase() + kind.slice(1);
    toast(editing ? `${label} saved` : `${label} added`);
    await loadConfig();
  } catch (error) {
    errorBox.textContent = error.fix ? `${error.message}. ${error.fix}` : error.message;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
}

// ---- endpoints ------------------------------------------------------------------------------

function commandLine(id) {
  return `ccw cli -p "..." --model ${id}`;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied");
  } catch {
    toast("Select the command and copy it");
  }
}

function renderEndpoints() {
  const list = $("#endpoints");
  $("#count-endpoints").textContent = state.endpoints.length || "";
  list.replaceChildren();
  if (!state.endpoints.length) {
    list.append(h("div", { class: "empty" }, "No endpoints yet."));
    return;
  }
  for (const e of state.endpoints) {
    const provider = state.providers.find((p) => p.id === e.providerId);
    const cache = e.cacheStrategy || {};
    const cacheText = cache.enabled
      ? `cache ${cache.ttlMinutes} min · ${cache.maxSizeKB} KB${(cache.filePatterns || []).length ? ` · ${cache.filePatterns.join(" ")}` : ""}`
      : "cache off";
    list.append(
      h(
        "div",
        { class: `row${e.enabled ? "" : " disabled"}`, "data-endpoint": e.id },
        h(
          "div",
          { class: "cell" },
          h("div", { class: "title" }, e.name || e.id,
            e.isDefault ? h("span", { class: "badge ok" }, "default") : null,
            e.builtin ? h("span", { class: "badge accent" }, "built-in") : null,
            sourceBadge(e), e.enabled ? null : h("span", { class: "badge" }, "disabled")),
          e.name && e.name !== e.id ? h("div", { class: "sub mono" }, e.id) : null,
        ),
        h("div", { class: "cell" }, h("div", { class: "mono" }, e.model), h("div", { class: "sub" }, provider ? `${provider.name || provider.id} (${provider.type})` : e.providerId)),
        h("div", { class: "cell sub" }, cacheText),
        h(
          "div",
          { class: "cell cell-actions" },
          e.isDefault ? null : h("button", { class: "btn small", onclick: () => setDefault(e.id), "data-action": "default" }, "Make default"),
          e.builtin ? null : h("button", { class: "btn small", onclick: () => openEndpointDialog(e), "data-action": "edit" }, "Edit"),
          e.builtin ? null : h("button", { class: "btn small danger", onclick: () => deleteEndpoint(e), "data-action": "delete" }, "Delete"),
        ),
        h("div", { class: "cmd" }, h("code", {}, commandLine(e.id)), h("button", { class: "btn small", onclick: () => copy(commandLine(e.id)) }, "Copy")),
      ),
    );
  }
}

async function setDefault(id) {
  await guarded(async () => {
    await api("PUT", "/config/default-endpoint", { endpointId: id });
    toast(`Default endpoint: ${id}`);
    await loadConfig();
  }, "Could not set the default");
}

async function deleteEndpoint(e) {
  if (!(await confirmAction(`Delete endpoint ${e.id}?`, "Calls with --model " + e.id + " will stop working."))) return;
  await guarded(async () => {
    await api("DELETE", `/endpoints/${encodeURIComponent(e.id)}`);
    toast(`Deleted ${e.id}`);
    await loadConfig();
  }, "Delete failed");
}

function fillModels(form) {
  const provider = state.providers.find((p) => p.id === form.elements.providerId.value);
  const models = provider ? typeInfo(provider.type).models : [];
  $("#endpoint-models").replaceChildren(...models.map((m) => h("option", { value: m })));
  form.elements.model.placeholder = models[0] || "model name";
}

async function openEndpointDialog(endpoint) {
  await guarded(loadConfig, "Cannot load");
  const form = $("#endpoint-form");
  form.reset();
  fillScope("endpoint", endpoint);
  state.editing = endpoint || null;
  $("#endpoint-error").hidden = true;
  $("#endpoint-dialog-title").textContent = endpoint ? `Edit ${endpoint.id}` : "Add endpoint";
  $("#endpoint-id-row").hidden = Boolean(endpoint);
  const choices = state.providers.filter((p) => !p.builtin || (endpoint && endpoint.providerId === p.id));
  form.elements.providerId.replaceChildren(...choices.map((p) => h("option", { value: p.id }, `${p.name || p.id} (${p.type})`)));
  if (endpoint) {
    const f = form.elements;
    f.name.value = endpoint.name || "";
    f.providerId.value = endpoint.providerId;
    f.model.value = endpoint.model;
    f.description.value = endpoint.description || "";
    f.maxTokens.value = endpoint.maxTokens || "";
    f.temperature.value = endpoint.temperature ?? "";
    f.enabled.checked = endpoint.enabled !== false;
    const cache = endpoint.cacheStrategy || {};
    f.cacheEnabled.checked = cache.enabled !== false;
    f.ttlMinutes.value = cache.ttlMinutes ?? 60;
    f.maxSizeKB.value = cache.maxSizeKB ?? 512;
    f.filePatterns.value = (cache.filePatterns || []).join(", ");
  }
  fillModels(form);
  if (!choices.length) {
    $("#endpoint-error").textContent = "Add a provider first.";
    $("#endpoint-error").hidden = false;
  }
  $("#endpoint-dialog").showModal();
}

function endpointPayload(form) {
  const f = form.elements;
  const editing = state.editing;
  const numberOrNull = (value) => (value === "" ? null : Number(value));
  const data = {
    name: f.name.value.trim() || (editing ? editing.id : f.id.value.trim()),
    providerId: f.providerId.value,
    model: f.model.value.trim(),
    enabled: f.enabled.checked,
    cacheStrategy: {
      enabled: f.cacheEnabled.checked,
      ttlMinutes: Number(f.ttlMinutes.value || 60),
      maxSizeKB: Number(f.maxSizeKB.value || 512),
      filePatterns: f.filePatterns.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean),
    },
  };
  const description = f.description.value.trim();
  if (description) data.description = description;
  else if (editing) data.description = null;
  const maxTokens = numberOrNull(f.maxTokens.value);
  const temperature = numberOrNull(f.temperature.value);
  if (maxTokens !== null || editing) data.maxTokens = maxTokens;
  if (temperature !== null || editing) data.temperature = temperature;
  if (!editing) data.id = f.id.value.trim();
  if (!data.model) throw new ApiError("choose a model");
  if (!editing && !data.id) throw new ApiError("give the endpoint an id, e.g. my-gpt4o");
  return data;
}

// ---- cache ----------------------------------------------------------------------------------

function stat(label, value, sub, ratio) {
  const card = h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value));
  if (sub) card.append(h("div", { class: "stat-sub" }, sub));
  if (ratio !== undefined) {
    const fill = h("span");
    const percent = ratio > 0 ? Math.max(1, ratio * 100) : 0;
    fill.style.width = `${Math.min(100, percent).toFixed(1)}%`;
    card.append(h("div", { class: "bar" }, fill));
  }
  return card;
}

function renderCacheSettings() {
  const settings = (state.config && state.config.globalCacheSettings) || {};
  $("#cache-enabled").checked = settings.enabled !== false;
  $(".switch-label").textContent = settings.enabled !== false ? "Caching on" : "Caching off";
  const max = $("#cache-max");
  if (document.activeElement !== max) max.value = settings.maxTotalSizeMB ?? "";
}

function renderCache() {
  const s = state.cache || {};
  const used = s.totalBytes || 0;
  const max = s.maxBytes || 0;
  const lookups = (s.hits || 0) + (s.misses || 0);
  const rate = lookups ? `${Math.round((100 * (s.hits || 0)) / lookups)}% hit rate` : "no lookups yet";
  $("#count-cache").textContent = s.entries || "";
  $("#cache-dir").textContent = s.cacheDir ? `Stored in ${s.cacheDir}` : "";
  $("#cache-stats").replaceChildren(
    stat("Entries", s.entries ?? 0, s.expired ? `${s.expired} expired` : "none expired"),
    stat("Size", formatBytes(used), max ? `of ${formatBytes(max)} limit` : "", max ? used / max : undefined),
    stat("Hits", s.hits ?? 0, rate),
    stat("Misses", s.misses ?? 0, s.enabled === false ? "caching is off" : ""),
  );
  const list = $("#cache-entries");
  list.replaceChildren();
  if (!state.entries.length) {
    list.append(h("div", { class: "empty" }, "The cache is empty. Calls with @file patterns fill it."));
    return;
  }
  for (const entry of state.entries) list.append(entryRow(entry));
}

function entryRow(entry) {
  const patterns = entry.patterns || entry.filePatterns || [];
  const files = entry.files ?? entry.fileCount;
  const size = entry.bytes ?? entry.sizeBytes ?? entry.size;
  const expires = entry.expiresAt ?? entry.expires;
  return h(
    "div",
    { class: "row", "data-entry": entry.id },
    h("div", { class: "cell" },
      h("div", { class: "title mono" }, String(entry.id).slice(0, 16), entry.expired ? h("span", { class: "badge bad" }, "expired") : null),
      h("div", { class: "sub" }, Array.isArray(patterns) ? patterns.join(" ") : String(patterns))),
    h("div", { class: "cell sub" },
      files !== undefined ? `${plural(Array.isArray(files) ? files.length : files, "file")} · ` : "", formatBytes(size)),
    h("div", { class: "cell sub" },
      `created ${formatTime(entry.createdAt ?? entry.created)}`,
      h("br"),
      expires ? `expires ${formatTime(expires)}` : ""),
    h("div", { class: "cell cell-actions" },
      h("button", { class: "btn small danger", onclick: () => deleteEntry(entry.id), "data-action": "delete" }, "Delete")),
  );
}

async function deleteEntry(id) {
  await guarded(async () => {
    await api("DELETE", `/cache/entries/${encodeURIComponent(id)}`);
    toast("Entry deleted");
    await loadCache();
  }, "Delete failed");
}

async function clearCache(expiredOnly) {
  if (!expiredOnly && !(await confirmAction("Clear the whole cache?", "Every packed context is removed; the next calls pack again.", "Clear"))) return;
  await guarded(async () => {
    const result = await api("POST", "/cache/clear", { expiredOnly });
    toast(`Removed ${result.removed} ${result.removed === 1 ? "entry" : "entries"}`);
    await loadCache();
  }, "Clear failed");
}

async function saveCacheSettings(changes) {
  await guarded(async () => {
    await api("PUT", "/config/cache", changes);
    toast("Cache settings saved");
    await Promise.all([loadConfig(), loadCache()]);
  }, "Could not save the cache settings");
}

// ---- history --------------------------------------------------------------------------------

function renderHistory() {
  const list = $("#history");
  list.replaceChildren();
  if (!state.history || !state.history.length) {
    list.append(h("div", { class: "empty" }, "No calls yet."));
    return;
  }
  for (const r of state.history) {
    const ok = r.success === true;
    const tokens = r.usage && r.usage.promptTokens !== null ? `${r.usage.promptTokens} → ${r.usage.completionTokens ?? "?"} tokens` : "";
    const duration = r.durationMs;
    list.append(
      h("div", { class: "row" },
        h("div", { class: "cell" },
          h("div", { class: "title" }, r.endpointId || r.model || r.tool || "call",
            h("span", { class: `badge ${ok ? "ok" : "bad"}` }, ok ? "ok" : (r.errorKind || "error"))),
          h("div", { class: "sub" }, formatTime(r.createdAt), r.promptPreview ? ` · ${r.promptPreview}` : "",
            $("#history-all").checked && r.project ? ` · ${r.project}` : "")),
        h("div", { class: "cell sub mono" }, r.model || ""),
        h("div", { class: "cell sub" }, [formatDuration(duration), tokens].filter(Boolean).join(" · ")),
        h("div", { class: "cell sub" }, r.error ? String(r.error).slice(0, 160) : (r.cacheUsed ? "cache used" : ""))),
    );
  }
}

// ---- spend ----------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const SERIES = 8;  // endpoint colours (--series-0..7 in app.css), then round again
const CHART = { width: 760, height: 260, left: 64, right: 12, top: 14, bottom: 30 };

// Money as `ccw cost` prints it: $12.34, $0.0492, $0.000041, -$0.02; $0 only for free.
function formatMoney(value) {
  if (value === null || value === undefined) return null;
  if (value === 0) return "$0";
  const sign = value < 0 ? "-" : "";
  const size = Math.abs(value);
  if (size >= 1) return `${sign}$${size.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  let [whole, cents] = size.toFixed(size >= 0.01 ? 4 : 6).split(".");
  cents = cents.replace(/0+$/, "").padEnd(2, "0");
  if (whole === "0" && !/[1-9]/.test(cents)) return `${sign}<$0.000001`;
  return `${sign}$${whole}.${cents}`;
}

function formatShare(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)}%`;
}

function count(n) {
  return Number(n).toLocaleString("en-US");
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(key, value);
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// A local day as the server keys it (YYYY-MM-DD), and the days from `since` to `until`.
function dayKey(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function daysBetween(since, until, seen) {
  const days = [];
  const day = new Date(since);
  day.setHours(12, 0, 0, 0);
  const last = dayKey(new Date(until));
  while (dayKey(day) <= last && days.length < 400) {
    days.push(dayKey(day));
    day.setDate(day.getDate() + 1);
  }
  for (const key of seen) if (!days.includes(key)) days.push(key);
  return days.sort();
}

async function loadSpend() {
  if (state.spend === null) return;
  const params = new URLSearchParams({ since: $("#spend-since").value });
  if ($("#spend-project").checked) params.set("thisProject", "true");
  const [daily, endpoints] = await Promise.all([
    api("GET", `/cost?${params}&by=day,endpoint`),
    api("GET", `/cost?${params}&by=endpoint`),
  ]);
  state.spend = { daily, endpoints };
  renderSpend();
}

function renderSpend() {
  const { daily, endpoints } = state.spend;
  const totals = endpoints.totals;
  const empty = totals.calls === 0;
  $("#spend-view").hidden = empty;
  $("#spend-empty").hidden = !empty;
  if (empty) {
    $("#spend-stats").replaceChildren();
    const period = $("#spend-since").selectedOptions[0].textContent;
    $("#spend-empty").textContent = `No calls in the last ${period}${endpoints.project ? " in this project" : ""}. Calls made with ccw cli show here with what they cost.`;
    return;
  }
  const order = endpoints.groups.map((g) => g.endpoint);
  renderSpendStats(totals);
  renderSpendChart(daily, order);
  $("#spend-legend").replaceChildren(...order.map((name, i) => h("span", { class: "legend-item", "data-endpoint": name ?? "" },
    h("span", { class: `swatch series-${i % SERIES}` }), name ?? "(no endpoint)")));
  $("#spend-endpoints").replaceChildren(...endpoints.groups.map((g, i) => spendRow(g, i)));
}

function costText(spend) {
  const money = formatMoney(spend.cost);
  if (money === null) return spend.unpricedCalls ? "unpriced" : "–";
  return money;
}

function renderSpendStats(t) {
  const unpriced = t.unpricedCalls ? `, ${plural(t.unpricedCalls, "unpriced call")} not counted` : "";
  const failed = t.failedCalls ? ` (${count(t.failedCalls)} failed)` : "";
  const cost = stat("Cost", costText(t), `${plural(t.calls, "call")}${failed}${unpriced}`);
  cost.id = "spend-total";
  const tokens = t.tokens;
  const share = stat("Cached share", formatShare(t.cachedShare),
    `${count(tokens.cacheRead)} of ${count(tokens.input)} input tokens read from the provider's cache`,
    t.cachedShare ?? 0);
  share.id = "spend-share";
  const saved = stat("Saved", formatMoney(t.saved) ?? "–", "by the provider's prompt cache");
  saved.id = "spend-saved";
  const io = stat("Tokens", `${count(tokens.input)} in`,
    `${count(tokens.output)} out · ${count(tokens.cacheWrite)} written to the cache · ${count(tokens.uncached)} new`);
  $("#spend-stats").replaceChildren(cost, share, saved, io);
}

function renderSpendChart(report, order) {
  const c = CHART;
  const byDay = new Map();
  for (const g of report.groups) {
    if (!byDay.has(g.day)) byDay.set(g.day, []);
    byDay.get(g.day).push(g);
  }
  const days = daysBetween(report.since, report.until, byDay.keys());
  const dayCost = (day) => (byDay.get(day) || []).reduce((sum, g) => sum + (g.cost || 0), 0);
  const top = Math.max(0, ...days.map(dayCost));
  const plotW = c.width - c.left - c.right;
  const plotH = c.height - c.top - c.bottom;
  const step = plotW / days.length;
  const barW = Math.max(2, Math.min(36, step * 0.72));
  const chart = svg("svg", { viewBox: `0 0 ${c.width} ${c.height}`, role: "img", class: "spend-svg",
    "aria-label": `Cost per day by endpoint, highest day ${formatMoney(top) ?? "$0"}`, "data-max": top });
  for (const fraction of [0, 0.5, 1]) {
    const y = c.top + plotH * (1 - fraction);
    chart.append(svg("line", { class: "grid-line", x1: c.left, x2: c.width - c.right, y1: y, y2: y }));
    chart.append(svg("text", { class: "axis", x: c.left - 6, y: y + 4, "text-anchor": "end" }, top ? formatMoney(top * fraction) : "$0"));
  }
  const labelEvery = Math.ceil(days.length / 10);
  days.forEach((day, index) => {
    const x = c.left + step * index + (step - barW) / 2;
    const group = svg("g", { class: "day", "data-day": day });
    let y = c.top + plotH;
    const groups = (byDay.get(day) || []).slice().sort((a, b) => order.indexOf(a.endpoint) - order.indexOf(b.endpoint));
    for (const g of groups) {
      const name = g.endpoint ?? "(no endpoint)";
      const detail = `${day} · ${name}: ${costText(g)} (${plural(g.calls, "call")}, ${formatShare(g.cachedShare)} cached)`;
      if (g.cost) {
        const height = top ? (g.cost / top) * plotH : 0;
        y -= height;
        group.append(svg("rect", { class: `seg series-${order.indexOf(g.endpoint) % SERIES}`, x, y, width: barW, height,
          "data-endpoint": g.endpoint ?? "", "data-cost": g.cost }, svg("title", {}, detail)));
      }
    }
    const unpriced = groups.reduce((sum, g) => sum + g.unpricedCalls, 0);
    if (unpriced) {
      const title = `${day}: ${plural(unpriced, "unpriced call")} (no price known; not in the bar)`;
      group.append(svg("text", { class: "unpriced-mark", x: x + barW / 2, y: y - 4, "text-anchor": "middle", "data-unpriced": unpriced },
        "?", svg("title", {}, title)));
    }
    if (index % labelEvery === 0) {
      const date = new Date(`${day}T12:00:00`);
      group.append(svg("text", { class: "axis", x: x + barW / 2, y: c.height - 10, "text-anchor": "middle" },
        date.toLocaleDateString(undefined, { month: "short", day: "numeric" })));
    }
    chart.append(group);
  });
  $("#spend-chart").replaceChildren(chart);
}

function spendRow(g, index) {
  const name = g.endpoint ?? "(no endpoint)";
  const priced = g.cost !== null;
  return h("div", { class: "row spend-row", "data-endpoint": g.endpoint ?? "" },
    h("div", { class: "cell" },
      h("div", { class: "title" }, h("span", { class: `swatch series-${index % SERIES}` }), name,
        !priced && g.unpricedCalls ? h("span", { class: "badge", title: "No price is known for this model" }, "unpriced") : null),
      h("div", { class: "sub" }, plural(g.calls, "call"), g.failedCalls ? ` · ${count(g.failedCalls)} failed` : "",
        priced && g.unpricedCalls ? ` · ${plural(g.unpricedCalls, "unpriced call")} not counted` : "")),
    h("div", { class: "cell spend-cost", "data-cost": g.cost ?? "" }, costText(g)),
    h("div", { class: "cell sub" }, `${formatShare(g.cachedShare)} cached`),
    h("div", { class: "cell sub" }, g.saved === null ? "" : `saved ${formatMoney(g.saved)}`),
  );
}

// ---- dialogs and wiring ---------------------------------------------------------------------

// ---- pools ----------------------------------------------------------------------------------

function renderPools() {
  const list = $("#pools");
  $("#count-pools").textContent = state.pools.length || "";
  const models = new Set(state.providers.flatMap((p) => (p.llmModels || []).map((m) => m.id)));
  $("#pool-models").replaceChildren(...[...models].map((m) => h("option", { value: m })));
  list.replaceChildren();
  if (!state.pools.length) {
    list.append(h("div", { class: "empty" }, "No pools yet. A pool serves one model from every provider that offers it."));
    return;
  }
  for (const pool of state.pools) {
    list.append(h(
      "div",
      { class: `row${pool.enabled === false ? " disabled" : ""}`, "data-pool": pool.id },
      h("div", { class: "cell" }, h("div", { class: "title" }, pool.name || pool.id), h("div", { class: "sub mono" }, pool.id)),
      h("div", { class: "cell" }, h("span", { class: "badge accent" }, pool.modelType || "llm"), " ", h("code", {}, pool.targetModel)),
      h("div", { class: "cell" }, h("span", { class: "sub" }, `${pool.strategy}${pool.autoDiscover === false ? "" : " · auto-discover"}`)),
      h("div", { class: "cell cell-actions" },
        h("button", { class: "btn small", onclick: () => copy(commandLine(pool.id)) }, "Copy command"),
        h("button", { class: "btn small danger", onclick: () => deletePool(pool), "data-action": "delete" }, "Delete")),
    ));
  }
}

async function addPool(event) {
  event.preventDefault();
  const f = event.target.elements;
  const errorBox = $("#pool-error");
  errorBox.hidden = true;
  const body = { targetModel: f.targetModel.value.trim(), modelType: f.modelType.value, strategy: f.strategy.value, enabled: true, autoDiscover: true };
  if (f.name.value.trim()) body.name = f.name.value.trim();
  try {
    const created = await api("POST", "/model-pools", body);
    event.target.reset();
    toast(`Pool ${created.poolId} added`);
    await loadConfig();
  } catch (error) {
    errorBox.textContent = error.fix ? `${error.message}. ${error.fix}` : error.message;
    errorBox.hidden = false;
  }
}

async function deletePool(pool) {
  if (!(await confirmAction("Delete pool?", `${pool.name || pool.id} will be removed from the config.`))) return;
  await guarded(async () => {
    await api("DELETE", `/model-pools/${encodeURIComponent(pool.id)}`);
    toast("Pool deleted");
    await loadConfig();
  }, "Delete failed");
}

function confirmAction(title, text, okLabel = "Delete") {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `tab-${name}`;
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

function takeTokenFromHash() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("ccw-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
}

function wire() {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  for (const button of document.querySelectorAll("[data-close]")) button.addEventListener("click", () => button.closest("dialog").close());
  $("#alert-close").addEventListener("click", clearError);
  $("#add-provider").addEventListener("click", () => openProviderDialog(null));
  $("#add-endpoint").addEventListener("click", () => openEndpointDialog(null));
  $("#add-key").addEventListener("click", () => addKeyRow(null));
  $("#pool-form").addEventListener("submit", addPool);
  const providerForm = $("#provider-form");
  providerForm.addEventListener("submit", (event) => saveDialog(event, "provider", providerPayload));
  providerForm.elements.type.addEventListener("change", () => updateTypeHints(providerForm));
  for (const radio of providerForm.elements.keyMode) radio.addEventListener("change", () => updateKeyMode(providerForm));
  const endpointForm = $("#endpoint-form");
  endpointForm.addEventListener("submit", (event) => saveDialog(event, "endpoint", endpointPayload));
  endpointForm.elements.providerId.addEventListener("change", () => fillModels(endpointForm));
  $("#cache-clear").addEventListener("click", () => clearCache(false));
  $("#cache-clear-expired").addEventListener("click", () => clearCache(true));
  $("#cache-enabled").addEventListener("change", (event) => saveCacheSettings({ enabled: event.target.checked }));
  $("#history-all").addEventListener("change", () => loadHistory());
  for (const control of ["#spend-since", "#spend-project"]) {
    $(control).addEventListener("change", () => guarded(loadSpend, "Cannot load the spend"));
  }
  $("#cache-size-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveCacheSettings({ maxTotalSizeMB: Number($("#cache-max").value) });
  });
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem("ccw-token", $("#token-input").value.trim());
    clearError();
    await start();
  });
}

async function start() {
  try {
    const [health, types] = await Promise.all([api("GET", "/health"), api("GET", "/provider-types")]);
    state.types = types.types;
    const project = $("#project");
    project.textContent = health.projectRoot;
    project.title = health.configPath;
    if (health.history) {
      state.history = [];
      state.spend = {};
      $('.tab[data-tab="history"]').hidden = false;
      $('.tab[data-tab="spend"]').hidden = false;
    }
    await poll();
    document.body.dataset.ready = "true";
  } catch (error) {
    showError(error, error.status === 401 ? "Token needed" : "Cannot load");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  takeTokenFromHash();
  wire();
  const initial = location.hash.replace("#", "");
  selectTab(["providers", "endpoints", "pools", "cache", "history", "spend"].includes(initial) ? initial : "providers");
  start();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
});
