// Where the chat survives a reload: the page's sessionStorage.
//
// Why sessionStorage and not localStorage: the resume token opens the whole
// conversation (name, email, what was said).  sessionStorage lives as long
// as the tab: it survives reloads and moving between pages of the site in
// that tab, and is gone when the tab closes, so the next person at a shared
// computer finds nothing.  It is also per tab, so two tabs never fight over
// one chat.  When storage is unavailable (blocked cookies, some private
// modes) or full, the widget keeps working from memory; only a reload then
// loses the chat.

export function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
  };
}

/** A JSON store under one key: { load(), save(obj), clear() }.  Never throws. */
export function createStore(win, key, backing = null) {
  let store = backing;
  if (!store) {
    try {
      store = win && win.sessionStorage;
      // Touch it: some browsers throw only on use.
      const probe = `${key}:probe`;
      store.setItem(probe, "1");
      store.removeItem(probe);
    } catch {
      store = null;
    }
  }
  if (!store) store = memoryStorage();
  return {
    load() {
      try {
        const raw = store.getItem(key);
        if (!raw) return null;
        const v = JSON.parse(raw);
        return v && typeof v === "object" && v.v === 1 ? v : null;
      } catch {
        return null;
      }
    },
    save(obj) {
      try {
        store.setItem(key, JSON.stringify({ v: 1, ...obj }));
        return true;
      } catch {
        return false; // quota exceeded: the chat goes on from memory
      }
    },
    clear() {
      try {
        store.removeItem(key);
      } catch {
        /* nothing to do */
      }
    },
  };
}
