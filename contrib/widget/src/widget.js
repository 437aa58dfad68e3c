// Puts the pieces together: configuration, storage, session, UI.  Used by
// index.js (the bundle's entry) with the real transport, and by the tests
// with a fake one.

import { storageKey } from "./config.js";
import { ChatSession } from "./session.js";
import { createStore } from "./storage.js";
import { createTabGuard } from "./tabs.js";
import { mountWidget } from "./ui.js";

/**
 * options: { win, doc, config (from parseConfig), transportFactory,
 *            store (optional), clock, backoff, timeouts, container }
 * Returns { session, ui, open, close, toggle, destroy }.
 */
export function createWidget({ win, doc, config, transportFactory, store = null, clock, backoff, timeouts, container, tabs }) {
  const nav = win.navigator || {};
  const session = new ChatSession({
    config,
    transportFactory,
    store: store || createStore(win, storageKey(config)),
    clock,
    backoff,
    timeouts,
    tabs: tabs === undefined ? createTabGuard(win, storageKey(config)) : tabs,
    env: {
      page: win.location ? String(win.location.href) : "",
      browser: nav.userAgent ? String(nav.userAgent) : "",
    },
  });
  session.start();
  const ui = mountWidget({ win, doc, config, session, container });
  return {
    session,
    ui,
    open: () => ui.open(),
    close: () => ui.close(),
    toggle: () => ui.toggle(),
    destroy() {
      ui.destroy();
      session.destroy();
    },
  };
}
