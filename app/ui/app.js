// Slimline dashboard: one page, plain modules. The API key lives in sessionStorage only.
import { compareTable, fixed, speedupText } from "./compare.js";
import { buildJob, loadSchemas } from "./recipe.js";

const $ = (selector) => document.querySelector(selector);
const state = { key: sessionStorage.getItem("slimline.key"), selected: null, stream: null, blobs: [], picked: new Set() };

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) } });
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    const error = new Error((problem && problem.detail) || response.statusText);
    error.status = response.status;
    error.problem = problem;
    throw error;
  }
  return response;
}

const text = (value) => document.createTextNode(value == null ? "" : String(value));
function cell(row, value, className) {
  const td = row.insertCell();
  td.appendChild(text(value));
  if (className) td.className = className;
  return td;
}

async function login(key) {
  state.key = key;
  try {
    await api("/v1/jobs?limit=1");
  } catch (error) {
    state.key = null;
    $("#login-error").textContent = error.status === 401 ? "That key was refused." : `Cannot reach the server: ${error.message}`;
    return;
  }
  sessionStorage.setItem("slimline.key", key);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#who").textContent = `key …${key.slice(-4)}`;
  refreshJobs();
  setInterval(refreshJobs, 2000);
  for (const kind of ["models", "datasets"]) {
    refreshUploads(kind).catch((error) => { $(`#${kind.slice(0, -1)}-status`).textContent = `Cannot list ${kind}: ${error.message}`; });
  }
  loadSchemas().catch((error) => { $("#submit-status").textContent = `recipe schema unavailable (${error.message}): the server will check it`; });
}

// Rows are updated in place (keyed by job id), so a row never goes stale under the user's click.
function upsertRow(job) {
  const body = $("#jobs tbody");
  let row = body.querySelector(`tr.job[data-id="${CSS.escape(job.id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.className = "job";
    row.dataset.id = job.id;
    // the id is a button, so a keyboard opens a job as a click on its row does
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = job.id;
    open.addEventListener("click", () => openJob(job.id, { focus: true }));
    row.insertCell().appendChild(open);
    cell(row, "");
    cell(row, "");
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.setAttribute("aria-label", `progress of ${job.id}`);
    row.insertCell().appendChild(progress);
    cell(row, new Date(job.created_at).toLocaleString());
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.className = "pick";
    pick.setAttribute("aria-label", `compare ${job.id}`);
    pick.addEventListener("change", () => {
      if (pick.checked) state.picked.add(job.id);
      else state.picked.delete(job.id);
      updateCompareButton();
    });
    row.insertCell().appendChild(pick);
    row.addEventListener("click", (event) => { if (!event.target.closest("button, input")) openJob(job.id); });
  }
  row.dataset.status = job.status;
  row.cells[1].textContent = job.status;
  row.cells[1].className = `status ${job.status}`;
  row.cells[2].textContent = job.stage || "";
  row.cells[3].firstChild.value = job.progress;
  const pick = row.cells[5].firstChild;
  pick.disabled = job.status !== "succeeded"; // only a finished job has a report to compare
  pick.title = pick.disabled ? "only a succeeded job has a report to compare" : "";
  return row;
}

async function refreshJobs() {
  const page = await (await api("/v1/jobs?limit=50")).json();
  const body = $("#jobs tbody");
  const rows = page.items.map(upsertRow);
  rows.forEach((row, index) => { if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] || null); });
  while (body.rows.length > rows.length) body.deleteRow(-1);
}

function renderJob(job) {
  if ($(`#jobs tr.job[data-id="${CSS.escape(job.id)}"]`)) upsertRow(job);
  $("#detail").hidden = false;
  $("#detail-title").textContent = job.id;
  const status = $("#detail-status");
  status.textContent = job.status;
  status.className = `status ${job.status}`;
  $("#detail-progress").value = job.progress;
  $("#detail-stage").textContent = job.error ? `${job.error.code}: ${job.error.message}` : (job.stage || "");
}

function headerRow(table, labels) {
  const head = table.insertRow();
  labels.forEach((label) => { const th = document.createElement("th"); th.textContent = label; head.appendChild(th); });
}

function measurementsTable(report) {
  const table = document.createElement("table");
  table.id = "report-table";
  headerRow(table, ["", "baseline", "optimized"]);
  const rows = [
    ["size (bytes)", (m) => m.size_bytes.toLocaleString()],
    ["parameters", (m) => m.parameter_count.toLocaleString()],
    ["latency p50 (ms)", (m) => fixed(m.latency_ms_p50, 3)],
    ["latency p95 (ms)", (m) => fixed(m.latency_ms_p95, 3)],
    ["throughput (/s)", (m) => fixed(m.throughput_per_s, 1)],
  ];
  if (report.baseline.accuracy && report.optimized.accuracy) rows.push(["top-1 accuracy", (m) => fixed(m.accuracy.top1, 4)]);
  const fidelity = report.optimized.fidelity || {};
  if (fidelity.top1_agreement != null) rows.push(["top-1 agreement", (m) => fixed(m.fidelity && m.fidelity.top1_agreement, 4)]);
  // null for small and integer outputs, where a cosine means nothing
  if (fidelity.cosine_mean != null) rows.push(["cosine to original", (m) => fixed(m.fidelity && m.fidelity.cosine_mean, 4)]);
  for (const [label, value] of rows) {
    const row = table.insertRow();
    cell(row, label);
    cell(row, value(report.baseline));
    cell(row, value(report.optimized));
  }
  return table;
}

// The metrics worth showing per output kind, in order (as in the terminal's report).
const SHOWN = {
  classifier: ["accuracy_drop", "top1_agreement", "cosine_mean"],
  small: ["normalized_rmse", "decision_agreement", "pearson", "max_abs_error"],
  dense: ["cosine_mean", "cosine_min", "snr_db"],
  integer: ["exact_match", "sample_exact_match"],
};

function judgedText(verdict) {
  if (verdict.judged_by === "rollout") {
    const pairs = Object.entries(verdict.state || {}).map(([input, output]) => `${output} → ${input}`).join(", ");
    return `judged by rollout over ${verdict.sequences} sequence(s), ${verdict.steps} steps, each variant carrying its own state (${pairs})`;
  }
  return `judged sample by sample (${verdict.steps} samples), not by rollout`;
}

function outputsSection(report) {
  const outputs = (report.optimized && report.optimized.per_output) || [];
  const verdict = report.verdict;
  if (!outputs.length || !verdict) return [];
  const heading = document.createElement("h3");
  heading.textContent = "Quality, per output";
  const judged = document.createElement("p");
  judged.id = "verdict-judged";
  judged.textContent = `${verdict.within ? "Within" : "Outside"} the quality limit, ${judgedText(verdict)}. ${verdict.why}`;
  const table = document.createElement("table");
  table.id = "outputs-table";
  headerRow(table, ["output", "kind", "metrics", "limits", "within"]);
  for (const output of outputs) {
    const row = table.insertRow();
    row.className = "output";
    row.dataset.name = output.name;
    const deciding = output.name === verdict.decided_by;
    if (deciding) row.classList.add("deciding");
    cell(row, deciding ? `${output.name} (decides)` : output.name);
    cell(row, output.kind);
    const metrics = output.metrics || {};
    let shown = (SHOWN[output.kind] || []).filter((k) => metrics[k] != null);
    if (!shown.length) shown = Object.keys(metrics).filter((k) => metrics[k] != null);
    cell(row, shown.map((k) => `${k} ${fixed(metrics[k], 4)}`).join(", "));
    cell(row, Object.entries(output.limits || {}).map(([k, v]) => `${k} ${v}`).join(", "));
    const within = output.ignored ? "ignored" : (output.within ? "yes" : "no");
    cell(row, within, output.ignored ? "ignored" : (output.within ? "within" : "outside"));
    row.title = output.why;
  }
  return [heading, judged, table];
}

function renderReport(report) {
  const container = $("#report");
  container.replaceChildren();
  if (!report) return;
  const summary = document.createElement("p");
  summary.id = "report-summary";
  summary.textContent = `speedup ${speedupText(report)}, size ratio ${fixed(report.size_ratio, 2)}, goal met: ${report.goal_met}`;
  container.appendChild(summary);
  if (report.timing && report.timing.noisy) {
    const noisy = document.createElement("p");
    noisy.className = "warning";
    noisy.textContent = `timing was noisy: ${report.timing.reasons.join("; ")}`;
    container.appendChild(noisy);
  }
  container.appendChild(measurementsTable(report));
  container.append(...outputsSection(report));
  for (const warning of report.warnings) {
    const p = document.createElement("p");
    p.className = "warning";
    p.textContent = `warning: ${warning}`;
    container.appendChild(p);
  }
}

async function blobUrl(path) {
  const url = URL.createObjectURL(await (await api(path)).blob());
  state.blobs.push(url);
  return url;
}

async function renderArtifacts(job) {
  const list = $("#artifacts");
  const plots = $("#plots");
  list.replaceChildren();
  plots.replaceChildren();
  state.blobs.forEach((url) => URL.revokeObjectURL(url));
  state.blobs = [];
  $("#full-report").hidden = true;
  $("#report-frame").srcdoc = "";
  if (job.status !== "succeeded") return;
  const artifacts = await (await api(`/v1/jobs/${job.id}/artifacts`)).json();
  for (const artifact of artifacts) {
    const path = `/v1/jobs/${job.id}/artifacts/${encodeURIComponent(artifact.name)}`;
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = `${artifact.name} (${artifact.size_bytes.toLocaleString()} bytes)`;
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const download = document.createElement("a");
      download.href = await blobUrl(path);
      download.download = artifact.name;
      download.click();
    });
    const item = document.createElement("li");
    item.appendChild(link);
    list.appendChild(item);
    if (artifact.name === "report.html") await embedReport(path);
    if (artifact.media_type === "image/png") {
      const image = document.createElement("img");
      image.alt = artifact.name;
      image.src = await blobUrl(path);
      plots.appendChild(image);
    }
  }
}

function addEvent(event) {
  const item = document.createElement("li");
  item.textContent = `[${event.type}] ${event.message}`;
  if (event.type === "warning") item.className = "warning";
  $("#events").appendChild(item);
}

// EventSource cannot send an Authorization header, so the SSE stream is read with fetch.
async function follow(jobId, controller) {
  const response = await api(`/v1/jobs/${jobId}/events`, { headers: { Accept: "text/event-stream" }, signal: controller.signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const name = (message.match(/^event: (.*)$/m) || [])[1];
      const data = (message.match(/^data: (.*)$/m) || [])[1];
      if (!data) continue;
      if (name === "end") return;
      addEvent(JSON.parse(data));
      await showJob(jobId);
    }
  }
}

async function showJob(jobId) {
  const job = await (await api(`/v1/jobs/${jobId}`)).json();
  if (state.selected !== jobId) return job;
  renderJob(job);
  if (["succeeded", "failed", "cancelled"].includes(job.status) && !$("#report").dataset.done) {
    $("#report").dataset.done = "1";
    renderReport(job.result ? job.result.report : null);
    await renderArtifacts(job);
  }
  return job;
}

async function openJob(jobId, { focus = false } = {}) {
  if (state.stream) state.stream.abort();
  state.selected = jobId;
  $("#events").replaceChildren();
  delete $("#report").dataset.done;
  $("#report").replaceChildren();
  $("#full-report").hidden = true;
  $("#report-frame").srcdoc = "";
  await showJob(jobId);
  if (focus) $("#detail-title").focus();
  state.stream = new AbortController();
  follow(jobId, state.stream).then(() => showJob(jobId)).catch((error) => {
    if (error.name !== "AbortError") addEvent({ type: "warning", message: `event stream: ${error.message}` });
  });
}

// report.html is fetched with the key (an iframe cannot send it) and shown in a sandbox: no script, no origin.
async function embedReport(path) {
  const html = await (await api(path)).text();
  $("#report-frame").srcdoc = html;
  $("#full-report").hidden = false;
}

async function refreshUploads(kind, chosen) {
  const select = $(kind === "models" ? "#model-select" : "#dataset-select");
  const page = await (await api(`/v1/${kind}?limit=200`)).json();
  const keep = chosen || select.value;
  select.replaceChildren(select.options[0]);
  for (const item of page.items) {
    const option = document.createElement("option");
    option.value = item.id;
    option.textContent = `${item.name} (${item.id}, ${item.size_bytes.toLocaleString("en-US")} bytes)`;
    select.appendChild(option);
  }
  if (keep) select.value = keep;
}

async function upload(kind) {
  const singular = kind === "models" ? "model" : "dataset";
  const input = $(`#${singular}-file`);
  const status = $(`#${singular}-status`);
  const file = input.files[0];
  if (!file) {
    status.textContent = `Choose a ${singular} file first.`;
    status.className = "note error";
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  status.className = "note";
  status.textContent = `Uploading ${file.name} (${file.size.toLocaleString("en-US")} bytes)…`;
  try {
    const item = await (await api(`/v1/${kind}`, { method: "POST", body: form })).json();
    input.value = "";
    await refreshUploads(kind, item.id); // chosen in its list before the page says it is there
    status.textContent = `Uploaded ${item.name} as ${item.id}.`;
    (item.warnings || []).forEach((warning) => { status.textContent += ` Warning: ${warning}`; });
  } catch (error) {
    status.className = "note error";
    status.textContent = `Upload refused: ${error.message}`;
  }
}

function showSubmitErrors(errors) {
  const list = $("#submit-errors");
  list.replaceChildren();
  for (const { field, message } of errors) {
    const item = document.createElement("li");
    item.className = "field-error";
    item.dataset.field = field || "";
    if (field) {
      const code = document.createElement("code");
      code.textContent = field;
      item.append(code, text(": "));
    }
    item.appendChild(text(message));
    list.appendChild(item);
  }
  $("#recipe").setAttribute("aria-invalid", errors.length ? "true" : "false");
}

async function submitJob() {
  const status = $("#submit-status");
  status.textContent = "";
  const { body, errors } = buildJob($("#recipe").value, $("#model-select").value, $("#dataset-select").value);
  showSubmitErrors(errors);
  if (errors.length) {
    status.textContent = "Not sent: fix the recipe first.";
    return;
  }
  $("#submit-job").disabled = true;
  try {
    const job = await (await api("/v1/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
    status.textContent = `Submitted ${job.id}.`;
    await refreshJobs();
    openJob(job.id);
  } catch (error) {
    const problem = error.problem || {};
    showSubmitErrors(problem.errors && problem.errors.length ? problem.errors : [{ field: "", message: error.message }]);
    status.textContent = `The server refused the job (${error.status}${problem.title ? ` ${problem.title}` : ""}).`;
  } finally {
    $("#submit-job").disabled = false;
  }
}

function updateCompareButton() {
  const count = state.picked.size;
  $("#compare-button").disabled = count < 2;
  $("#compare-status").textContent = count ? `${count} selected` : "";
}

async function compareJobs() {
  const ids = [...state.picked];
  try {
    const jobs = await Promise.all(ids.map(async (id) => (await api(`/v1/jobs/${id}`)).json()));
    $("#compare-body").replaceChildren(compareTable(jobs));
    $("#compare").hidden = false;
    $("#compare-title").scrollIntoView();
  } catch (error) {
    $("#compare-status").textContent = `Cannot compare: ${error.message}`;
  }
}

$("#model-upload").addEventListener("click", () => upload("models"));
$("#dataset-upload").addEventListener("click", () => upload("datasets"));
$("#job-form").addEventListener("submit", (event) => { event.preventDefault(); submitJob(); });
$("#compare-button").addEventListener("click", compareJobs);
$("#login-form").addEventListener("submit", (event) => { event.preventDefault(); login($("#api-key").value.trim()); });
$("#logout").addEventListener("click", () => { sessionStorage.removeItem("slimline.key"); location.reload(); });
if (state.key) login(state.key);
