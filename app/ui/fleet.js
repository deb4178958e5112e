// The Fleet page: hardware classes for every key (GET /v1/hardware), workers for an operator's (GET /v1/workers).
import { $, api, cell } from "./dom.js";

const REFRESH_MS = 5000;
let timer = null;

const gib = (bytes) => (bytes == null ? "" : `${(bytes / 1024 ** 3).toFixed(1)} GiB`);

function ago(at) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000));
  return `${new Date(at).toLocaleString()} (${seconds} s ago)`;
}

function classText(worker) {
  const detected = worker.detected_class;
  return detected && detected !== worker.hardware_class ? `${worker.hardware_class} (set; detected ${detected})` : worker.hardware_class;
}

function gpuText(gpu) {
  if (!gpu) return "";
  const details = [gpu.compute_capability ? `sm ${gpu.compute_capability}` : "", gib(gpu.memory_bytes)].filter(Boolean);
  return details.length ? `${gpu.name} (${details.join(", ")})` : gpu.name;
}

function versionsText(worker) {
  return [["slimline", worker.slimline_version], ["onnxruntime", worker.onnxruntime_version], ["torch", worker.torch_version]]
    .filter(([, version]) => version).map(([name, version]) => `${name} ${version}`).join(", ");
}

function renderHardware(hardware) {
  const body = $("#hardware-table tbody");
  body.replaceChildren();
  for (const row of hardware.classes) {
    const tr = body.insertRow();
    tr.dataset.class = row.hardware_class;
    cell(tr, row.hardware_class);
    cell(tr, row.live_workers, row.live_workers ? "" : "warning");
    cell(tr, row.busy_workers);
    cell(tr, row.queued_jobs);
    cell(tr, row.running_jobs);
  }
  if (!hardware.classes.length) cell(body.insertRow(), "no worker has registered yet");
  const queues = Object.entries(hardware.generic_queues).map(([queue, live]) => `${queue}: ${live} live worker(s)`);
  $("#generic-queues").textContent = `Jobs without target.hardware go to the generic queues (${queues.join(", ") || "none"}).`;
}

function renderWorkers(workers) {
  const body = $("#workers-table tbody");
  body.replaceChildren();
  for (const worker of workers) {
    const tr = body.insertRow();
    tr.dataset.id = worker.id;
    tr.dataset.state = worker.state;
    cell(tr, worker.id, "id");
    cell(tr, worker.host);
    cell(tr, classText(worker), "class");
    cell(tr, worker.state, `state ${worker.state}`);
    cell(tr, worker.current_jobs.join(", "));
    cell(tr, worker.cpu_model || "");
    cell(tr, worker.cpu_cores == null ? "" : worker.cpu_cores);
    cell(tr, gib(worker.memory_bytes));
    cell(tr, (worker.cpu_features || []).join(" "));
    cell(tr, gpuText(worker.gpu));
    cell(tr, (worker.providers || []).join(", "));
    cell(tr, versionsText(worker));
    cell(tr, ago(worker.heartbeat_at));
  }
  $("#workers-table").hidden = false;
  $("#workers-note").textContent = `${workers.length} worker(s) registered.`;
}

async function refreshFleet() {
  try {
    renderHardware(await (await api("/v1/hardware")).json());
    $("#fleet-error").textContent = "";
  } catch (error) {
    $("#fleet-error").textContent = `Cannot read the hardware classes: ${error.message}`;
  }
  try {
    renderWorkers(await (await api("/v1/workers")).json());
  } catch (error) {
    // not an error for a tenant's key: the workers are the operator's to see
    $("#workers-table").hidden = true;
    $("#workers-note").textContent = error.status === 403
      ? "Operator key needed: log in with a key made by `slimline keys create --tenant T --operator` to see the workers."
      : `Cannot read the workers: ${error.message}`;
  }
}

/** Show the Fleet page and keep it current while it is shown. */
export function startFleet() {
  if (timer) return;
  refreshFleet();
  timer = setInterval(refreshFleet, REFRESH_MS);
}

export function stopFleet() {
  clearInterval(timer);
  timer = null;
}
