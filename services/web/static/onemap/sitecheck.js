// SLOT, NOT SHOWN: the site check (项目选址合规性审查) will run the OGC API – Processes
// `site-check` process being built elsewhere. Until then this module does nothing and its
// panel (#panel-sitecheck in the template) stays hidden; main.js calls mount() so that the
// wiring is in place. To enable it: draw or upload a red line, POST it to the process's
// execution endpoint with the signed-in key, show the verdicts, and set ENABLED.

export const ENABLED = false;

export function mount(/* map, config, panel */) {
  return ENABLED ? {} : null;
}
