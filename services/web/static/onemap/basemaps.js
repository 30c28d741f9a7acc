// Base maps from this app's Tianditu-compatible WMTS, set up exactly as a Tianditu (天地图)
// client sets them up with only the host changed: set `c` (CGCS2000), L.CRS.EPSG4326,
// `zoomOffset: 1` (Leaflet's zoom 0 is Tianditu's level 1), Tianditu's KVP GetTile URL.

export const GROUPS = [
  { id: "vec", label: "矢量", layers: ["vec", "cva"] },
  { id: "img", label: "影像", layers: ["img", "cia"] },
  { id: "ter", label: "地形", layers: ["ter"] },
];
export const MAX_ZOOM = 17; // Tianditu level 18

/** A Tianditu layer on set `c`, from `root` (this app). */
export function tiandituLayer(root, layer) {
  const url =
    `${root}/${layer}_c/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=${layer}` +
    "&STYLE=default&TILEMATRIXSET=c&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";
  return L.tileLayer(url, { zoomOffset: 1, tileSize: 256, maxZoom: MAX_ZOOM, className: `tdt-${layer}` });
}

/** The base maps with a radio list in `container`; returns {group(), show(id)}. */
export function createBasemaps(map, root, container, onChange) {
  const groups = new Map(
    GROUPS.map((g) => [g.id, L.layerGroup(g.layers.map((name) => tiandituLayer(root, name)))]),
  );
  let current = null;
  function show(id) {
    const chosen = groups.has(id) ? id : GROUPS[0].id;
    if (chosen === current) return;
    if (current) map.removeLayer(groups.get(current));
    groups.get(chosen).addTo(map);
    current = chosen;
    container.querySelectorAll("input").forEach((input) => (input.checked = input.value === chosen));
    onChange?.(chosen);
  }
  for (const group of GROUPS) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="radio" name="basemap" value="${group.id}"> ${group.label}`;
    label.querySelector("input").addEventListener("change", () => show(group.id));
    container.appendChild(label);
  }
  return {
    show,
    current: () => current,
    tileLayers: () => [...groups.values()].flatMap((g) => g.getLayers()),
  };
}
