// The thematic layers: every layer of the catalogue as Leaflet.VectorGrid over our vector
// tiles in the TiandituC tile matrix set (the grid of the `c` base maps), and the layer list
// with a switch and an opacity slider per layer.
//
// OGC API – Tiles orders a tile's indices {tileMatrix}/{tileRow}/{tileCol}, which the
// catalogue writes as {z}/{y}/{x}; the level is Tianditu's, so the URL's {z} is Leaflet's
// zoom plus the offset (VectorGrid has no zoomOffset: a function fills the template).

import { styleFor } from "./symbols.js";

const PANES = { plan: 410, conflicts: 420, grid: 430, control: 440 };
const GROUP_NAMES = { plan: "规划", conflicts: "冲突", grid: "网格", control: "管控线" };

function bounds(bbox) {
  return bbox ? L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]) : undefined;
}

export function createLayers(map, config, state, container, bus) {
  const offset = config.zoomOffset;
  for (const [name, z] of Object.entries(PANES)) {
    map.createPane(name).style.zIndex = z;
  }
  const entries = new Map();
  for (const entry of config.layers) {
    const url = entry.tiles.replace("{z}", "{level}");
    const layer = L.vectorGrid.protobuf(url, {
      level: (data) => data.z + offset,
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: { [entry.id]: styleFor(entry, config.legend, offset, state) },
      interactive: false,
      pane: entry.kind,
      minZoom: entry.minzoom - offset,
      maxNativeZoom: entry.maxzoom - offset,
      maxZoom: 17,
      bounds: bounds(entry.bbox),
      keepBuffer: 1,
    });
    entries.set(entry.id, { entry, layer, visible: false, opacity: 1 });
  }

  function emit() {
    bus.dispatchEvent(new CustomEvent("layers", { detail: visibleIds() }));
  }
  function visibleIds() {
    return [...entries.values()].filter((e) => e.visible).map((e) => e.entry.id);
  }
  function setVisible(id, on) {
    const item = entries.get(id);
    if (!item || item.visible === on) return;
    item.visible = on;
    if (on) item.layer.addTo(map);
    else map.removeLayer(item.layer);
    const box = container.querySelector(`input[data-layer="${CSS.escape(id)}"]`);
    if (box) box.checked = on;
    emit();
  }
  function showOnly(ids) {
    for (const id of entries.keys()) setVisible(id, ids.includes(id));
  }

  // The list, top layer first (the catalogue is bottom first).
  let group = null;
  for (const item of [...entries.values()].reverse()) {
    const { entry } = item;
    if (entry.kind !== group) {
      group = entry.kind;
      const head = document.createElement("h3");
      head.textContent = GROUP_NAMES[group] || group;
      container.appendChild(head);
    }
    const row = document.createElement("div");
    row.className = "layer-row";
    const levels = `第 ${entry.minzoom} 级起显示`;
    row.innerHTML =
      `<label class="name" title="${levels}"><input type="checkbox" data-layer=""> <span></span></label>` +
      '<input type="range" min="0" max="100" value="100" aria-label="透明度">';
    row.querySelector("input[type=checkbox]").dataset.layer = entry.id;
    row.querySelector("span").textContent = entry.title;
    row.querySelector("input[type=checkbox]").addEventListener("change", (e) => setVisible(entry.id, e.target.checked));
    row.querySelector("input[type=range]").addEventListener("input", (e) => {
      item.opacity = Number(e.target.value) / 100;
      item.layer.setOpacity(item.opacity);
    });
    container.appendChild(row);
  }
  function markScale() {
    const level = map.getZoom() + offset;
    for (const { entry } of entries.values()) {
      const name = container.querySelector(`input[data-layer="${CSS.escape(entry.id)}"]`)?.closest(".name");
      name?.classList.toggle("out", level < entry.minzoom);
    }
  }
  map.on("zoomend", markScale);
  markScale();

  return {
    entries,
    visibleIds,
    setVisible,
    showOnly,
    defaults: () => config.layers.filter((e) => e.visible).map((e) => e.id),
    /** Draw a layer again (its symbols depend on who is signed in). Only where it is drawn:
     *  GridLayer.redraw() outside the layer's zoom range would load tiles anyway. */
    restyle(kind, table) {
      const level = map.getZoom() + offset;
      for (const { entry, layer, visible } of entries.values()) {
        const matches = entry.kind === kind && (!table || entry.table === table);
        if (matches && visible && level >= entry.minzoom) layer.redraw();
      }
    },
    /** The visible layers drawn at this zoom, top first. */
    drawnTopFirst() {
      const level = map.getZoom() + offset;
      return [...entries.values()]
        .filter((e) => e.visible && level >= e.entry.minzoom)
        .map((e) => e.entry)
        .reverse();
    },
  };
}
