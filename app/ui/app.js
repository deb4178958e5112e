// Slimline dashboard: one page, plain modules (no build step). The API key lives in sessionStorage only.
import { compareTable } from "./compare.js";
import { $, api, cell, session } from "./dom.js";
import { startFleet, stopFleet } from "./fleet.js";
import { loadForm, setUpForm } from "./form.js";
import { renderPlacement } from "./placement.js";
import { renderReport } from "./report.js";

const state = { selected: null, stream: null, blobs: [], picked: new Set() };

async function login(key) {
  session.key = key;
  try {
    await api("/v1/jobs?limit=1");
  } catch (error) {
    session.key = null;
    $("#login-error").textContent = error.status === 401 ? "That key was refused." : `Cannot reach the server: ${error.message}`;
    return;
  }
  sessionStorage.setItem("slimline.key", key);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#who").textContent = `key …${key.slice(-4)}`;
  $("#nav-jobs").hidden = false;
  $("#nav-fleet").hidden = false;
  refreshJobs();
  setInterval(refreshJobs, 2000);
  loadForm();
  route();
}

// Pages by the URL's fragment: #/jobs (the default), #/jobs/<id> (one job), #/fleet.
function route() {
  if (!session.key) return;
  const fleet = location.hash === "#/fleet";
  $("#jobs-page").hidden = fleet;
  $("#fleet-page").hidden = !fleet;
  $("#nav-fleet").toggleAttribute("aria-current", fleet);
  $("#nav-jobs").toggleAttribute("aria-current", !fleet);
  if (fleet) startFleet();
  else stopFleet();
  const job = location.hash.match(/^#\/jobs\/([\w-]+)$/);
  if (job && state.selected !== job[1]) openJob(job[1], { focus: true });
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
  renderPlacement(job);
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
  // a multi-target job's artifacts (its comparison) exist whatever its targets' outcome
  if (job.status !== "succeeded" && !job.targets) return;
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
    if (artifact.name === "report.html") await embedReport(path, "Full report");
    if (artifact.name === "comparison.html") await embedReport(path, "Comparison of the targets");
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
  history.replaceState(null, "", `#/jobs/${jobId}`); // a link to the page; replaceState fires no hashchange
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
async function embedReport(path, title) {
  const html = await (await api(path)).text();
  $("#full-report-title").textContent = title;
  $("#report-frame").title = `The job's ${path.split("/").pop()}`;
  $("#report-frame").srcdoc = html;
  $("#full-report").hidden = false;
}

// comparison.html is built when read, so it shows targets still running too.
async function showComparison(event) {
  event.preventDefault();
  await embedReport(`/v1/jobs/${state.selected}/artifacts/comparison.html`, "Comparison of the targets");
  $("#full-report").scrollIntoView();
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

setUpForm(async (job) => {
  await refreshJobs();
  openJob(job.id);
});
$("#compare-button").addEventListener("click", compareJobs);
$("#comparison-link").addEventListener("click", showComparison);
window.addEventListener("hashchange", route);
$("#login-form").addEventListener("submit", (event) => { event.preventDefault(); login($("#api-key").value.trim()); });
$("#logout").addEventListener("click", () => { sessionStorage.removeItem("slimline.key"); location.reload(); });
if (session.key) login(session.key);
