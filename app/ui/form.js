// The new-job form: upload a model and a dataset, write a recipe, submit it (checked against the schema first).
import { $, api, text } from "./dom.js";
import { buildJob, loadSchemas } from "./recipe.js";

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

async function submitJob(onSubmitted) {
  const status = $("#submit-status");
  status.textContent = "";
  const hardware = [...$("#hardware-select").selectedOptions].map((option) => option.value);
  const { body, errors } = buildJob($("#recipe").value, $("#model-select").value, $("#dataset-select").value, hardware);
  showSubmitErrors(errors);
  if (errors.length) {
    status.textContent = "Not sent: fix the recipe first.";
    return;
  }
  $("#submit-job").disabled = true;
  let job;
  try {
    job = await (await api("/v1/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
  } catch (error) {
    const problem = error.problem || {};
    showSubmitErrors(problem.errors && problem.errors.length ? problem.errors : [{ field: "", message: error.message }]);
    status.textContent = `The server refused the job (${error.status}${problem.title ? ` ${problem.title}` : ""}).`;
    return;
  } finally {
    $("#submit-job").disabled = false;
  }
  status.textContent = `Submitted ${job.id}.`;
  await onSubmitted(job);
}

// The classes a job can target (GET /v1/hardware), each with its live workers: a class without one waits.
async function refreshHardware() {
  const select = $("#hardware-select");
  const chosen = new Set([...select.selectedOptions].map((option) => option.value));
  const hardware = await (await api("/v1/hardware")).json();
  select.replaceChildren();
  for (const row of hardware.classes) {
    const option = document.createElement("option");
    option.value = row.hardware_class;
    option.textContent = `${row.hardware_class} (${row.live_workers} live worker${row.live_workers === 1 ? "" : "s"})`;
    option.selected = chosen.has(row.hardware_class);
    select.appendChild(option);
  }
  $("#hardware-status").textContent = hardware.classes.length
    ? "None chosen: any worker of the recipe's device. Ctrl/Cmd-click to choose several or none."
    : "No worker has registered a hardware class yet.";
}

/** Wire the form; onSubmitted(job) runs after the server accepted a job. */
export function setUpForm(onSubmitted) {
  $("#model-upload").addEventListener("click", () => upload("models"));
  $("#dataset-upload").addEventListener("click", () => upload("datasets"));
  $("#job-form").addEventListener("submit", (event) => { event.preventDefault(); submitJob(onSubmitted); });
}

/** After login: fill the model and dataset lists, load the recipe's schema. */
export function loadForm() {
  for (const kind of ["models", "datasets"]) {
    refreshUploads(kind).catch((error) => { $(`#${kind.slice(0, -1)}-status`).textContent = `Cannot list ${kind}: ${error.message}`; });
  }
  refreshHardware().catch((error) => { $("#hardware-status").textContent = `Cannot list hardware classes: ${error.message}`; });
  loadSchemas().catch((error) => { $("#submit-status").textContent = `recipe schema unavailable (${error.message}): the server will check it`; });
}
