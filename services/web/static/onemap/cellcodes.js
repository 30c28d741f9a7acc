// Grid cells with their codes: a label at each cell in view, read from the OGC API with a
// bbox (paged through `next` links), once the cells' tiles are drawn.

import { allFeatures } from "./api.js";

const FROM_ZOOM = 14; // Leaflet zoom (Tianditu level 15): below it the labels overlap

export function createCellCodes(map, config, layers) {
  const entry = config.layers.find((e) => e.kind === "grid" && e.table === "cells");
  if (!entry) return null;
  const labels = L.layerGroup().addTo(map);
  const placed = new Map();
  let asked = 0;

  async function refresh() {
    const ticket = ++asked;
    const shown = layers.visibleIds().includes(entry.id) && map.getZoom() >= FROM_ZOOM;
    if (!shown) {
      labels.clearLayers();
      placed.clear();
      return;
    }
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    const cells = await allFeatures(`${config.ogc}/collections/${entry.id}/items`, { bbox, limit: 500 }, 5000);
    if (ticket !== asked) return;
    for (const cell of cells) {
      if (placed.has(cell.id)) continue;
      const { type, coordinates } = cell.geometry;
      const rings = L.GeoJSON.coordsToLatLngs(type === "MultiPolygon" ? coordinates[0] : coordinates, 1);
      const centre = L.PolyUtil.polygonCenter(rings[0], map.options.crs);
      const label = L.tooltip({ permanent: true, direction: "center", className: "cell-code", interactive: false })
        .setLatLng(centre).setContent(cell.properties.code);
      labels.addLayer(label);
      placed.set(cell.id, label);
    }
  }
  map.on("moveend", () => refresh().catch((error) => console.warn("cell codes:", error.message)));
  return { refresh };
}
