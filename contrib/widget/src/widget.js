// Puts the pieces together: configuration, language, storage, session, UI.
// Used by chat.js (the chat bundle's entry) with the real transport and
// the launcher the page already shows, and by the tests with a fake
// transport (and a launcher made here).

import { storageKey } from "./config.js";
import { pickLanguage } from "./lang.js";
import { createHttp } from "./http.js";
import { createLauncher } from "./launcher-ui.js";
import { ChatSession } from "./session.js";
import { createStore } from "./storage.js";
import { createTabGuard } from "./tabs.js";
import { textsFor } from "./texts.js";
import { mountWidget } from "./ui.js";

/**
 * options: { win, doc, config (from parseConfig), transportFactory,
 *            http (files' PUT and HEAD; default: the window's), language
 *            ({lang, locale, dir}; default: from config.lang, else
 *            English), texts (the texts table; default: English with the
 *            site's texts), launcher (default: a new one), store
 *            (optional), clock, backoff, timeouts, container, tabs }
 * Returns { session, ui, open, close, toggle, destroy }.
 */
export function createWidget({ win, doc, config, language = null, texts = null, launcher = null, container, ...rest }) {
  const lang = language || pickLanguage({ configured: config.lang || "en" });
  // Without a texts table: English and the site's texts (the tests; the
  // chat bundle gives the table with the language's translation).
  const table = texts || textsFor(lang.lang, null, config.texts).texts;
  const own = !launcher;
  const l = launcher || createLauncher({ doc, config, language: lang, label: table.launcherLabel, container });
  const widget = assembleWidget({ win, doc, config, language: lang, texts: table, launcher: l, ...rest });
  const destroy = widget.destroy;
  widget.destroy = () => {
    destroy();
    if (own) l.destroy();
  };
  return widget;
}

/**
 * The widget on a launcher the page shows already (chat.js): everything
 * given.  options: { win, doc, config, language, texts, launcher,
 * transportFactory, store, clock, backoff, timeouts, tabs }.
 */
export function assembleWidget({ win, doc, config, language, texts, launcher, transportFactory, store = null, clock, backoff, timeouts, tabs, http = null }) {
  const nav = win.navigator || {};
  const key = storageKey(config);
  const session = new ChatSession({
    config,
    transportFactory,
    store: store || createStore(win, key),
    clock,
    backoff,
    timeouts,
    tabs: tabs === undefined ? createTabGuard(win, key) : tabs,
    // Files' PUT and HEAD through the page's own XMLHttpRequest and fetch.
    http: http || createHttp(win),
    env: {
      page: win.location ? String(win.location.href) : "",
      browser: nav.userAgent ? String(nav.userAgent) : "",
      lang: language.locale,
    },
  });
  session.start();
  const ui = mountWidget({ win, doc, config, language, texts, session, launcher });
  return {
    session,
    ui,
    language,
    open: () => ui.open(),
    close: () => ui.close(),
    toggle: () => ui.toggle(),
    destroy() {
      ui.destroy();
      session.destroy();
    },
  };
}
