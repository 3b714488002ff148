// The API as the console calls it: the session's token in the Authorization header, problem+json answers
// turned into errors that keep the problem's detail, code and request id.

const TOKEN_KEY = "byob.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, problem, requestId) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || "";
    this.field = problem.field || "";
    this.requestId = problem.request_id || requestId || "";
  }
}

export async function api(path, options = {}) {
  const headers = { accept: "application/json", ...(options.headers || {}) };
  const current = token();
  if (current) headers.authorization = `Bearer ${current}`;
  let body = options.body;
  if (body !== undefined && typeof body !== "string") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(body);
  }
  const response = await fetch(path, { method: options.method || "GET", headers, body });
  const text = await response.text();
  const json = (response.headers.get("content-type") || "").includes("json");
  let value = text;
  if (json || !response.ok) {
    try {
      value = text ? JSON.parse(text) : null;
    } catch {
      value = { detail: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, value || {}, response.headers.get("x-request-id"));
  }
  return value;
}
