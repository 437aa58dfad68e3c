// The launcher bundle's entry: <script src="mucdesk-widget.js" data-...>.
// A classic script (document.currentScript finds the tag and its
// attributes), kept small: the chat it loads on demand is an ES module
// built beside it (build.mjs), fetched with import() relative to this
// script's own URL.  __CHUNKS__ is the build's map of those files.

import { boot } from "./boot.js";

function findScript(doc) {
  if (doc.currentScript && doc.currentScript.dataset) return doc.currentScript;
  // Loaded some way that leaves no currentScript (a loader, a module):
  // the configured tag is still in the page.
  return doc.querySelector("script[data-queue][data-websocket]");
}

function loader(script, doc) {
  const base = script.src || doc.baseURI;
  const { dir, chat, locales } = __CHUNKS__;
  const load = (file) => import(new URL(dir + file, base).href);
  // The chat, its chunks and the translation, all requested at once.
  return (language) => {
    const locale = locales[language.lang];
    return Promise.all([...chat.map(load), locale ? load(locale) : null]).then((m) => ({ chat: m[0], locale: locale ? m[m.length - 1].default : null }));
  };
}

(function main(win, doc) {
  const script = findScript(doc);
  if (!script) {
    console.error("mucdesk widget: cannot find my <script> tag (it needs data-queue and data-websocket)");
    return;
  }
  const go = () => boot({ win, doc, script, load: loader(script, doc), version: __VERSION__ });
  if (doc.body) go();
  else doc.addEventListener("DOMContentLoaded", go, { once: true });
})(window, document);
