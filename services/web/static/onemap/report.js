// The conflict report of the latest run: a table by type and one by county next to the map
// (/map/api/conflicts/{run}), with links to what the platform serves of the run: the files
// of `onemap plans report` (GeoPackage, CSV, offline HTML map) and the run's features.

import { escapeHtml, getJson } from "./api.js";

const n = (v, digits) => Number(v).toLocaleString("zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits });

export async function renderReport(container, config) {
  const layer = config.layers.find((e) => e.kind === "conflicts");
  if (!layer) return;
  const body = await getJson(`${config.api}/conflicts/${layer.run}`);
  const legend = config.legend;
  const run = body.run;
  const severity = (s) => legend.severity[s]?.label || s;
  const typeRows = body.types.map((t) =>
    `<tr><td><span class="swatch line" style="border-color:${legend.conflictTypes[t.type]?.colour || "#000"}"></span> ${escapeHtml(t.label)}</td>` +
    `<td>${escapeHtml(severity(t.severity))}</td><td class="num">${t.patches}</td>` +
    `<td class="num">${n(t.area_m2, 0)}</td><td class="num">${n(t.area_mu, 2)}</td><td class="num">${n(t.area_ha, 2)}</td></tr>`);
  const total = body.types.reduce((sum, t) => [sum[0] + t.patches, sum[1] + t.area_m2, sum[2] + t.area_mu, sum[3] + t.area_ha], [0, 0, 0, 0]);
  const countyRows = body.counties.map((c) =>
    `<tr><td>${escapeHtml(c.county_name || "（市域外）")}<small> ${escapeHtml(c.county_code || "")}</small></td>` +
    `<td>${escapeHtml(c.label)}</td><td class="num">${c.patches}</td>` +
    `<td class="num">${n(c.area_mu, 2)}</td><td class="num">${n(c.area_ha, 2)}</td></tr>`);
  const links = body.links.map((l) => `<a href="${escapeHtml(l.href)}" download>${escapeHtml(l.title)}</a>`);
  container.innerHTML =
    `<h2>冲突分析 第 ${run.id} 次：${escapeHtml(run.title)}</h2>` +
    `<p class="hint">${run.layers.map((x) => `${escapeHtml(x.layer)} v${x.version}`).join(" × ")}；` +
    `${escapeHtml((run.finished_at || "").slice(0, 16).replace("T", " "))} 完成</p>` +
    '<h3>按类型</h3><table class="summary by-type"><tr><th>类型</th><th>级别</th><th class="num">图斑</th>' +
    '<th class="num">m²</th><th class="num">亩</th><th class="num">公顷</th></tr>' + typeRows.join("") +
    `<tr><th>合计</th><th></th><th class="num">${total[0]}</th><th class="num">${n(total[1], 0)}</th>` +
    `<th class="num">${n(total[2], 2)}</th><th class="num">${n(total[3], 2)}</th></tr></table>` +
    '<h3>按县区</h3><table class="summary by-county"><tr><th>县区</th><th>类型</th><th class="num">图斑</th>' +
    '<th class="num">亩</th><th class="num">公顷</th></tr>' + countyRows.join("") + "</table>" +
    `<h3>导出</h3><p class="links">${links.join("")}</p>`;
  container.dataset.run = String(run.id);
}
