// Requests to this app: JSON with the signed-in user's API key, and OGC errors as messages.
// The key lives in sessionStorage only (gone when the tab closes) and travels as X-API-Key.

const KEY = "onemap.apiKey";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export function headers() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

/** The JSON body of an answer; an error answer (the OGC exception body) becomes an ApiError. */
async function answer(response) {
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).description || message;
    } catch {
      // not an OGC body: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return response.json();
}

/** GET a JSON document; an error answer (the OGC exception body) becomes an ApiError. */
export async function getJson(url, params) {
  const target = params ? `${url}?${new URLSearchParams(params)}` : url;
  return answer(await fetch(target, { headers: { Accept: "application/json", ...headers() } }));
}

/** POST a JSON body (with the key and any `extra` headers); the JSON answer, as getJson. */
export async function postJson(url, body, extra = {}) {
  return answer(await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json", ...extra, ...headers() },
    body: JSON.stringify(body),
  }));
}

/** Every feature of an OGC API items request, following its `next` links. */
export async function allFeatures(url, params, limit = 5000) {
  let page = await getJson(url, params);
  const features = [...page.features];
  for (;;) {
    const next = (page.links || []).find((link) => link.rel === "next");
    if (!next || features.length >= limit) return features;
    const href = new URL(next.href, location.href);
    page = await getJson(href.pathname + href.search);
    features.push(...page.features);
  }
}

/** A CQL2 text string literal. */
export function cqlString(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

/** Text for HTML. */
export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}
