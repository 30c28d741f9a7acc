// The site check (项目选址合规性审查, the 选址审查 tab): a red line drawn on the map, pasted as
// GeoJSON (in a coordinate system chosen beside it) or read from a 界址点 CSV (its X/Y in a
// chosen system and axis order), with an optional planned use and project name, runs through
// the OGC API – Processes `site-check` process (POST /ogc/processes/site-check/execution,
// synchronously, with the signed-in key). The process is for planners and admins (and for
// everyone when the server opens it): anybody else is told to sign in and nothing is sent.
// siteresult.js shows the answer.

import { ApiError, escapeHtml, postJson } from "./api.js";
import { ROLES } from "./auth.js";
import { createDrawing } from "./sitedraw.js";
import {
  GeometryError, inChina, movePolygons, pointPolygons, polygonsOf, readGeoJson, toLonLat,
} from "./sitegeometry.js";
import { decodeText, PointsError, readBoundaryPoints } from "./sitepoints.js";
import { createSiteResult } from "./siteresult.js";

const PANE = "sitecheck";
const OTHER = "other";

const $ = (id) => document.getElementById(id);

/** The vertices of polygons (lon/lat), labelled J1, J2 … ring after ring, for the summary. */
function verticesOf(polygons) {
  const found = [];
  for (const rings of polygons) {
    for (const ring of rings) {
      for (const [lon, lat] of ring.slice(0, -1)) found.push({ label: `J${found.length + 1}`, lon, lat });
    }
  }
  return found;
}

function refusal(status, message) {
  if (status === 401) return "API 密钥无效、已过期或已撤销：请重新登录。";
  if (status === 403) return `当前账户无权进行选址审查（需要规划人员或管理员）：${message}`;
  if (status === 404) return "选址审查未向未登录用户开放：请在“账户”页用规划人员或管理员的 API 密钥登录。";
  if (status === 400) return `红线或参数有误：${message}`;
  if (status === 413) return "红线数据过大。";
  return `审查失败（${status}）：${message}`;
}

export function mount(map, config, state, bus, showTab) {
  map.createPane(PANE).style.zIndex = 450;
  const form = $("sitecheck-form");
  const access = $("sitecheck-access");
  const message = $("sitecheck-message");
  const results = createSiteResult(map, config, state, PANE, { result: $("sitecheck-result"), print: $("sitecheck-print") });
  const systems = config.crs.search;
  let drawn = null; // the last polygon drawn: [[lon, lat], ...] closed
  let table = null; // the last CSV read: { points, labels, name }

  for (const [select, first] of [[$("sitecheck-geojson-crs"), "GeoJSON 自带（未注明为经纬度 CRS84）"],
    [$("sitecheck-points-crs"), null]]) {
    const options = first ? [["", first]] : [];
    options.push(...systems.map((s) => [s.id, `${s.label}（${s.id}）`]), [OTHER, "其他（输入 EPSG 代码或本地坐标系名称）"]);
    select.innerHTML = options.map(([id, label]) => `<option value="${escapeHtml(id)}">${escapeHtml(label)}</option>`).join("");
  }
  $("sitecheck-points-crs").value = config.crs.display.projected.id;
  $("sitecheck-uses").innerHTML = Object.entries(config.legend.names)
    .map(([code, name]) => `<option value="${escapeHtml(code)}">${escapeHtml(name)}</option>`).join("");

  const mode = () => form.querySelector("input[name=sitecheck-mode]:checked").value;
  const crsSelect = () => (mode() === "points" ? $("sitecheck-points-crs") : $("sitecheck-geojson-crs"));
  const crs = () => (crsSelect().value === OTHER ? $("sitecheck-crs-other").value.trim() : crsSelect().value);

  function say(text, kind = "error") {
    message.className = kind;
    message.textContent = text;
  }

  function syncMode() {
    form.querySelectorAll(".mode").forEach((m) => { m.hidden = m.dataset.mode !== mode(); });
    $("sitecheck-crs-other").hidden = mode() === "draw" || crsSelect().value !== OTHER;
    if (mode() !== "draw") drawing.cancel();
  }

  /** May the caller run the process? Planners and admins; anybody when the server opens it. */
  function allowed() {
    return state.role === "planner" || state.role === "admin" || config.siteCheck.public;
  }

  function showAccess() {
    if (allowed()) {
      access.innerHTML = "";
      return;
    }
    access.innerHTML = state.role
      ? `<p class="error">当前账户（${escapeHtml(ROLES[state.role] || state.role)}）无权进行选址审查：需要规划人员或管理员的 API 密钥。</p>`
      : '<p class="error signin">选址审查需要登录：请在<a href="#" class="to-account">“账户”</a>页输入规划人员或管理员的 API 密钥。</p>';
    access.querySelector(".to-account")?.addEventListener("click", (event) => {
      event.preventDefault();
      showTab("account");
    });
  }

  const drawing = createDrawing(map, state, PANE, {
    onChange(count) {
      $("sitecheck-undo").disabled = !count;
      $("sitecheck-finish").disabled = count < 3;
      $("sitecheck-drawn").textContent = state.drawing
        ? `已添加 ${count} 个拐点${count >= 3 ? "，可完成" : ""}`
        : drawn ? `已绘制红线（${drawn.length - 1} 个拐点）` : "";
    },
    onDone(latlngs) {
      drawn = [...latlngs.map((p) => [Number(p.lng.toFixed(8)), Number(p.lat.toFixed(8))])];
      drawn.push(drawn[0]);
      $("sitecheck-drawn").textContent = `已绘制红线（${latlngs.length} 个拐点）`;
      results.clear();
      results.showRedLine({ polygons: [[drawn]] });
    },
  });

  /** The process inputs and the red line as drawn (lon/lat) for the mode chosen. */
  async function redLine() {
    const inputs = {};
    const name = $("sitecheck-name").value.trim();
    const use = $("sitecheck-use").value.trim();
    if (use) inputs.use = use;
    if (mode() === "draw") {
      if (state.drawing) drawing.finish();
      if (!drawn) throw new GeometryError("请先在地图上绘制红线（至少 3 个拐点）。");
      Object.assign(inputs, { site: { type: "Polygon", coordinates: [drawn] }, crs: config.crs.display.geographic.id });
      if (name) inputs.name = name;
      return { inputs, site: { polygons: [[drawn]], vertices: verticesOf([[drawn]]), source: "地图上绘制" } };
    }
    const system = crs();
    if (crsSelect().value === OTHER && !system) throw new GeometryError("请输入坐标系（如 EPSG:4527）。");
    if (mode() === "geojson") {
      const { value, carried } = readGeoJson($("sitecheck-geojson").value);
      Object.assign(inputs, { site: value }, system ? { crs: system } : {});
      if (name) inputs.name = name;
      const move = toLonLat(system || carried, systems, config.api);
      const polygons = await movePolygons(polygonsOf(value), move).catch(() => []);
      return { inputs, site: { polygons, vertices: verticesOf(polygons), source: `GeoJSON（${system || carried || "CRS84"}）` } };
    }
    if (!table) throw new PointsError("请先选择界址点 CSV 文件。");
    const axes = $("sitecheck-axes").value;
    Object.assign(inputs, { points: table.points, crs: system, axes, name: name || table.name });
    const move = toLonLat(system, systems, config.api);
    const polygons = await placed(table.points, axes, move);
    const flat = table.points.map((p) => (Array.isArray(p) ? p : [p.x, p.y]));
    const swap = polygons.swapped;
    const moved = await move([flat.map(([x, y]) => (swap ? [y, x] : [x, y]))]).catch(() => [[]]);
    const vertices = moved[0].map(([lon, lat], i) => ({ label: table.labels[i], lon, lat }));
    return { inputs, site: { polygons: polygons.shape, vertices, source: `界址点 ${table.file}（${system}）` } };
  }

  /** The points' polygons in lon/lat, read in the axis order asked (`auto`: x first unless
   * only the swapped order lands in China, as the server decides it, for drawing). */
  async function placed(points, axes, move) {
    const tries = axes === "auto" ? [false, true] : [axes === "yx"];
    for (const swap of tries) {
      try {
        const shape = await movePolygons(pointPolygons(points, swap), move);
        if (inChina(shape) || tries.length === 1) return { shape, swapped: swap };
      } catch {
        // a ring too short, a point outside the projection: try the other order
      }
    }
    return { shape: [], swapped: false };
  }

  async function run(event) {
    event?.preventDefault();
    say("", "hint");
    showAccess();
    if (!allowed()) return say(state.role ? "当前账户无权进行选址审查。" : "请先登录（规划人员或管理员）。");
    let line;
    try {
      line = await redLine();
    } catch (error) {
      if (!(error instanceof GeometryError || error instanceof PointsError)) throw error;
      return say(error.message);
    }
    results.clear();
    results.showRedLine(line.site);
    say("审查中…", "hint");
    $("sitecheck-run").disabled = true;
    try {
      const report = await postJson(`${config.ogc}/processes/site-check/execution`,
        { inputs: line.inputs }, { Prefer: "respond-sync" });
      say("", "hint");
      await results.show(report, line.site);
    } catch (error) {
      say(error instanceof ApiError ? refusal(error.status, error.message) : error.message);
    } finally {
      $("sitecheck-run").disabled = false;
    }
  }

  async function readFile() {
    table = null;
    const file = $("sitecheck-csv").files[0];
    $("sitecheck-csv-info").textContent = "";
    if (!file) return;
    try {
      const read = readBoundaryPoints(decodeText(await file.arrayBuffer()));
      table = { ...read, file: file.name, name: file.name.replace(/\.[^.]*$/, "") };
      const rings = read.columns.ring ? `，按 ${read.columns.ring} 分环` : "";
      $("sitecheck-csv-info").textContent =
        `读取 ${read.points.length} 个界址点（坐标列 ${read.columns.x}、${read.columns.y}${rings}）`;
      say("", "hint");
    } catch (error) {
      if (!(error instanceof PointsError)) throw error;
      say(`${file.name}：${error.message}`);
    }
  }

  form.addEventListener("submit", run);
  form.querySelectorAll("input[name=sitecheck-mode]").forEach((r) => r.addEventListener("change", syncMode));
  for (const select of [$("sitecheck-geojson-crs"), $("sitecheck-points-crs")]) select.addEventListener("change", syncMode);
  $("sitecheck-csv").addEventListener("change", () => readFile());
  $("sitecheck-draw").addEventListener("click", () => {
    drawn = null;
    results.clear();
    drawing.start();
  });
  $("sitecheck-undo").addEventListener("click", () => drawing.undo());
  $("sitecheck-finish").addEventListener("click", () => drawing.finish());
  $("sitecheck-clear").addEventListener("click", () => {
    drawing.cancel();
    drawn = null;
    results.clear();
    say("", "hint");
  });
  document.querySelector(".tabs button[data-tab=sitecheck]").addEventListener("click", showAccess);
  bus.addEventListener("auth", showAccess);
  syncMode();
  showAccess();
  return { run, drawing, results };
}
