// The job's report as tables in the page (the full report.html is embedded below them, sandboxed).
import { fixed, speedupText } from "./compare.js";
import { $, cell } from "./dom.js";

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

export function renderReport(report) {
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
