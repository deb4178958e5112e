// What every module of the dashboard shares: the key, the one fetch helper, small DOM helpers.
export const $ = (selector) => document.querySelector(selector);
export const session = { key: sessionStorage.getItem("slimline.key") };

/** fetch with the key; a non-2xx answer throws an Error with .status and .problem (the problem+json body). */
export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { Authorization: `Bearer ${session.key}`, ...(options.headers || {}) } });
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

export const text = (value) => document.createTextNode(value == null ? "" : String(value));
export function cell(row, value, className) {
  const td = row.insertCell();
  td.appendChild(text(value));
  if (className) td.className = className;
  return td;
}
