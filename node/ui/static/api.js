// The node's HTTP API as the page uses it, and the API token's life in the browser.
//
// The token arrives in the URL fragment (/ui/#token=...), which browsers never send to a
// server; it is moved to sessionStorage (this tab only, gone when the tab closes) and
// removed from the address bar and history at once.

const TOKEN_KEY = "labelnet.token";
const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function adoptTokenFromFragment() {
  const match = /(?:^#|[#&])token=([A-Za-z0-9_\-]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, match[1]);
  history.replaceState(null, "", `${location.pathname}#/`);
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function send(method, path, body, accept) {
  const headers = { Accept: accept };
  const secret = token.get();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "the node is not reachable");
  }
  if (!response.ok) {
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    const detail = data && (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    throw new ApiError(response.status, detail || response.statusText);
  }
  return response;
}

async function request(method, path, body) {
  const text = await (await send(method, path, body, "application/json")).text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  session: () => request("GET", "/ui/session"),
  taskCards: () => request("GET", "/ui/tasks"),
  labelingView: (taskId) => request("GET", `/ui/tasks/${taskId}`),
  itemLabel: (taskId, itemId) =>
    request("GET", `/ui/tasks/${taskId}/items/${encodeURIComponent(itemId)}`),
  nextItems: (taskId, limit) => request("GET", `/tasks/${taskId}/items/next?limit=${limit}`),
  // A confidential task's media, opened by the node (its /ipfs/ copy is ciphertext).
  media: async (taskId, itemId) =>
    (await send("GET", `/ui/tasks/${taskId}/items/${encodeURIComponent(itemId)}/media`, undefined, "*/*")).blob(),
  progress: (taskId) => request("GET", `/ui/tasks/${taskId}/progress`),
  reputation: (taskId) => request("GET", `/ui/tasks/${taskId}/reputation`),
  submit: (taskId, labels) => request("POST", `/tasks/${taskId}/labels`, labels),
  earnings: () => request("GET", "/earnings"),
  tasks: () => request("GET", "/tasks?limit=500"),
  report: (taskId) => request("GET", `/ui/tasks/${taskId}/report`),
  reviewTasks: () => request("GET", "/review/tasks"),
  reviewView: (taskId) => request("GET", `/review/tasks/${taskId}`),
  vote: (taskId, itemId, value) =>
    request("PUT", `/review/tasks/${taskId}/votes/${encodeURIComponent(itemId)}`, { value }),
};

export const exportUrl = (taskId, format) => `${API}/ui/tasks/${taskId}/export?format=${format}`;
