// The mouse position in CGCS2000 longitude/latitude and in CGCS2000 / 3-degree Gauss-Krüger
// zone 40, projected by proj4 with the definitions the server takes from gis.crs; and a
// metric scale bar.

export function createCoordinates(map, config, geoElement, gkElement) {
  const { geographic, projected } = config.crs.display;
  proj4.defs(geographic.id, geographic.proj4);
  proj4.defs(projected.id, projected.proj4);
  const toGk = proj4(geographic.id, projected.id);
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);

  function show(latlng) {
    const [east, north] = toGk.forward([latlng.lng, latlng.lat]);
    geoElement.textContent = `CGCS2000 经度 ${latlng.lng.toFixed(6)}° 纬度 ${latlng.lat.toFixed(6)}°`;
    gkElement.textContent = `${projected.label} X(北) ${north.toFixed(2)} m Y(东) ${east.toFixed(2)} m`;
  }
  map.on("mousemove", (e) => show(e.latlng));
  show(map.getCenter());
  return { show, toGk };
}
