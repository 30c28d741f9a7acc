// Find and fly there: a cell code (15 digits), a community or other area code (12 digits),
// a building code (17 digits), a name or address (CQL2 LIKE on the OGC API), or a coordinate
// pair in any supported CRS, converted on the server by gis.crs (/map/api/coordinates).

import { cqlString, escapeHtml, getJson } from "./api.js";

const PAIR = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$/;

export function createSearch(map, config, elements, showPanel) {
  const { form, text, crs, results } = elements;
  const marker = L.circleMarker([0, 0], { radius: 7, color: "#d50000", weight: 3, fillOpacity: 0.2, pane: "control" });
  for (const choice of config.crs.search) {
    const option = document.createElement("option");
    option.value = choice.id;
    option.textContent = choice.label;
    crs.appendChild(option);
  }
  let count = 0;

  function done(what) {
    results.dataset.done = String(++count);
    results.dataset.found = what;
  }

  function flyToFeature(feature) {
    const box = L.geoJSON(feature).getBounds();
    map.once("moveend", () => done(feature.properties.code || String(feature.id)));
    map.flyToBounds(box, { maxZoom: 16, duration: 0.6 });
  }

  async function coordinates(a, b) {
    const chosen = config.crs.search.find((c) => c.id === crs.value) || config.crs.search[0];
    let [x, y] = [a, b];
    if (chosen.geographic && Math.abs(a) <= 60 && Math.abs(b) > 60) [x, y] = [b, a]; // lat, lon typed
    const point = await getJson(`${config.api}/coordinates`, { crs: chosen.id, x, y });
    const here = L.latLng(point.y, point.x);
    results.innerHTML =
      `<p>${escapeHtml(chosen.label)} (${x}, ${y}) → CGCS2000 经度 ${point.x.toFixed(7)}°，纬度 ${point.y.toFixed(7)}°</p>`;
    marker.setLatLng(here).addTo(map);
    map.once("moveend", () => done(`${point.x},${point.y}`));
    map.flyTo(here, Math.max(map.getZoom(), 15), { duration: 0.6 });
  }

  async function features(query) {
    const ogc = config.ogc;
    const like = cqlString(`%${query}%`);
    if (/^\d{15}$/.test(query)) return [["网格", await getJson(`${ogc}/collections/cells/items`, { code: query })]];
    if (/^\d{17}$/.test(query)) return [["建筑", await getJson(`${ogc}/collections/buildings/items`, { code: query })]];
    if (/^\d{12}$/.test(query)) return [["行政区划", await getJson(`${ogc}/collections/admin_areas/items`, { code: query })]];
    return Promise.all([
      getJson(`${ogc}/collections/admin_areas/items`, { filter: `name LIKE ${like}`, limit: 8, sortby: "code" }).then((b) => ["行政区划", b]),
      getJson(`${ogc}/collections/cells/items`, { filter: `name LIKE ${like} OR code LIKE ${like}`, limit: 8 }).then((b) => ["网格", b]),
      getJson(`${ogc}/collections/buildings/items`, { filter: `address LIKE ${like} OR name LIKE ${like}`, limit: 8 }).then((b) => ["建筑", b]),
    ]);
  }

  async function search(query) {
    showPanel();
    results.innerHTML = '<p class="hint">查询中…</p>';
    const pair = PAIR.exec(query);
    if (pair) return coordinates(Number(pair[1]), Number(pair[2]));
    const groups = await features(query.trim());
    const hits = groups.flatMap(([kind, body]) => body.features.map((f) => [kind, f]));
    if (!hits.length) {
      results.innerHTML = `<p class="hint">没有找到“${escapeHtml(query)}”。</p>`;
      done("");
      return;
    }
    results.innerHTML = "";
    for (const [kind, feature] of hits) {
      const p = feature.properties;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.innerHTML = `${escapeHtml(p.name || p.code)}<small>${escapeHtml(kind)} ${escapeHtml(p.code || "")} ${escapeHtml(p.address || "")}</small>`;
      button.addEventListener("click", () => flyToFeature(feature));
      results.appendChild(button);
    }
    if (hits.length === 1) flyToFeature(hits[0][1]);
    else done("list");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    search(text.value).catch((error) => {
      results.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
      done("error");
    });
  });
  return { search };
}
