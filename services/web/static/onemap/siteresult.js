// The answer of the site-check process, shown: the verdict per check and control layer with
// its overlap in m², 亩 and ha and its share of the site; on the map the red line and, for
// each check that did not pass, the part of the site it concerns (inside the features
// involved, or outside them for an `outside` check such as the development boundary). The
// features are read from OGC API – Features by id in the very layer version the check used
// (`plans.{layer}.v{n}`), clipped with the red line in the browser. The printable summary is
// #sitecheck-print, shown by the print stylesheet only.

import { escapeHtml, getJson } from "./api.js";
import { asMultiPolygon, overlapShape, polygonsOf } from "./sitegeometry.js";

export const VERDICTS = {
  pass: { label: "通过", colour: "#2e7d32" },
  warn: { label: "警示", colour: "#ef6c00" },
  fail: { label: "不通过", colour: "#c62828" },
};
const MAX_FEATURES = 200;

const fixed = (v, digits) => Number(v).toLocaleString("zh-CN",
  { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const format = {
  m2: (v) => fixed(v, 2), mu: (v) => fixed(v, 2), ha: (v) => fixed(v, 4),
  share: (v) => `${fixed(v * 100, 1)}%`, deg: (v) => v.toFixed(7), metre: (v) => v.toFixed(3),
};

function badge(verdict) {
  const v = VERDICTS[verdict] || { label: verdict };
  return `<span class="verdict ${escapeHtml(verdict)}">${escapeHtml(v.label)}</span>`;
}

function featureText(f) {
  return [f.code_2023 || f.code, f.fid ? `#${f.fid}` : ""].filter(Boolean).join(" ") || `id ${f.feature_id}`;
}

/** A few of the features involved, for a table cell. */
function featureList(item) {
  if (!item.features.length) return "";
  const shown = item.features.slice(0, 4).map(featureText).join("、");
  return item.features.length > 4 ? `${shown} 等 ${item.features.length} 个图斑` : shown;
}

export function createSiteResult(map, config, state, pane, { result, print }) {
  const drawn = L.featureGroup().addTo(map);
  const shapes = new Map();
  const failed = []; // drawn last, on top of the warnings
  let redLine = null;
  let ticket = 0;
  const title = (layerId) => config.layers.find((e) => e.id === `plans.${layerId}`)?.title || layerId;
  const kind = (check) => config.siteCheck.checks[check]?.check || "overlap";
  const useName = (code) => (code ? `${code} ${config.legend.names[code] || ""}`.trim() : "未填（按城镇建设审查）");
  const toZone40 = proj4(config.crs.display.geographic.proj4, config.crs.display.projected.proj4);

  function clear() {
    ticket++;
    drawn.clearLayers();
    shapes.clear();
    failed.length = 0;
    result.innerHTML = "";
    print.innerHTML = "";
    for (const key of ["done", "verdict", "highlighted"]) delete result.dataset[key];
  }

  /** The red line alone (before an answer, or when the check was refused). */
  function showRedLine(site) {
    drawn.clearLayers();
    redLine = L.geoJSON(site.polygons.length ? asMultiPolygon(site.polygons) : null, {
      pane, interactive: false, style: { color: "#d50000", weight: 3, fill: true, fillOpacity: 0.04 },
    }).addTo(drawn);
  }

  async function features(item) {
    const collection = `${config.ogc}/collections/plans.${encodeURIComponent(item.layer_id)}.v${item.layer_version}`;
    const wanted = item.features.slice(0, MAX_FEATURES);
    const found = [];
    for (let i = 0; i < wanted.length; i += 6) {
      found.push(...await Promise.all(wanted.slice(i, i + 6).map((f) =>
        getJson(`${collection}/items/${f.feature_id}`))));
    }
    return found;
  }

  async function highlight(item, site, mine) {
    const colour = VERDICTS[item.verdict].colour;
    const involved = await features(item);
    if (mine !== ticket) return;
    const outline = L.geoJSON(involved, {
      pane, interactive: false, style: { color: colour, weight: 1.5, dashArray: "5 4", fill: false },
    }).addTo(drawn);
    let shape = null;
    try {
      const overlap = overlapShape(site.polygons, involved.map((f) => polygonsOf(f.geometry)),
        kind(item.check) === "outside");
      if (overlap.length) shape = asMultiPolygon(overlap);
    } catch (error) { // polygon-clipping gave up on a shape: the outlines stay
      console.warn("site check overlap:", error.message);
    }
    const layer = shape ? L.geoJSON(shape, {
      pane, style: { color: colour, weight: 1.5, fillColor: colour, fillOpacity: 0.45 },
    }).bindTooltip(`${escapeHtml(item.label)}：${format.m2(item.overlap_m2)} m²`, { sticky: true })
      .addTo(drawn) : outline;
    shapes.set(`${item.check}:${item.layer_id}`, layer);
    if (item.verdict === "fail") failed.push(layer);
  }

  function zoomTo(key) {
    const layer = key ? shapes.get(key) : drawn;
    const bounds = layer?.getBounds?.();
    if (bounds?.isValid()) map.fitBounds(bounds, { maxZoom: 17, padding: [40, 40], animate: false });
  }

  function table(report) {
    const rows = report.items.map((item) =>
      `<tr class="item ${escapeHtml(item.verdict)}" data-check="${escapeHtml(item.check)}" ` +
      `data-layer="${escapeHtml(item.layer_id)}" data-verdict="${escapeHtml(item.verdict)}" title="${escapeHtml(item.message)}">` +
      `<td>${badge(item.verdict)}</td><td><div class="head"><b>${escapeHtml(item.label)}</b>` +
      `<span>占比 <span class="share">${format.share(item.share)}</span></span></div>` +
      `<div class="areas"><span><span class="m2">${format.m2(item.overlap_m2)}</span> m²</span> · ` +
      `<span><span class="mu">${format.mu(item.overlap_mu)}</span> 亩</span> · ` +
      `<span><span class="ha">${format.ha(item.overlap_ha)}</span> 公顷</span></div>` +
      `<small>${escapeHtml(title(item.layer_id))} 第 ${item.layer_version} 版` +
      `${item.features.length ? "；图斑 " + escapeHtml(featureList(item)) : ""}</small></td></tr>`);
    return '<table class="summary site-items"><tr><th>结论</th><th>检查项、重叠面积（图层版本）</th></tr>' +
      rows.join("") + "</table>";
  }

  function vertexRows(site) {
    return site.vertices.map((v) => {
      const [east, north] = toZone40.forward([v.lon, v.lat]);
      return `<tr><td>${escapeHtml(v.label)}</td><td class="num">${format.deg(v.lon)}</td>` +
        `<td class="num">${format.deg(v.lat)}</td><td class="num">${format.metre(north)}</td>` +
        `<td class="num">${format.metre(east)}</td></tr>`;
    }).join("");
  }

  function printable(report, site, when) {
    const items = report.items.map((item, i) =>
      `<tr><td>${i + 1}</td><td>${escapeHtml(item.label)}</td>` +
      `<td>${escapeHtml(title(item.layer_id))}（${escapeHtml(item.layer_id)} 第 ${item.layer_version} 版）</td>` +
      `<td>${badge(item.verdict)}</td><td class="num">${format.m2(item.overlap_m2)}</td>` +
      `<td class="num">${format.mu(item.overlap_mu)}</td><td class="num">${format.ha(item.overlap_ha)}</td>` +
      `<td class="num">${format.share(item.share)}</td>` +
      `<td>${escapeHtml(item.features.map(featureText).join("、"))}</td></tr>`).join("");
    const who = state.name || state.role || "";
    print.innerHTML =
      "<h1>项目选址合规性审查摘要</h1>" +
      '<table class="attrs">' +
      `<tr><th>项目名称</th><td>${escapeHtml(report.name)}</td><th>审查编号</th><td>${report.id}</td></tr>` +
      `<tr><th>审查时间</th><td>${escapeHtml(when)}</td><th>审查人</th><td>${escapeHtml(who)}</td></tr>` +
      `<tr><th>规划用途</th><td>${escapeHtml(useName(report.use))}</td><th>红线来源</th><td>${escapeHtml(site.source)}</td></tr>` +
      `<tr><th>红线面积</th><td colspan="3">${format.m2(report.area_m2)} m²（${format.mu(report.area_mu)} 亩，` +
      `${format.ha(report.area_ha)} 公顷；CGCS2000 椭球面积）</td></tr>` +
      `<tr><th>总体结论</th><td colspan="3">${badge(report.verdict)}</td></tr></table>` +
      "<h2>逐项结论（各管控图层的审查所用版本）</h2>" +
      '<table class="summary"><tr><th>序号</th><th>检查项</th><th>图层（版本）</th><th>结论</th>' +
      '<th class="num">重叠 m²</th><th class="num">亩</th><th class="num">公顷</th><th class="num">占比</th>' +
      "<th>涉及图斑</th></tr>" + items + "</table>" +
      "<h2>红线界址点（CGCS2000）</h2>" +
      '<table class="summary vertices"><tr><th>点号</th><th class="num">经度</th><th class="num">纬度</th>' +
      '<th class="num">X（北，3°带第40带）</th><th class="num">Y（东）</th></tr>' + vertexRows(site) + "</table>" +
      (report.notes.length ? `<h2>说明</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "") +
      `<p class="hint">连云港一张图 · OGC API – Processes「site-check」· 打印于 ${escapeHtml(when)}</p>`;
  }

  /** Show an answer of the process for `site` (lon/lat polygons, vertices, source). */
  async function show(report, site) {
    const mine = ++ticket;
    const when = new Date().toLocaleString("zh-CN", { hour12: false });
    showRedLine(site);
    shapes.clear();
    failed.length = 0;
    result.innerHTML =
      `<h2>审查结论：${badge(report.verdict)}</h2>` +
      '<table class="attrs">' +
      `<tr><th>项目名称</th><td>${escapeHtml(report.name)}（审查编号 ${report.id}）</td></tr>` +
      `<tr><th>红线面积</th><td class="site-area"><span class="m2">${format.m2(report.area_m2)}</span> m²，` +
      `<span class="mu">${format.mu(report.area_mu)}</span> 亩，<span class="ha">${format.ha(report.area_ha)}</span> 公顷</td></tr>` +
      `<tr><th>规划用途</th><td>${escapeHtml(useName(report.use))}</td></tr>` +
      `<tr><th>审查时间</th><td>${escapeHtml(when)}</td></tr></table>` +
      table(report) +
      (report.notes.length ? `<p class="hint">${report.notes.map(escapeHtml).join("；")}</p>` : "") +
      '<p class="site-status hint">正在标出重叠范围…</p>' +
      '<p class="buttons"><button type="button" class="site-print">打印摘要</button>' +
      '<button type="button" class="site-zoom">定位红线</button></p>';
    result.dataset.verdict = report.verdict;
    result.dataset.done = String(report.id);
    printable(report, site, when);
    result.querySelector(".site-print").addEventListener("click", () => window.print());
    result.querySelector(".site-zoom").addEventListener("click", () => zoomTo(null));
    result.querySelectorAll("tr.item").forEach((row) =>
      row.addEventListener("click", () => zoomTo(`${row.dataset.check}:${row.dataset.layer}`)));
    zoomTo(null);
    result.scrollIntoView({ block: "start" });
    const hit = report.items.filter((item) => item.verdict !== "pass");
    const status = result.querySelector(".site-status");
    try {
      await Promise.all(hit.map((item) => highlight(item, site, mine)));
      if (mine !== ticket) return;
      failed.forEach((layer) => layer.bringToFront());
      status.textContent = hit.length
        ? "地图上以颜色标出各未通过项涉及的范围（虚线为相关图斑），点击表中一行可定位。"
        : "红线未触及任何管控要求。";
    } catch (error) {
      if (mine !== ticket) return;
      status.className = "site-status error";
      status.textContent = `重叠范围无法标出：${error.message}`;
    }
    result.dataset.highlighted = String(shapes.size);
  }

  /** For scripts and tests: the red line, and the areas drawn per check (GeoJSON). */
  const drawnShapes = () => Object.fromEntries([...shapes].map(([key, layer]) => [key, layer.toGeoJSON()]));
  return { show, showRedLine, clear, zoomTo, redLine: () => redLine, shapes: drawnShapes };
}
