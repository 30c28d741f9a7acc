// The legend of what is switched on: 2023 用地用海 classes (first level) for plan layers,
// each control line, conflict severities (fill) and types (outline), grid layers, and the
// signed-in grid worker's own cells.

import { escapeHtml } from "./api.js";
import { HIGHLIGHT } from "./symbols.js";

function item(swatch, label) {
  return `<div class="legend-item">${swatch}<span>${escapeHtml(label)}</span></div>`;
}

function fill(colour, opacity = 1, edge = "rgba(0,0,0,.25)") {
  return `<span class="swatch" style="background:${colour};opacity:${opacity};border-color:${edge}"></span>`;
}

function line(colour, style = "solid") {
  return `<span class="swatch line" style="border-color:${colour};border-bottom-style:${style}"></span>`;
}

function symbolSwatch(symbol) {
  if (symbol.fill && symbol.fillOpacity > 0) return fill(symbol.fillColor, Math.max(symbol.fillOpacity, 0.35), symbol.color);
  return line(symbol.color, symbol.dashArray ? "dashed" : "solid");
}

export function renderLegend(container, config, visible, state) {
  const legend = config.legend;
  const shown = config.layers.filter((e) => visible.includes(e.id));
  const parts = [];
  if (shown.some((e) => e.kind === "plan")) {
    parts.push('<div class="legend-group"><h3>用地用海分类（2023）</h3>' +
      legend.landuse.map((c) => item(fill(c.colour), `${c.code} ${c.name}`)).join("") + "</div>");
  }
  const conflicts = shown.find((e) => e.kind === "conflicts");
  if (conflicts) {
    parts.push('<div class="legend-group"><h3>冲突图斑：级别（填充）</h3>' +
      Object.values(legend.severity).map((s) => item(fill(s.colour), s.label)).join("") +
      "<h3>冲突类型（边线）</h3>" +
      Object.values(legend.conflictTypes).map((t) => item(line(t.colour), t.label)).join("") + "</div>");
  }
  const others = shown.filter((e) => e.kind === "control" || e.kind === "grid");
  if (others.length) {
    parts.push('<div class="legend-group"><h3>网格与管控线</h3>' +
      others.map((e) => item(symbolSwatch(e.symbol), e.title)).join("") +
      (state.workerId != null && others.some((e) => e.table === "cells")
        ? item(fill(HIGHLIGHT.fillColor, 0.6, HIGHLIGHT.color), "我负责的网格") : "") + "</div>");
  }
  container.innerHTML = parts.join("") || '<p class="hint">未打开专题图层。</p>';
}
