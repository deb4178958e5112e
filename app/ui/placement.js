// Where a job runs: why a queued job waits, the hardware class it ran on, and a multi-target job's targets
// (one child job per class, each linked to its own page, compared in comparison.html).
import { speedupText } from "./compare.js";
import { $, cell } from "./dom.js";

/** "waiting for hardware: no live worker of class cpu-amx", or null when the job is not waiting. */
export function waitingText(job) {
  if (job.status !== "queued" || !job.status_reason) return null;
  if (job.status_reason !== "waiting_for_hardware") return job.status_reason;
  if (job.hardware_class) return `waiting for hardware: no live worker of class ${job.hardware_class}`;
  const device = (job.recipe && job.recipe.target && job.recipe.target.device) || "cpu";
  return `waiting for hardware: no live worker takes the ${device === "cuda" ? "gpu" : "cpu"} queue`;
}

function ranOn(job) {
  const environment = job.result && job.result.report && job.result.report.environment;
  return job.hardware_class || (environment && environment.hardware_class) || null;
}

// Rows are updated in place (keyed by class), so a target's link never goes stale under the user's click.
function renderTargets(job) {
  const body = $("#targets-table tbody");
  if (body.dataset.job !== job.id) body.replaceChildren();
  body.dataset.job = job.id;
  for (const target of job.targets) {
    let row = body.querySelector(`tr[data-class="${CSS.escape(target.hardware_class)}"]`);
    if (!row) {
      row = body.insertRow();
      row.dataset.class = target.hardware_class;
      cell(row, target.hardware_class);
      cell(row, "");
      cell(row, "");
      cell(row, "");
      const link = document.createElement("a");
      link.href = `#/jobs/${encodeURIComponent(target.job_id)}`;
      link.className = "target-link";
      link.textContent = target.job_id;
      row.insertCell().appendChild(link);
    }
    row.dataset.status = target.status;
    const report = target.result && target.result.report;
    const reason = waitingText({ ...target, recipe: job.recipe });
    const error = target.error ? `${target.error.code}: ${target.error.message}` : null;
    row.cells[1].textContent = [target.status, reason || error].filter(Boolean).join(": ");
    row.cells[1].className = `status ${target.status}`;
    row.cells[2].textContent = report ? speedupText(report) : "—";
    row.cells[3].textContent = report ? (report.goal_met ? "yes" : "no") : "—";
  }
}

/** Fill the job page's reason, hardware class and targets for ``job`` (a JobRead). */
export function renderPlacement(job) {
  const reason = waitingText(job);
  $("#detail-reason").hidden = !reason;
  $("#detail-reason").textContent = reason || "";
  const where = ranOn(job);
  $("#detail-hardware").hidden = !where;
  $("#detail-hardware").textContent = where ? `hardware class: ${where}` : "";
  const multi = Array.isArray(job.targets) && job.targets.length > 0;
  $("#targets").hidden = !multi;
  if (multi) renderTargets(job);
  if (job.parent_id) {
    $("#detail-hardware").hidden = false;
    $("#detail-hardware").replaceChildren(
      document.createTextNode(`${where ? `hardware class: ${where}; ` : ""}a target of `),
      Object.assign(document.createElement("a"), { href: `#/jobs/${encodeURIComponent(job.parent_id)}`, textContent: job.parent_id }),
    );
  }
}
