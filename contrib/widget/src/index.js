// The bundle's entry point: <script src="mucdesk-widget.js" data-...>.
// Reads the configuration from the script tag's data-* attributes and
// mounts the widget once the page's <body> exists.  window.MucdeskWidget
// offers open(), close() and toggle() to the page.

import { parseConfig } from "./config.js";
import { createTransport } from "./transport.js";
import { createWidget } from "./widget.js";

function findScript(doc) {
  if (doc.currentScript && doc.currentScript.dataset) return doc.currentScript;
  // Loaded some way that leaves no currentScript (a loader, a module):
  // the configured tag is still in the page.
  return doc.querySelector("script[data-queue][data-websocket]");
}

function boot(win, doc, script) {
  if (win.MucdeskWidget && win.MucdeskWidget.ready) return;
  const { config, problems } = parseConfig({ ...script.dataset });
  for (const p of problems) (p.fatal ? console.error : console.warn)(`mucdesk widget: ${p.message}`);
  if (problems.some((p) => p.fatal)) return;
  const widget = createWidget({ win, doc, config, transportFactory: createTransport });
  win.MucdeskWidget = {
    ready: true,
    version: __VERSION__,
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    destroy: () => {
      widget.destroy();
      delete win.MucdeskWidget;
    },
  };
}

(function main(win, doc) {
  const script = findScript(doc);
  if (!script) {
    console.error("mucdesk widget: cannot find my <script> tag (it needs data-queue and data-websocket)");
    return;
  }
  if (doc.body) boot(win, doc, script);
  else doc.addEventListener("DOMContentLoaded", () => boot(win, doc, script), { once: true });
})(window, document);
