// What the page runs at once (the launcher bundle, launcher.js): reads the
// configuration from the script tag, picks the language, shows the
// launcher, and loads the chat (the XMPP library, the panel, the
// translation) only when it is needed: on the first click (or
// MucdeskWidget.open()), as soon as the pointer (a finger included) or the
// keyboard focus reaches the launcher (the click is likely to follow), or
// at once when there is a chat to resume in this tab (sessionStorage) or
// the panel is to start open.  Nothing connects to the XMPP server before the customer
// opens the panel, or before a chat they started is resumed.

import { parseConfig, storageKey } from "./config.js";
import { pickLanguage } from "./lang.js";
import { createLauncher } from "./launcher-ui.js";
import LAUNCHER_TEXTS from "./launcher-texts.js";

/** Is there a chat of this queue to resume, or a panel left open, in this tab? */
export function savedChat(win, config) {
  try {
    const raw = win.sessionStorage && win.sessionStorage.getItem(storageKey(config));
    const v = raw ? JSON.parse(raw) : null;
    return !!(v && typeof v === "object" && (typeof v.token === "string" || (v.ui && v.ui.open)));
  } catch {
    return false;
  }
}

/** The launcher's name: the site's own first, then the language's. */
function launcherLabel(config, lang) {
  for (const v of [(config.texts.byLang[lang] || {}).launcherLabel, config.texts.all.launcherLabel, LAUNCHER_TEXTS[lang]]) if (typeof v === "string") return v;
  return LAUNCHER_TEXTS.en;
}

/**
 * options: { win, doc, script (the widget's <script> element), load
 * (language -> Promise of { chat (the chat module: mountChat), locale
 * (the language's texts, or null for English) }), version }.
 * Returns the window.MucdeskWidget API, or null if nothing was mounted.
 */
export function boot({ win, doc, script, load, version = "" }) {
  if (win.MucdeskWidget && win.MucdeskWidget.ready) return null;
  const { config, problems } = parseConfig({ ...script.dataset });
  for (const p of problems) (p.fatal ? console.error : console.warn)(`mucdesk widget: ${p.message}`);
  if (problems.some((p) => p.fatal)) return null;
  const language = pickLanguage({ configured: config.lang, allowed: config.languages, doc, nav: win.navigator });
  const launcher = createLauncher({ doc, config, language, label: launcherLabel(config, language.lang) });
  const button = launcher.button;

  let widget = null;
  let loading = null;
  let wantOpen = false;
  let destroyed = false;

  function start() {
    if (!loading) {
      loading = Promise.resolve()
        .then(() => load(language))
        .then(({ chat, locale }) => {
          if (destroyed) return null;
          widget = chat.mountChat({ win, doc, config, language, locale, launcher });
          for (const [ev, fn] of listeners) button.removeEventListener(ev, fn);
          launcher.setBusy(false);
          if (wantOpen) widget.open();
          return widget;
        })
        .catch((e) => {
          // Offline, or the files are missing: the next click tries again.
          loading = null;
          wantOpen = false;
          launcher.setBusy(false);
          console.error("mucdesk widget: the chat could not be loaded:", e);
          return null;
        });
    }
    return loading;
  }

  const api = {
    ready: true,
    version,
    open() {
      if (widget) return widget.open();
      wantOpen = true;
      launcher.setBusy(true);
      return start().then(() => undefined);
    },
    close() {
      wantOpen = false;
      launcher.setBusy(false);
      if (widget) widget.close();
    },
    toggle() {
      if (widget) return widget.toggle();
      return wantOpen && loading ? undefined : api.open();
    },
    destroy() {
      destroyed = true;
      for (const [ev, fn] of listeners) button.removeEventListener(ev, fn);
      if (widget) widget.destroy();
      else launcher.destroy();
      if (win.MucdeskWidget === api) delete win.MucdeskWidget;
    },
    /** For tests and measurements: is the chat loaded, or loading? */
    get loaded() {
      return widget ? "loaded" : loading ? "loading" : "no";
    },
  };

  // Until the chat is there, the launcher's own listeners; the chat's
  // panel takes the button over when it mounts.
  // (pointerenter comes for a finger too, as the touch begins.)
  const listeners = [
    ["click", () => api.toggle()],
    ["pointerenter", () => start()],
    ["focus", () => start()],
  ];
  for (const [ev, fn] of listeners) button.addEventListener(ev, fn);

  win.MucdeskWidget = api;
  if (config.open || savedChat(win, config)) start();
  return api;
}
