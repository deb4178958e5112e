// Two or more finished jobs side by side: size, latency and speedup (with its interval), fidelity, verdict.
// Every number comes from the job's report (GET /v1/jobs/{id} -> result.report, the same as report.json).

export const fixed = (value, digits) => (value == null ? "—" : Number(value).toFixed(digits));
const bytes = (value) => (value == null ? "—" : Number(value).toLocaleString("en-US"));

// "1.42× (95 % interval 1.30–1.51)", or "1.00× (unchanged)": the same words as the terminal's report.
export function speedupText(report) {
  if (report.unchanged) return `${fixed(report.speedup, 2)}× (unchanged)`;
  const interval = report.speedup_interval;
  if (!interval) return `${fixed(report.speedup, 2)}×`;
  return `${fixed(report.speedup, 2)}× (${Math.round(interval.confidence * 100)} % interval ${fixed(interval.low, 2)}–${fixed(interval.high, 2)})`;
}

const passesText = (job) =>
  (job.recipe && job.recipe.passes ? job.recipe.passes : []).map((p) => [p.type, p.mode || p.method].filter(Boolean).join(" ")).join(", ");

function fidelityText(report) {
  const fidelity = report.optimized.fidelity || {};
  const parts = [];
  if (fidelity.top1_agreement != null) parts.push(`top-1 agreement ${fixed(fidelity.top1_agreement, 4)}`);
  if (fidelity.cosine_mean != null) parts.push(`cosine ${fixed(fidelity.cosine_mean, 4)}`);
  if (!parts.length && fidelity.max_abs_error != null) parts.push(`max abs error ${fixed(fidelity.max_abs_error, 4)}`);
  return parts.join(", ") || "—";
}

function verdictText(report) {
  const verdict = report.verdict;
  if (!verdict) return "—";
  return `${verdict.within ? "within" : "outside"} the limit${verdict.decided_by ? ` (decided by ${verdict.decided_by})` : ""}`;
}

// [row key, label, text of a job's cell, number to rank by (or null), whether lower is better]
const ROWS = [
  ["model", "model", (job) => job.model_id, null],
  ["passes", "passes", passesText, null],
  ["size_before", "size before (bytes)", (job, r) => bytes(r && r.baseline.size_bytes), null],
  ["size_after", "size after (bytes)", (job, r) => bytes(r && r.optimized.size_bytes), (r) => r.optimized.size_bytes, true],
  ["size_ratio", "size ratio", (job, r) => (r ? `${fixed(r.size_ratio, 2)}×` : "—"), (r) => r.size_ratio, true],
  ["latency_before", "latency p50 before (ms)", (job, r) => fixed(r && r.baseline.latency_ms_p50, 3), null],
  ["latency_after", "latency p50 after (ms)", (job, r) => fixed(r && r.optimized.latency_ms_p50, 3), (r) => r.optimized.latency_ms_p50, true],
  ["speedup", "speedup", (job, r) => (r ? speedupText(r) : "—"), (r) => r.speedup, false],
  ["accuracy_drop", "accuracy drop (points)", (job, r) => (r && r.accuracy_drop != null ? fixed(r.accuracy_drop * 100, 2) : "—"), null],
  ["fidelity", "fidelity", (job, r) => (r ? fidelityText(r) : "—"), null],
  ["verdict", "verdict", (job, r) => (r ? verdictText(r) : job.status), null],
  ["goal_met", "goal met", (job, r) => (r ? (r.goal_met ? "yes" : "no") : "—"), null],
];

/** A table with one column per job (jobs: JobRead objects); the best value of a ranked row is marked. */
export function compareTable(jobs) {
  const table = document.createElement("table");
  table.id = "compare-table";
  const caption = table.createCaption();
  caption.textContent = `${jobs.length} jobs side by side; the best size and speed are marked ★ (within the quality limit only)`;
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.textContent = "job";
  corner.scope = "row";
  head.appendChild(corner);
  for (const job of jobs) {
    const th = document.createElement("th");
    th.scope = "col";
    th.dataset.id = job.id;
    th.textContent = job.id;
    head.appendChild(th);
  }
  const body = table.createTBody();
  const reports = jobs.map((job) => (job.result ? job.result.report : null));
  for (const [key, label, show, rank, lowerIsBetter] of ROWS) {
    const row = body.insertRow();
    row.dataset.row = key;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    row.appendChild(th);
    const eligible = reports.map((r) => (rank && r && r.verdict && r.verdict.within ? rank(r) : null));
    const values = eligible.filter((v) => v != null);
    const best = values.length > 1 ? (lowerIsBetter ? Math.min(...values) : Math.max(...values)) : null;
    jobs.forEach((job, index) => {
      const td = row.insertCell();
      td.dataset.id = job.id;
      td.textContent = show(job, reports[index]);
      if (best != null && eligible[index] === best) {
        td.classList.add("best");
        td.textContent += " ★";
      }
    });
  }
  return table;
}
