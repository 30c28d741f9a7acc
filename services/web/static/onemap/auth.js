// Signing in with an API key typed by the user (kept in sessionStorage only, sent as
// X-API-Key by api.js). The server says who the key is (/auth/me); anonymous users see the
// public layers only. A grid worker sees their cells highlighted and listed; what a role
// may read is decided by the server (services/ogcapi/access.py), never here.

import { allFeatures, apiKey, escapeHtml, getJson, setApiKey } from "./api.js";

export const ROLES = { planner: "规划人员", grid_worker: "网格员", admin: "管理员" };

export function createAuth(map, config, state, elements, bus) {
  const { form, key, out, status, view, who } = elements;

  function announce() {
    bus.dispatchEvent(new CustomEvent("auth", { detail: { ...state } }));
  }

  function signedOut(message) {
    Object.assign(state, { role: null, name: null, workerId: null, cells: [] });
    setApiKey(null);
    out.hidden = true;
    who.textContent = "未登录";
    who.classList.remove("signed");
    status.innerHTML = message
      ? `<p class="error">${escapeHtml(message)}</p>`
      : '<p class="hint">未登录：只显示公开图层。</p>';
    view.innerHTML = "";
    announce();
  }

  async function workerView() {
    const cells = await allFeatures(`${config.ogc}/collections/cells/items`,
      { worker_id: state.workerId, limit: 500 });
    state.cells = cells;
    view.innerHTML = `<h2>我负责的网格（${cells.length}）</h2>`;
    for (const cell of cells) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.innerHTML = `${escapeHtml(cell.properties.name || cell.properties.code)}<small>${escapeHtml(cell.properties.code)}</small>`;
      button.addEventListener("click", () => map.flyToBounds(L.geoJSON(cell).getBounds(), { maxZoom: 16 }));
      view.appendChild(button);
    }
    view.insertAdjacentHTML("beforeend",
      '<p class="hint">地图上以橙色突出显示；点击网格内的建筑可查看住户数。</p>');
  }

  async function signIn() {
    if (!apiKey()) return signedOut();
    try {
      const me = await getJson(`${config.root}/auth/me`);
      Object.assign(state, { role: me.role, name: me.name, workerId: me.worker_id ?? null, cells: [] });
    } catch (error) {
      return signedOut(error.status === 401 ? "密钥无效、已过期或已撤销。" : error.message);
    }
    out.hidden = false;
    key.value = "";
    const label = `${ROLES[state.role] || state.role}${state.name ? "：" + state.name : ""}`;
    who.textContent = label;
    who.classList.add("signed");
    status.innerHTML = `<p>已登录为 ${escapeHtml(label)}。</p>`;
    view.innerHTML = "";
    if (state.role === "grid_worker") await workerView();
    if (state.role === "admin") view.innerHTML = '<p class="hint">点击建筑可查看住户数与人员名单（已脱敏）。</p>';
    if (state.role === "planner") view.innerHTML = '<p class="hint">点击建筑可查看住户数。</p>';
    document.body.dataset.signedIn = state.role;
    announce();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = key.value.trim();
    if (!typed) return;
    setApiKey(typed);
    signIn();
  });
  out.addEventListener("click", () => {
    delete document.body.dataset.signedIn;
    signedOut();
  });
  return { signIn };
}
