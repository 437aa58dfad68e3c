// One chat, one tab.  sessionStorage is per tab, but "Duplicate tab" (and
// some "open in new tab" paths) copy it: two tabs would then resume the same
// chat, and each rejoin would push the other out of the room.  Tabs of the
// same site holding the same resume token find each other over a
// BroadcastChannel: the newcomer shows "open in another tab" with a
// "Continue here" button, which takes the chat over (the other tab then
// shows that message).  Without BroadcastChannel, nothing is guarded.

import { randomId } from "./ids.js";

/** Returns a guard, or null when the browser has no BroadcastChannel. */
export function createTabGuard(win, name) {
  const BC = win && win.BroadcastChannel;
  if (typeof BC !== "function") return null;
  let ch;
  try {
    ch = new BC(name);
  } catch {
    return null;
  }
  const me = randomId();
  let holding = null;
  let onTaken = null;
  const waiters = new Set();
  ch.onmessage = (e) => {
    const m = e && e.data;
    if (!m || typeof m !== "object" || m.from === me) return;
    if (m.type === "mine" && m.to === me) {
      for (const w of waiters) if (w.token === m.token) w.resolve(true);
      return;
    }
    if (!holding || m.token !== holding) return;
    if (m.type === "hello") ch.postMessage({ type: "mine", token: holding, from: me, to: m.from });
    else if (m.type === "take") {
      holding = null;
      if (onTaken) onTaken();
    }
  };
  return {
    /** Resolves true if another tab says it holds `token` within `wait` ms. */
    heldElsewhere(token, wait = 300) {
      return new Promise((resolve) => {
        const w = { token, resolve: null };
        const done = (v) => {
          waiters.delete(w);
          clearTimeout(timer);
          resolve(v);
        };
        w.resolve = done;
        waiters.add(w);
        const timer = setTimeout(() => done(false), wait);
        ch.postMessage({ type: "hello", token, from: me });
      });
    },
    hold(token) {
      holding = token;
    },
    release() {
      holding = null;
    },
    /** Tells the tab holding `token` to let go, and holds it here. */
    take(token) {
      ch.postMessage({ type: "take", token, from: me });
      holding = token;
    },
    onTaken(fn) {
      onTaken = fn;
    },
    close() {
      for (const w of waiters) w.resolve(false);
      ch.close();
    },
  };
}
