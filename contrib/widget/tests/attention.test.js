// Being noticed: the unread count on the launcher and in the page title
// while the panel is closed or the tab hidden; the sound, off unless
// chosen; desktop notifications, asked for only from the customer's click
// and shown only while the tab is hidden.  The widget in jsdom over the
// fake XMPP layer; the browser's Notification and AudioContext are
// recorders.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import { parseConfig } from "../src/config.js";
import { createWidget } from "../src/widget.js";
import { FakeServer, ManualClock, QUEUE, mapStore, settle } from "./support/fake-xmpp.js";

const open = [];
afterEach(() => {
  for (const p of open.splice(0)) {
    try {
      p.widget.destroy();
    } catch {
      /* already */
    }
    p.win.close();
  }
});

/** A browser's Notification API that records; permission as given, and what requestPermission answers. */
function fakeNotifications(win, { permission = "default", answer = "granted" } = {}) {
  const shown = [];
  const asked = [];
  class Notification {
    static permission = permission;
    static async requestPermission() {
      asked.push(new Error().stack);
      Notification.permission = answer;
      return answer;
    }
    constructor(title, options) {
      this.title = title;
      this.options = options;
      this.closed = false;
      shown.push(this);
    }
    close() {
      this.closed = true;
      if (this.onclose) this.onclose();
    }
  }
  win.Notification = Notification;
  return { shown, asked, Notification };
}

function fakeAudio(win) {
  const played = [];
  const contexts = [];
  win.AudioContext = class {
    constructor() {
      contexts.push(this);
      this.currentTime = 0;
      this.state = "running";
      this.destination = {};
    }
    createOscillator() {
      const o = { frequency: {}, connect: (g) => g, start: () => played.push(o.frequency.value), stop() {} };
      return o;
    }
    createGain() {
      const g = { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (d) => d };
      return g;
    }
    async close() {}
  };
  return { played, contexts };
}

function setHidden(p, hidden) {
  Object.defineProperty(p.doc, "hidden", { value: hidden, configurable: true });
  Object.defineProperty(p.doc, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
  p.doc.dispatchEvent(new p.win.Event("visibilitychange"));
}

function page({ notifications = null, dataset = {}, store = mapStore(), server = new FakeServer() } = {}) {
  const dom = new JSDOM("<!doctype html><html><head><title>Example Shop</title></head><body></body></html>", { url: "https://shop.example/", pretendToBeVisual: true });
  const win = dom.window;
  win.focus = () => {}; // jsdom has none
  const n = notifications ? fakeNotifications(win, notifications) : null;
  const audio = fakeAudio(win);
  const { config } = parseConfig({ websocket: "ws://127.0.0.1:5280/xmpp-websocket", domain: "anon.localhost", queue: QUEUE, prefillName: "Ann", ...dataset });
  const widget = createWidget({ win, doc: win.document, config, transportFactory: server.factory, store, clock: new ManualClock(Date.now()), backoff: {} });
  const root = widget.ui.root;
  const p = { win, doc: win.document, widget, root, server, store, n, audio, $: (s) => root.querySelector(s), session: widget.session };
  open.push(p);
  return p;
}

async function startChat(p) {
  p.$(".md-launcher").click();
  await settle();
  const byName = Object.fromEntries([...p.root.querySelectorAll(".md-form input, .md-form textarea")].map((i) => [i.name, i]));
  byName.email.value = "ann@example.org";
  byName.question.value = "Where is my parcel?";
  p.$(".md-form button[type=submit]").click();
  await settle();
  const room = p.session.state.room;
  p.server.agentJoin(room);
  await settle();
  return room;
}

test("attention: panel closed: the launcher's badge and name count what came, the title too; opening clears both", async () => {
  const p = page();
  const room = await startChat(p);
  p.$(".md-close").click();
  p.server.agentSay(room, "Found it.");
  p.server.agentSay(room, "It arrives tomorrow.");
  await settle();
  assert.equal(p.$(".md-badge").hidden, false);
  assert.equal(p.$(".md-badge").textContent, "2");
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us (2 unread messages)");
  assert.equal(p.doc.title, "(2) Example Shop");
  p.$(".md-launcher").click();
  assert.equal(p.$(".md-badge").hidden, true);
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us");
  assert.equal(p.doc.title, "Example Shop");
});

test("attention: panel open but the tab hidden: the title counts, the badge does not; coming back clears it", async () => {
  const p = page();
  const room = await startChat(p);
  setHidden(p, true);
  p.server.agentSay(room, "Are you still there?");
  await settle();
  assert.equal(p.doc.title, "(1) Example Shop");
  assert.equal(p.$(".md-badge").hidden, true, "the panel is open: its launcher shows the close icon");
  // The page changes its own title meanwhile: its new title keeps the count.
  p.doc.title = "Cart (3 items)";
  p.server.agentSay(room, "Hello?");
  await settle();
  assert.equal(p.doc.title, "(2) Cart (3 items)");
  setHidden(p, false);
  assert.equal(p.doc.title, "Cart (3 items)");
  // The customer's own messages and agents' notices are not counted.
  setHidden(p, true);
  p.session.sendMessage("Yes, sorry!");
  await settle();
  assert.equal(p.doc.title, "Cart (3 items)");
});

test("attention: no sound unless chosen; the option turns it on (and data-sound makes it the default)", async () => {
  const p = page();
  const room = await startChat(p);
  p.$(".md-close").click();
  p.server.agentSay(room, "one");
  await settle();
  assert.deepEqual(p.audio.played, [], "silent by default");
  assert.equal(p.audio.contexts.length, 0, "no audio context even made");
  p.$(".md-launcher").click();
  p.$(".md-alerts-button").click();
  assert.equal(p.$(".md-alerts").hidden, false);
  const sound = p.$("#md-sound");
  assert.equal(sound.checked, false);
  assert.equal(p.root.querySelector('label[for="md-sound"]').textContent, "Play a sound for new messages");
  sound.checked = true;
  sound.dispatchEvent(new p.win.Event("change"));
  assert.equal(p.session.ui.sound, true, "kept with the chat (a reload keeps it)");
  p.$(".md-close").click();
  p.server.agentSay(room, "two");
  await settle();
  assert.deepEqual(p.audio.played, [880, 1320], "two short tones");

  const q = page({ dataset: { sound: "on" } });
  await startChat(q);
  q.$(".md-close").click();
  q.server.agentSay(q.session.state.room, "hi");
  await settle();
  assert.equal(q.audio.played.length, 2);
});

test("attention: notifications: never asked by itself; asked from the click; shown only while the tab is hidden; a click on one opens the chat", async () => {
  const p = page({ notifications: { permission: "default", answer: "granted" } });
  const room = await startChat(p);
  setHidden(p, true);
  p.server.agentSay(room, "Nothing asked yet");
  await settle();
  assert.equal(p.n.asked.length, 0, "no permission prompt without the customer's click");
  assert.equal(p.n.shown.length, 0);
  setHidden(p, false);
  p.$(".md-alerts-button").click();
  const box = p.$("#md-notify");
  box.checked = true;
  box.dispatchEvent(new p.win.Event("change"));
  await settle();
  assert.equal(p.n.asked.length, 1, "asked once, from the change the customer made");
  assert.equal(box.checked, true);
  assert.equal(p.session.ui.notify, true);
  p.server.agentSay(room, "Visible tab: no notification");
  await settle();
  assert.equal(p.n.shown.length, 0);
  p.$(".md-close").click();
  setHidden(p, true);
  p.server.agentSay(room, "Your parcel is at the depot 📦");
  await settle();
  assert.equal(p.n.shown.length, 1);
  const note = p.n.shown[0];
  assert.equal(note.title, "Alex replied");
  assert.equal(note.options.body, "Your parcel is at the depot 📦");
  assert.equal(note.options.tag, `mucdesk:${QUEUE}`, "one per queue: a newer one replaces it");
  assert.equal(note.options.lang, "en");
  note.onclick();
  assert.equal(p.$(".md-panel").hidden, false, "the click opens the chat");
  assert.equal(note.closed, true);
});

test("attention: notifications refused by the browser: said, and the option stays off", async () => {
  const p = page({ notifications: { permission: "default", answer: "denied" } });
  const room = await startChat(p);
  p.$(".md-alerts-button").click();
  const box = p.$("#md-notify");
  box.checked = true;
  box.dispatchEvent(new p.win.Event("change"));
  await settle();
  assert.equal(box.checked, false);
  assert.equal(p.$(".md-alerts .md-note").textContent, "Your browser blocks notifications from this site.");
  setHidden(p, true);
  p.server.agentSay(room, "x");
  await settle();
  assert.equal(p.n.shown.length, 0);
  // Already denied: the browser is not asked again (it would not ask anyway).
  const q = page({ notifications: { permission: "denied" } });
  await startChat(q);
  q.$(".md-alerts-button").click();
  q.$("#md-notify").checked = true;
  q.$("#md-notify").dispatchEvent(new q.win.Event("change"));
  await settle();
  assert.equal(q.n.asked.length, 0);
  assert.equal(q.$("#md-notify").checked, false);
});

test("attention: no Notification API (an http page, an old browser): no such option", async () => {
  const p = page();
  await startChat(p);
  assert.equal(p.$("#md-notify"), null);
  assert.ok(p.$("#md-sound"));
});
