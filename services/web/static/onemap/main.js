// The one-map page: loads the catalogue (/map/api/layers), builds the map on the Tianditu
// `c` grid (CGCS2000, L.CRS.EPSG4326) and wires the modules, one job each.

import { getJson } from "./api.js";
import { createAuth } from "./auth.js";
import { createBasemaps, MAX_ZOOM } from "./basemaps.js";
import { createCellCodes } from "./cellcodes.js";
import { createCoordinates } from "./coordinates.js";
import { createInspect } from "./inspect.js";
import { createLayers } from "./layers.js";
import { renderLegend } from "./legend.js";
import { createPermalink, readHash } from "./permalink.js";
import { renderReport } from "./report.js";
import { createSearch } from "./search.js";
import * as sitecheck from "./sitecheck.js";

const $ = (id) => document.getElementById(id);

function tabs() {
  const buttons = document.querySelectorAll(".tabs button");
  const show = (name) => {
    buttons.forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
    document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === `panel-${name}`));
  };
  buttons.forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  return show;
}

async function start() {
  const paths = document.body.dataset;
  const showTab = tabs();
  const bus = new EventTarget();
  const state = { role: null, name: null, workerId: null, cells: [], drawing: false };
  const config = { ...(await getJson(`${paths.api}/layers`)), root: paths.root };
  const initial = readHash();
  const map = L.map("map", {
    crs: L.CRS.EPSG4326,
    center: initial.view?.center || config.center,
    zoom: initial.view?.zoom ?? 9,
    minZoom: 5,
    maxZoom: MAX_ZOOM,
    fadeAnimation: false,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("连云港一张图 · 底图：本平台天地图兼容 WMTS");

  const basemaps = createBasemaps(map, config.root, $("basemap-list"),
    (id) => bus.dispatchEvent(new CustomEvent("basemap", { detail: id })));
  const layers = createLayers(map, config, state, $("layer-list"), bus);
  const legend = () => renderLegend($("legend"), config, layers.visibleIds(), state);
  bus.addEventListener("layers", legend);
  basemaps.show(initial.base || "vec");
  layers.showOnly(initial.layers || layers.defaults());
  legend();

  const cellCodes = createCellCodes(map, config, layers);
  bus.addEventListener("layers", () => cellCodes?.refresh().catch((error) => console.warn("cell codes:", error.message)));
  createInspect(map, config, layers, state, $("inspect"), () => showTab("inspect"));
  createSearch(map, config, { form: $("search-form"), text: $("search-text"), crs: $("search-crs"),
    results: $("search-results") }, () => showTab("results"));
  const auth = createAuth(map, config, state, { form: $("auth-form"), key: $("auth-key"), out: $("auth-out"),
    status: $("auth-status"), view: $("auth-view"), who: $("auth-open") }, bus);
  $("auth-open").addEventListener("click", () => showTab("account"));
  bus.addEventListener("auth", () => {
    layers.restyle("grid", "cells");
    legend();
  });
  createCoordinates(map, config, $("coords-geo"), $("coords-gk"));
  const permalink = createPermalink(map, basemaps, layers, $("permalink"), bus);
  permalink.update();
  const siteCheck = sitecheck.mount(map, config, state, bus, showTab);
  renderReport($("report"), config).catch((error) => {
    $("report").innerHTML = `<p class="error">${error.message}</p>`;
  });
  await auth.signIn();
  cellCodes?.refresh().catch((error) => console.warn("cell codes:", error.message));

  // For scripts and tests: the map, the catalogue, what is loading.
  const tileLayers = () => [...basemaps.tileLayers(), ...[...layers.entries.values()].map((e) => e.layer)];
  window.onemap = {
    map, config, state, layers, basemaps, siteCheck,
    loading: () => tileLayers().filter((l) => map.hasLayer(l) && l._loading).length,
  };
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  $("map").textContent = `地图无法加载：${error.message}`;
  throw error;
});
