// A 界址点 table (CSV) read in the browser the way `onemap plans sitecheck FILE.csv` reads it
// (gis/io/point_tables.py, layers/sitecheck.py): UTF-8 (with or without BOM) else GB18030;
// the delimiter that is most frequent in the first line; coordinate columns found by the same
// names (units in brackets ignored, case ignored: x/lon/经度 …, y/lat/纬度 …); blank rows and
// rows without coordinates skipped; a ring column (圈号 …) separates rings. The result is the
// `points` input of the site-check process: [x, y] pairs, or {x, y, ring} with a ring column.

const X_NAMES = ["lon", "lng", "long", "longitude", "经度", "东经", "x", "point_x"];
const Y_NAMES = ["lat", "latitude", "纬度", "北纬", "y", "point_y"];
const RING_FIELDS = ["圈号", "环号", "ring", "part", "地块号", "parcel"];
const LABEL_FIELDS = ["点号", "点名", "界址点号", "name", "id"];
const DELIMITERS = [",", "\t", ";", "|"];
const UNITS = /\s*[(（\[][^)）\]]*[)）\]]\s*$/u;

export class PointsError extends Error {}

/** The file's text: UTF-8 when it decodes as such, else GB18030 (as the CLI sniffs). */
export function decodeText(buffer) {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buffer);
  } catch {
    return new TextDecoder("gb18030").decode(buffer);
  }
}

/** Rows of a delimited text (RFC 4180 quotes), with the line each row starts on. */
function rows(text, delimiter) {
  const found = [];
  let row = [], cell = "", quoted = false, line = 1, start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; cell += c; }
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === delimiter) { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      found.push({ line: start, cells: row });
      row = []; cell = ""; line++; start = line;
    } else cell += c;
  }
  if (cell !== "" || row.length) found.push({ line: start, cells: [...row, cell] });
  return found;
}

function headerNames(cells) {
  const names = [];
  cells.forEach((cell, i) => {
    let name = String(cell).replaceAll("\ufeff", "").trim() || `column_${i + 1}`;
    const base = name;
    for (let suffix = 2; names.includes(name); suffix++) name = `${base}_${suffix}`;
    names.push(name);
  });
  return names;
}

function column(keys, wanted) {
  for (const name of wanted) {
    const index = keys.indexOf(name);
    if (index >= 0) return index;
  }
  return -1;
}

function coordinate(value, name, line) {
  const text = (value ?? "").trim();
  if (!text) return null;
  const number = Number(text);
  if (!Number.isFinite(number)) throw new PointsError(`第 ${line} 行：${name} 为 “${text}”，不是有限的数`);
  return number;
}

/**
 * The boundary points of a CSV text: `points` (the process input), `labels` (点号, else
 * J1, J2 …), `columns` (the names used) and whether a ring column split them.
 */
export function readBoundaryPoints(text) {
  const firstLine = text.split(/\r?\n/, 1)[0] || "";
  const delimiter = DELIMITERS.reduce((best, d) =>
    firstLine.split(d).length > firstLine.split(best).length ? d : best, DELIMITERS[0]);
  const all = rows(text, delimiter).filter((r) => r.cells.some((c) => c.trim()));
  if (!all.length) throw new PointsError("文件为空：第一行应为表头（如 点号,X,Y）");
  const headers = headerNames(all[0].cells);
  const keys = headers.map((h) => h.replace(UNITS, "").trim().toLowerCase());
  const xi = column(keys, X_NAMES), yi = column(keys, Y_NAMES);
  if (xi < 0 || yi < 0) {
    throw new PointsError(`找不到坐标列（表头为 ${headers.join("、")}）；应有 X、Y 或 经度、纬度 等列`);
  }
  const ring = RING_FIELDS.find((f) => headers.includes(f));
  const ri = ring ? headers.indexOf(ring) : -1;
  const li = LABEL_FIELDS.map((f) => headers.indexOf(f)).find((i) => i >= 0) ?? -1;
  const points = [], labels = [];
  for (const { line, cells } of all.slice(1)) {
    if (cells.length > headers.length && cells.slice(headers.length).some((c) => c !== "")) {
      throw new PointsError(`第 ${line} 行有 ${cells.length} 列，表头只有 ${headers.length} 列`);
    }
    const x = coordinate(cells[xi], headers[xi], line), y = coordinate(cells[yi], headers[yi], line);
    if ((x === null) !== (y === null)) throw new PointsError(`第 ${line} 行：只有一个坐标`);
    if (x === null) continue;
    points.push(ri >= 0 ? { x, y, ring: String(cells[ri] ?? "") } : [x, y]);
    labels.push(li >= 0 && cells[li]?.trim() ? cells[li].trim() : `J${points.length}`);
  }
  if (points.length < 3) throw new PointsError(`红线至少需要 3 个界址点，文件中有 ${points.length} 个`);
  return { points, labels, columns: { x: headers[xi], y: headers[yi], ring: ring || null } };
}
