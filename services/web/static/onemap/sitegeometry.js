// The red line's geometry in the browser, for drawing only (the check itself is the
// server's): a pasted GeoJSON read as the process reads it, coordinates moved to CGCS2000
// lon/lat (proj4 with the definitions the catalogue gives, else the server's conversion for
// GCJ-02, BD-09 and local systems), and the shapes the overlaps have, by polygon-clipping
// (vendored from npm) in lon/lat: planar, fine for drawing; the areas shown are the server's.

import { getJson } from "./api.js";

export class GeometryError extends Error {}

const GEOGRAPHIC = /^(?:OGC:CRS84|EPSG:4490|EPSG:4326|CRS84)$/i;

/** A GeoJSON text as the process takes it: a Polygon, MultiPolygon, Feature or
 * FeatureCollection of them. Returns the parsed object and the CRS it carries, if any. */
export function readGeoJson(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GeometryError(`不是有效的 JSON：${error.message}`);
  }
  const kinds = ["Polygon", "MultiPolygon", "Feature", "FeatureCollection"];
  if (!value || typeof value !== "object" || !kinds.includes(value.type)) {
    throw new GeometryError("应为 GeoJSON 的 Polygon、MultiPolygon、Feature 或 FeatureCollection");
  }
  return { value, carried: value.crs?.properties?.name ?? null };
}

/** The polygons of a GeoJSON object, as polygon-clipping geometries (arrays of polygons). */
export function polygonsOf(value) {
  const geometries = value.type === "FeatureCollection" ? value.features.map((f) => f.geometry)
    : value.type === "Feature" ? [value.geometry] : [value];
  const polygons = [];
  for (const g of geometries) {
    if (g?.type === "Polygon") polygons.push(g.coordinates);
    else if (g?.type === "MultiPolygon") polygons.push(...g.coordinates);
    else throw new GeometryError(`${g?.type || "空几何"} 不是面`);
  }
  return polygons;
}

/** The EPSG code a CRS name means (EPSG:4528, urn:ogc:def:crs:EPSG::4528, an OGC URI). */
function epsg(name) {
  const match = /EPSG(?::+|\/\d+\/)(\d+)$/i.exec(String(name).trim());
  return match ? `EPSG:${match[1]}` : null;
}

/**
 * A function moving [x, y] arrays of `crs` to [lon, lat] (CGCS2000), possibly async.
 * `systems` are the catalogue's (id, proj4); other names are converted by /map/api/coordinates.
 */
export function toLonLat(crs, systems, api) {
  if (!crs || GEOGRAPHIC.test(crs) || /CRS84$/i.test(crs)) return async (rings) => rings;
  const known = systems.find((s) => s.id === crs || s.id === epsg(crs));
  if (known?.proj4) {
    const forward = proj4(known.proj4, "+proj=longlat +ellps=GRS80 +no_defs");
    return async (rings) => rings.map((ring) => ring.map(([x, y]) => forward.forward([x, y])));
  }
  return async (rings) => {
    const out = [];
    for (const ring of rings) {
      const moved = [];
      for (let i = 0; i < ring.length; i += 8) { // a few at a time: a red line has tens of points
        moved.push(...await Promise.all(ring.slice(i, i + 8).map(([x, y]) =>
          getJson(`${api}/coordinates`, { crs, x, y }).then((p) => [p.x, p.y]))));
      }
      out.push(moved);
    }
    return out;
  };
}

/** Polygons (each an array of rings) moved to lon/lat by `move`. */
export async function movePolygons(polygons, move) {
  return Promise.all(polygons.map((rings) => move(rings)));
}

/** 界址点 (the process's `points`) as polygons in their CRS: rings by their ring label,
 * read x-first or swapped; rings inside others become holes (as the server makes them). */
export function pointPolygons(points, swap) {
  const byRing = new Map();
  for (const p of points) {
    const [x, y] = Array.isArray(p) ? p : [p.x, p.y];
    const ring = Array.isArray(p) ? "1" : String(p.ring);
    if (!byRing.has(ring)) byRing.set(ring, []);
    byRing.get(ring).push(swap ? [y, x] : [x, y]);
  }
  const rings = [...byRing.values()].map((r) => [...r, r[0]]);
  return rings.reduce((shape, ring) => shape ? polygonClipping.xor(shape, [[ring]]) : [[ring]], null);
}

/** Whether every point of the polygons lies in China (the server's check for swapped axes). */
export function inChina(polygons) {
  return polygons.every((rings) => rings.every((ring) => ring.every(([lon, lat]) =>
    lon >= 73 && lon <= 136 && lat >= 3 && lat <= 54)));
}

/** The part of the site inside the features (an overlap) or outside them (`outside`). */
export function overlapShape(site, features, outside) {
  const whole = polygonClipping.union(site); // the parts of a FeatureCollection may overlap
  if (outside) return features.length ? polygonClipping.difference(whole, ...features) : whole;
  if (!features.length) return [];
  return polygonClipping.intersection(whole, polygonClipping.union(...features));
}

export function asMultiPolygon(polygons) {
  return { type: "MultiPolygon", coordinates: polygons };
}
