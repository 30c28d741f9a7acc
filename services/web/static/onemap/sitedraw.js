// Drawing a red line by clicks: each click on the map adds a vertex; a click on the first
// vertex, a double click, Enter or 完成 closes the polygon; Backspace or 撤销 removes the last
// vertex, Esc or 取消 drops it. Our own few lines rather than a plugin: leaflet-draw 1.0.4,
// the last release (2018), brings sprites and CSS, and its area tooltip throws a
// ReferenceError (an undeclared variable in readableArea, Leaflet.draw issues 898 and 1026,
// still open); one polygon is all the site check needs. While drawing, `state.drawing` is
// true and the inspect click stands aside; double-click zoom is off.

const CLOSE_PX = 10;
const SAME_PX = 4;
const STYLE = { color: "#d50000", weight: 2.5 };

export function createDrawing(map, state, pane, { onChange, onDone }) {
  const line = L.polyline([], { ...STYLE, pane, interactive: false });
  const rubber = L.polyline([], { ...STYLE, pane, weight: 1.5, dashArray: "4 4", interactive: false });
  const vertices = L.layerGroup();
  let points = [];
  let zoomOnDoubleClick = true;

  const pixel = (latlng) => map.latLngToContainerPoint(latlng);

  function redraw(mouse) {
    line.setLatLngs(points);
    rubber.setLatLngs(mouse && points.length ? [points[points.length - 1], mouse, points[0]] : []);
    vertices.clearLayers();
    points.forEach((p, i) => L.circleMarker(p, {
      pane, radius: i === 0 ? 6 : 4, color: "#d50000", weight: 2, fillColor: "#fff", fillOpacity: 1,
      interactive: false,
    }).addTo(vertices));
    onChange?.(points.length);
  }

  function click(event) {
    const at = pixel(event.latlng);
    if (points.length >= 3 && at.distanceTo(pixel(points[0])) <= CLOSE_PX) return finish();
    if (points.length && at.distanceTo(pixel(points[points.length - 1])) <= SAME_PX) return;
    points.push(event.latlng);
    redraw();
  }

  const move = (event) => redraw(event.latlng);
  const doubleClick = () => finish();

  function key(event) {
    if (event.target.closest?.("input, textarea, select")) return;
    if (event.key === "Escape") cancel();
    else if (event.key === "Enter") finish();
    else if (event.key === "Backspace" || event.key === "Delete") {
      event.preventDefault();
      undo();
    }
  }

  function stop() {
    state.drawing = false;
    map.off("click", click).off("mousemove", move).off("dblclick", doubleClick);
    document.removeEventListener("keydown", key);
    if (zoomOnDoubleClick) map.doubleClickZoom.enable();
    map.getContainer().classList.remove("drawing");
    rubber.setLatLngs([]);
  }

  function start() {
    if (state.drawing) return;
    clear();
    state.drawing = true;
    zoomOnDoubleClick = map.doubleClickZoom.enabled();
    map.doubleClickZoom.disable();
    map.getContainer().classList.add("drawing");
    line.addTo(map);
    rubber.addTo(map);
    vertices.addTo(map);
    map.on("click", click).on("mousemove", move).on("dblclick", doubleClick);
    document.addEventListener("keydown", key);
    redraw();
  }

  function undo() {
    points.pop();
    redraw();
  }

  /** Close the polygon: its vertices (at least 3) go to onDone; the drawing is removed. */
  function finish() {
    if (!state.drawing || points.length < 3) return false;
    const done = points;
    stop();
    clear();
    onDone(done);
    return true;
  }

  function clear() {
    points = [];
    line.setLatLngs([]);
    rubber.setLatLngs([]);
    vertices.clearLayers();
    onChange?.(0);
  }

  function cancel() {
    if (state.drawing) stop();
    clear();
  }

  return { start, undo, finish, cancel, count: () => points.length };
}
