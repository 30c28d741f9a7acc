// Leaflet path options for each kind of layer, from the symbols and legend the server sends
// (/map/api/layers: the 2023 用地用海 colours and config/styles/map-styles.yaml, the data the
// MapLibre styles are made from). Levels below are Tianditu's (Leaflet zoom + offset).

export const HIGHLIGHT = { color: "#ff6d00", weight: 3.5, fill: true, fillColor: "#ff9100", fillOpacity: 0.28 };

/** The colour of a 2023 code: its own, else its parent's (six digits → four → two). */
export function landuseColour(legend, code) {
  const text = String(code ?? "").trim();
  for (const length of [6, 4, 2]) {
    if (text.length >= length && legend.colours[text.slice(0, length)]) {
      return legend.colours[text.slice(0, length)];
    }
  }
  return null;
}

/** The name of a 2023 code (its own, else its parent's). */
export function landuseName(legend, code) {
  const text = String(code ?? "").trim();
  for (const length of [6, 4, 2]) {
    if (text.length >= length && legend.names[text.slice(0, length)]) {
      return legend.names[text.slice(0, length)];
    }
  }
  return "";
}

function plain(symbol) {
  return {
    stroke: true, color: symbol.color, weight: symbol.weight, opacity: 1,
    dashArray: symbol.dashArray || null,
    fill: Boolean(symbol.fill), fillColor: symbol.fillColor || symbol.color,
    fillOpacity: symbol.fillOpacity ?? 0,
  };
}

/**
 * The style function of a layer of the catalogue: (properties, leafletZoom) => options.
 * `state.workerId` (a signed-in grid worker) highlights their cells.
 */
export function styleFor(entry, legend, offset, state) {
  const symbol = entry.symbol || {};
  switch (entry.kind) {
    case "plan":
      return (p, z) => ({
        fill: true, fillOpacity: symbol.fillOpacity,
        fillColor: landuseColour(legend, p.code_2023) || symbol.unknown,
        stroke: z + offset >= symbol.outlineFrom, color: symbol.color, weight: symbol.weight,
      });
    case "conflicts":
      return (p) => ({
        fill: true, fillOpacity: legend.conflictFill,
        fillColor: legend.severity[p.severity]?.colour || legend.unknown,
        stroke: true, weight: legend.conflictOutline,
        color: legend.conflictTypes[p.type]?.colour || "#000000",
      });
    case "grid":
      if (entry.table === "cells") {
        return (p) => (state.workerId != null && p.worker_id === state.workerId ? HIGHLIGHT : plain(symbol));
      }
      return () => plain(symbol);
    default: // control lines
      return () => plain(symbol);
  }
}
