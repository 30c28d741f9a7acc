// Click a feature to see its attributes: the features under the click in every layer drawn
// at this zoom, top layer first, read from the OGC API (CQL2 S_INTERSECTS with the point),
// so the attributes are the API's, not the few a tile carries. Signed in, a building also
// shows its households (a grid worker: in their cells) and, for an admin, its persons masked.

import { escapeHtml, getJson } from "./api.js";
import { landuseName } from "./symbols.js";

const USES = { residential: "住宅", commercial: "商业", industrial: "工业", public: "公共服务", mixed: "混合", other: "其他" };
const LEVELS = { county: "县区", street: "街道/乡镇", community: "社区/村" };
const SEX = { M: "男", F: "女" };
const number = (v, digits = 2) =>
  v == null ? "" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: digits });

function rows(pairs) {
  return '<table class="attrs">' + pairs
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join("") + "</table>";
}

/** (name, value) pairs of a feature of a catalogue entry, in Chinese. */
export function describe(entry, feature, legend) {
  const p = feature.properties;
  switch (entry.kind) {
    case "plan":
    case "control":
      return [
        ["图层", entry.title],
        ["用地用海分类", p.code_2023 ? `${p.code_2023} ${landuseName(legend, p.code_2023)}` : "（无）"],
        ["原分类代码", p.source_code], ["原图斑编号", p.source_fid], ["类别", p.category],
      ];
    case "conflicts":
      return [
        ["冲突类型", legend.conflictTypes[p.type]?.label || p.type],
        ["级别", legend.severity[p.severity]?.label || p.severity],
        ["面积（m²）", number(p.area_m2, 1)], ["面积（亩）", number(p.area_mu, 2)],
        ["面积（公顷）", number(p.area_ha, 4)],
        ["A 图斑代码", [p.a_code, p.a_code_2023].filter(Boolean).join(" / ")],
        ["B 图斑代码", [p.b_code, p.b_code_2023].filter(Boolean).join(" / ")],
        ["县区代码", p.county_code], ["街道代码", p.street_code], ["社区代码", p.community_code],
        ["碎片数", p.pieces],
      ];
    default:
      if (entry.table === "cells") {
        return [["网格编码", p.code], ["网格名称", p.name], ["社区编码", p.community_code],
          ["网格员编号", p.worker_id ?? "（未分配）"]];
      }
      if (entry.table === "buildings") {
        return [["建筑编码", p.code], ["名称", p.name], ["地址", p.address],
          ["用途", USES[p.use] || p.use], ["层数", p.floors],
          ["跨网格", p.straddles ? "是" : ""]];
      }
      if (entry.table === "admin_areas") {
        return [["行政区划代码", p.code], ["名称", p.name], ["级别", LEVELS[p.level] || p.level]];
      }
      return Object.entries(p).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : v]);
  }
}

async function buildingPeople(ogc, feature, state) {
  if (!state.role) return "";
  const id = feature.id;
  const households = await getJson(`${ogc}/collections/households/items`,
    { building_id: id, limit: 1, skipGeometry: "true" });
  const mine = state.role === "grid_worker" ? "（本人网格内）" : "";
  let html = rows([[`住户数${mine}`, households.numberMatched ?? households.numberReturned]]);
  if (state.role === "admin") {
    const persons = await getJson(`${ogc}/collections/persons/items`,
      { building_id: id, limit: 200, skipGeometry: "true", sortby: "household_id" });
    html += `<h3>人员（已脱敏，${persons.numberMatched ?? persons.features.length} 人）</h3>` +
      '<table class="summary persons"><tr><th>姓名</th><th>性别</th><th>出生年</th><th>关系</th><th>电话</th></tr>' +
      persons.features.map(({ properties: q }) =>
        `<tr><td>${escapeHtml(q.name)}</td><td>${escapeHtml(SEX[q.sex] || q.sex)}</td>` +
        `<td>${escapeHtml(q.birth_year)}</td><td>${escapeHtml(q.relation)}</td>` +
        `<td>${escapeHtml(q.phone)}</td></tr>`).join("") + "</table>";
  }
  return html;
}

export function createInspect(map, config, layers, state, container, showPanel) {
  const highlight = L.geoJSON(null, {
    style: { color: "#00e5ff", weight: 3, fill: false }, interactive: false, pane: "control",
  }).addTo(map);
  let asked = 0;

  async function inspect(latlng) {
    const ticket = ++asked;
    const drawn = layers.drawnTopFirst();
    container.innerHTML = '<p class="hint">查询中…</p>';
    showPanel();
    const point = `POINT(${latlng.lng.toFixed(8)} ${latlng.lat.toFixed(8)})`;
    const answers = await Promise.all(drawn.map((entry) =>
      getJson(`${config.ogc}/collections/${entry.id}/items`,
        { filter: `S_INTERSECTS(geometry,${point})`, limit: 3 })
        .then((body) => ({ entry, features: body.features }))
        .catch((error) => ({ entry, features: [], error }))));
    if (ticket !== asked) return;
    highlight.clearLayers();
    const found = answers.filter((a) => a.features.length || a.error);
    if (!found.length) {
      container.innerHTML = `<p class="hint">此处没有已打开图层的要素（${latlng.lng.toFixed(6)}, ${latlng.lat.toFixed(6)}）。</p>`;
      return;
    }
    const parts = [];
    for (const { entry, features, error } of found) {
      parts.push(`<h2>${escapeHtml(entry.title)}</h2>`);
      if (error) parts.push(`<p class="error">${escapeHtml(error.message)}</p>`);
      for (const feature of features) {
        parts.push(rows(describe(entry, feature, config.legend)));
        if (entry.table === "buildings") {
          parts.push(await buildingPeople(config.ogc, feature, state)
            .catch((e) => `<p class="error">${escapeHtml(e.message)}</p>`));
        }
      }
    }
    if (ticket !== asked) return;
    highlight.addData(found.find((a) => a.features.length)?.features[0] || []);
    container.innerHTML = parts.join("");
    container.dataset.done = String(ticket);
  }

  map.on("click", (e) => {
    if (!state.drawing) inspect(e.latlng); // a click of the site check's drawing is not a question
  });
  return { inspect, clear: () => highlight.clearLayers() };
}
