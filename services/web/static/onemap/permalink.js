// The view in the URL hash: #map=<zoom>/<lat>/<lon>&base=<vec|img|ter>&layers=<id>,<id>.
// Reading it back restores the view, the base map and the layers switched on.

export function readHash(hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const view = (params.get("map") || "").split("/").map(Number);
  return {
    view: view.length === 3 && view.every(Number.isFinite) ? { zoom: view[0], center: [view[1], view[2]] } : null,
    base: params.get("base"),
    layers: params.has("layers") ? params.get("layers").split(",").filter(Boolean) : null,
  };
}

export function writeHash(map, base, layers) {
  const c = map.getCenter();
  const digits = Math.max(4, Math.ceil(Math.log10(2 ** map.getZoom())) + 2);
  return `#map=${map.getZoom()}/${c.lat.toFixed(digits)}/${c.lng.toFixed(digits)}` +
    `&base=${base}&layers=${layers.join(",")}`;
}

export function createPermalink(map, basemaps, layers, link, bus) {
  let writing = false;
  function update() {
    const hash = writeHash(map, basemaps.current(), layers.visibleIds());
    if (hash !== location.hash) {
      writing = true;
      history.replaceState(null, "", hash);
      writing = false;
    }
    link.href = location.href;
  }
  function apply(state) {
    if (state.base) basemaps.show(state.base);
    if (state.layers) layers.showOnly(state.layers);
    if (state.view) map.setView(state.view.center, state.view.zoom);
  }
  map.on("moveend", update);
  bus.addEventListener("layers", update);
  bus.addEventListener("basemap", update);
  window.addEventListener("hashchange", () => {
    if (!writing) apply(readHash());
  });
  return { update, apply };
}
