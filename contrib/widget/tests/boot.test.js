// What the page pays before anyone clicks: the launcher alone.  boot.js
// (the launcher bundle's logic) with the chat module handed in by a loader
// the test controls, so the test sees exactly when the chat is asked for,
// and when anything connects.  The chat is the real one (chat.js) over
// the fake XMPP layer.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM, VirtualConsole } from "jsdom";
import { boot } from "../src/boot.js";
import { mountChat } from "../src/chat.js";
import de from "../src/locales/de.js";
import { FakeServer, QUEUE, settle } from "./support/fake-xmpp.js";

const open = [];
afterEach(() => {
  for (const p of open.splice(0)) {
    try {
      p.win.MucdeskWidget && p.win.MucdeskWidget.destroy();
    } catch {
      /* already */
    }
    p.win.close();
  }
});

// The widget reports on the console (the page's, which is Node's here).
const consoleErrors = [];
const realError = console.error;
console.error = (...a) => {
  consoleErrors.push(a.map(String).join(" "));
};
process.on("exit", () => {
  console.error = realError;
});

const ATTRS = `data-websocket="ws://127.0.0.1:5280/xmpp-websocket" data-domain="anon.localhost" data-queue="${QUEUE}" data-prefill-name="Ann"`;

/** A page with the widget's tag; load() is recorded, and can be made to fail. */
function page({ lang = null, attrs = "", storage = null, server = new FakeServer(), failLoads = 0 } = {}) {
  const errors = [];
  const vc = new VirtualConsole();
  vc.on("error", (...a) => errors.push(a.join(" ")));
  const dom = new JSDOM(`<!doctype html><html${lang ? ` lang="${lang}"` : ""}><body><script id="w" ${ATTRS} ${attrs}></script></body></html>`, { url: "https://shop.example/", pretendToBeVisual: true, virtualConsole: vc });
  const win = dom.window;
  if (storage) for (const [k, v] of Object.entries(storage)) win.sessionStorage.setItem(k, v);
  const loads = [];
  let fails = failLoads;
  const load = async (language) => {
    loads.push(language);
    await settle(3);
    if (fails > 0) {
      fails -= 1;
      throw new Error("ERR_INTERNET_DISCONNECTED");
    }
    const chat = { mountChat: (o) => mountChat({ ...o, transportFactory: server.factory }) };
    return { chat, locale: language.lang === "de" ? de : null };
  };
  const api = boot({ win, doc: win.document, script: win.document.getElementById("w"), load, version: "test" });
  const p = { win, doc: win.document, api, loads, server, errors, root: () => win.document.getElementById("mucdesk-widget").shadowRoot };
  p.$ = (sel) => p.root().querySelector(sel);
  open.push(p);
  return p;
}

test("lazy: before any click: the launcher only; the chat is not loaded and nothing connects", async () => {
  const p = page();
  await settle();
  assert.ok(p.$(".md-launcher"), "the launcher is there at once");
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us");
  assert.equal(p.$(".md-panel"), null, "no panel yet");
  assert.equal(p.root().querySelectorAll("style").length, 1, "only the launcher's CSS");
  assert.deepEqual(p.loads, []);
  assert.equal(p.server.transports.length, 0);
  assert.equal(p.api.loaded, "no");
  assert.equal(p.win.MucdeskWidget.version, "test");
});

test("lazy: the first click loads the chat and opens the form; a second load never happens", async () => {
  const p = page();
  p.$(".md-launcher").click();
  assert.equal(p.$(".md-launcher").getAttribute("aria-busy"), "true", "busy while the chat loads");
  await settle();
  assert.equal(p.loads.length, 1);
  assert.ok(p.$(".md-form"), "the form");
  assert.equal(p.$(".md-launcher").hasAttribute("aria-busy"), false);
  assert.equal(p.$(".md-launcher").getAttribute("aria-expanded"), "true");
  assert.equal(p.server.transports.length, 1, "connected on the click");
  p.$(".md-launcher").click();
  assert.equal(p.$(".md-panel").hidden, true, "the chat's panel has the button now: a click closes");
  p.$(".md-launcher").click();
  await settle();
  assert.equal(p.loads.length, 1);
});

test("lazy: the pointer or the focus reaching the launcher loads the chat ahead of the click, without connecting", async () => {
  const p = page();
  p.$(".md-launcher").dispatchEvent(new p.win.Event("pointerenter"));
  p.$(".md-launcher").dispatchEvent(new p.win.FocusEvent("focus"));
  await settle();
  assert.equal(p.loads.length, 1);
  assert.equal(p.api.loaded, "loaded");
  assert.equal(p.$(".md-panel").hidden, true, "not opened");
  assert.equal(p.server.transports.length, 0, "no connection before the customer opens the chat");
  p.$(".md-launcher").click();
  await settle();
  assert.ok(p.$(".md-form"));
  assert.equal(p.loads.length, 1);
});

test("lazy: a chat to resume in this tab loads the chat at once and rejoins, without a click", async () => {
  const server = new FakeServer();
  const first = page({ server });
  first.$(".md-launcher").click();
  await settle();
  first.$("input[name=email]").value = "ann@example.org";
  first.$("textarea[name=question]").value = "Where is my parcel?";
  first.$(".md-form button[type=submit]").click();
  await settle();
  const key = `mucdesk:${QUEUE}`;
  const saved = first.win.sessionStorage.getItem(key);
  assert.ok(JSON.parse(saved).token);
  first.win.MucdeskWidget.destroy();
  const second = page({ server, storage: { [key]: saved } });
  await settle();
  assert.equal(second.loads.length, 1, "loaded without a click");
  assert.equal(second.$(".md-panel").hidden, false, "it was open: open again");
  assert.equal(second.win.MucdeskWidget.loaded, "loaded");
  assert.ok(server.sentBy((e) => e.name === "iq" && e.getChild("command") && e.getChild("command").attrs.node === "resume-chat").length >= 1, "resumed");
  // A stored state without a token (a closed panel, an old version): no load.
  const third = page({ server, storage: { [key]: JSON.stringify({ v: 1, ui: { open: false } }) } });
  await settle();
  assert.equal(third.loads.length, 0);
});

test("lazy: data-open loads and opens at once; MucdeskWidget.open() before the load opens after it", async () => {
  const p = page({ attrs: "data-open" });
  await settle();
  assert.equal(p.loads.length, 1);
  assert.equal(p.$(".md-panel").hidden, false);
  const q = page();
  const opening = q.win.MucdeskWidget.open();
  await opening;
  await settle();
  assert.equal(q.loads.length, 1);
  assert.ok(q.$(".md-form"));
});

test("lazy: a chat that cannot be loaded is said on the console; the next click tries again", async () => {
  const p = page({ failLoads: 1 });
  p.$(".md-launcher").click();
  await settle();
  assert.equal(p.$(".md-panel"), null);
  assert.equal(p.$(".md-launcher").hasAttribute("aria-busy"), false);
  assert.ok(consoleErrors.some((e) => /the chat could not be loaded: Error: ERR_INTERNET_DISCONNECTED/.test(e)), consoleErrors.join("\n"));
  p.$(".md-launcher").click();
  await settle();
  assert.equal(p.loads.length, 2);
  assert.ok(p.$(".md-form"));
});

test("lazy: the language is chosen before loading: the launcher speaks it, and only that translation is asked for", async () => {
  const p = page({ lang: "de-DE" });
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chatten Sie mit uns");
  assert.equal(p.doc.getElementById("mucdesk-widget").getAttribute("lang"), "de-DE");
  p.$(".md-launcher").click();
  await settle();
  assert.deepEqual(p.loads, [{ lang: "de", locale: "de-DE", dir: "ltr" }]);
  assert.equal(p.$(".md-form button[type=submit]").textContent, "Chat starten");
  assert.equal(p.root().querySelector('label[for="md-form-f1"]').textContent.replace(" *", ""), "Ihr Name", "the desk's own question, in German");
});

test("lazy: a broken tag mounts nothing and loads nothing", async () => {
  const dom = new JSDOM(`<!doctype html><html><body><script id="w" data-websocket="http://x" data-queue="q"></script></body></html>`, { url: "https://shop.example/" });
  const win = dom.window;
  const warn = console.warn;
  console.warn = () => {};
  let loads = 0;
  const api = boot({ win, doc: win.document, script: win.document.getElementById("w"), load: async () => loads++ });
  assert.equal(api, null);
  assert.equal(win.document.getElementById("mucdesk-widget"), null);
  assert.equal(loads, 0);
  console.warn = warn;
  assert.ok(consoleErrors.some((e) => /mucdesk widget: data-websocket must be a ws/.test(e)));
  win.close();
});
