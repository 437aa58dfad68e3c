// The widget's DOM in jsdom, driven like a keyboard user would, over the
// fake XMPP layer: labels, focus, live regions, safe links, the rating.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import { parseConfig } from "../src/config.js";
import { createWidget } from "../src/widget.js";
import { FakeServer, ManualClock, QUEUE, mapStore, settle } from "./support/fake-xmpp.js";

const open = [];
afterEach(() => {
  // Stop the widgets' timers and close the windows, or the process never ends.
  for (const p of open.splice(0)) {
    try {
      p.widget.destroy();
    } catch {
      /* destroyed by the test already */
    }
    p.win.close();
  }
});

function page({ texts = null, store = mapStore(), server = new FakeServer(), lang } = {}) {
  const dom = new JSDOM("<!doctype html><html><body><main><h1>Shop</h1></main></body></html>", { url: "https://shop.example/cart", pretendToBeVisual: true });
  const win = dom.window;
  const dataset = { websocket: "ws://127.0.0.1:5280/xmpp-websocket", domain: "anon.localhost", queue: QUEUE, prefillName: "Ann" };
  if (texts) dataset.texts = JSON.stringify(texts);
  if (lang) dataset.lang = lang;
  const { config } = parseConfig(dataset);
  const clock = new ManualClock(Date.now());
  const widget = createWidget({ win, doc: win.document, config, transportFactory: server.factory, store, clock, backoff: {} });
  const root = widget.ui.root;
  const $ = (sel) => root.querySelector(sel);
  const $$ = (sel) => [...root.querySelectorAll(sel)];
  const key = (el, k, opts = {}) => el.dispatchEvent(new win.KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...opts }));
  const type = (el, text) => {
    el.value = text;
    el.dispatchEvent(new win.Event("input", { bubbles: true }));
  };
  const p = { dom, win, doc: win.document, widget, root, $, $$, key, type, server, store, clock, session: widget.session };
  open.push(p);
  return p;
}

async function openAndStart(p) {
  p.$(".md-launcher").click();
  await settle();
  const inputs = p.$$(".md-form input, .md-form textarea");
  const byName = Object.fromEntries(inputs.map((i) => [i.name, i]));
  p.type(byName.email, "ann@example.org");
  p.type(byName.question, "Where is my refund? <b>now</b>");
  p.$(".md-form button[type=submit]").click();
  await settle();
  return p.session.state.room;
}

test("ui: mounts one host with a shadow root; the launcher is a labelled, collapsed button", () => {
  const p = page();
  const hosts = p.doc.querySelectorAll("#mucdesk-widget");
  assert.equal(hosts.length, 1);
  assert.ok(hosts[0].shadowRoot);
  const l = p.$(".md-launcher");
  assert.equal(l.tagName, "BUTTON");
  assert.equal(l.getAttribute("aria-expanded"), "false");
  assert.equal(l.getAttribute("aria-controls"), "md-panel");
  assert.equal(l.getAttribute("aria-label"), "Chat with us");
  assert.equal(p.$(".md-panel").hidden, true);
  assert.equal(p.$(".md-panel").getAttribute("role"), "dialog");
  assert.equal(p.$(".md-panel").getAttribute("aria-labelledby"), "md-title");
  assert.equal(p.$("#md-title").textContent, "Chat with us");
  // Colours reach the CSS through custom properties on the host.
  assert.equal(hosts[0].style.getPropertyValue("--md-accent"), "#1d4ed8");
});

test("ui: opening shows the pre-chat form: every control labelled, required marked, focus on the first empty field", async () => {
  const p = page();
  p.$(".md-launcher").click();
  assert.equal(p.$(".md-launcher").getAttribute("aria-expanded"), "true");
  assert.equal(p.$(".md-panel").hidden, false);
  await settle();
  const controls = p.$$(".md-form input, .md-form textarea, .md-form select");
  assert.deepEqual(controls.map((c) => c.name), ["name", "email", "question"]);
  for (const c of controls) {
    const label = p.root.querySelector(`label[for="${c.id}"]`);
    assert.ok(label, `label for ${c.name}`);
    assert.equal(c.getAttribute("aria-required"), "true");
  }
  assert.equal(p.root.querySelector('label[for="md-form-f1"]').textContent.replace(" *", ""), "Your name");
  assert.equal(controls[0].value, "Ann", "prefilled");
  assert.equal(controls[1].type, "email");
  assert.equal(controls[2].tagName, "TEXTAREA");
  assert.equal(p.root.activeElement, controls[1], "focus on the first empty field");
  assert.equal(p.$(".md-instructions").textContent, "Tell us about your question.");
});

test("ui: an invalid form shows errors at the fields and a summary, and focuses the first invalid field", async () => {
  const p = page();
  p.$(".md-launcher").click();
  await settle();
  const email = p.$("input[name=email]");
  p.type(email, "not-an-email");
  p.$(".md-form button[type=submit]").click();
  await settle();
  assert.equal(email.getAttribute("aria-invalid"), "true");
  const err = p.root.getElementById(email.getAttribute("aria-describedby").split(" ").at(-1));
  assert.equal(err.textContent, "Please enter a valid email address, like name@example.com.");
  assert.equal(err.hidden, false);
  assert.equal(p.$("textarea[name=question]").getAttribute("aria-invalid"), "true");
  const summary = p.$(".md-form-error");
  assert.equal(summary.getAttribute("role"), "alert");
  assert.equal(summary.textContent, "Please correct the highlighted fields.");
  assert.equal(p.root.activeElement, email);
});

test("ui: the chat: queue banner, log region, safe links, agent notices, typing, time stamps", async () => {
  const p = page();
  const room = await openAndStart(p);
  const banner = p.$(".md-banner");
  assert.equal(banner.getAttribute("role"), "status");
  assert.equal(banner.textContent, "You are number 2 in the queue.Estimated wait: about 4 min.");
  const log = p.$("[role=log]");
  assert.equal(log.getAttribute("aria-live"), "polite");
  assert.equal(log.firstChild.tagName, "OL", "the messages are a list inside the log region");
  assert.equal(p.root.activeElement, p.$("#md-input"), "focus moves to the composer");
  assert.equal(p.root.querySelector('label[for="md-input"]').textContent, "Your message");

  p.server.agentJoin(room, "Alex");
  p.server.agentTyping(room, "composing");
  await settle();
  assert.equal(p.$(".md-typing").textContent, "Alex is typing…");
  assert.equal(banner.textContent, "You are chatting with Alex.");
  p.server.agentSay(room, 'Hi 👋 <img src=x onerror="alert(1)"> see https://example.org/refunds. or javascript:alert(1)');
  await settle();
  assert.equal(p.$(".md-typing").textContent, "");
  const items = p.$$(".md-log > li");
  assert.equal(items[0].className, "md-notice");
  assert.match(items[0].textContent, /^Alex joined the chat\./);
  const msg = items[1];
  assert.equal(msg.className, "md-msg md-agent");
  assert.equal(msg.querySelector(".md-nick").textContent, "Alex");
  assert.ok(msg.querySelector("time").getAttribute("datetime").endsWith("Z"));
  assert.equal(msg.querySelector("img"), null, "no HTML from messages");
  const links = [...msg.querySelectorAll("a")];
  assert.deepEqual(links.map((a) => a.getAttribute("href")), ["https://example.org/refunds"]);
  assert.equal(links[0].getAttribute("rel"), "noopener noreferrer nofollow");
  assert.match(msg.querySelector(".md-bubble").textContent, /^Hi 👋 <img src=x onerror="alert\(1\)"> see https:\/\/example.org\/refunds\. or javascript:alert\(1\)$/);
});

test("ui: Enter sends, Shift+Enter does not; own messages show as pending then sent", async () => {
  const p = page();
  const room = await openAndStart(p);
  const input = p.$("#md-input");
  p.type(input, "first line");
  p.key(input, "Enter", { shiftKey: true });
  assert.equal(p.$$(".md-me").length, 0);
  p.type(input, "Thanks 🙏");
  p.key(input, "Enter");
  assert.equal(input.value, "");
  const mine = p.$(".md-me");
  assert.equal(mine.querySelector(".md-bubble").textContent, "Thanks 🙏");
  assert.equal(mine.querySelector(".md-nick").textContent, "You");
  await settle();
  assert.equal(p.$(".md-me .md-msg-state").hidden, true, "sent: no state line");
  assert.deepEqual(p.server.customerMessages(room).map((m) => m.getChildText("body")), ["Thanks 🙏"]);
  // The typing notice went out while typing.
  assert.ok(p.server.sentBy((e) => e.name === "message" && e.getChild("composing")).length >= 1);
});

test("ui: Escape closes and returns focus to the launcher; unread count while closed", async () => {
  const p = page();
  const room = await openAndStart(p);
  p.key(p.$("#md-input"), "Escape");
  assert.equal(p.$(".md-panel").hidden, true);
  assert.equal(p.root.activeElement, p.$(".md-launcher"));
  p.server.agentJoin(room);
  p.server.agentSay(room, "are you there?");
  p.server.agentSay(room, "hello?");
  await settle();
  assert.equal(p.$(".md-badge").textContent, "2");
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us (2 unread)");
  p.$(".md-launcher").click();
  assert.equal(p.$(".md-badge").hidden, true);
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us");
});

test("ui: connection lost shows a banner with 'retry now'; it reconnects", async () => {
  const p = page();
  await openAndStart(p);
  p.server.dropAll();
  await settle();
  const conn = p.$(".md-conn");
  assert.match(conn.textContent, /Connection lost\. Reconnecting/);
  const retry = conn.querySelector("button");
  assert.equal(retry.textContent, "Retry now");
  retry.click();
  await settle();
  assert.equal(conn.textContent, "");
  assert.equal(p.session.state.link, "online");
});

test("ui: ending the chat asks first, then shows the end, the rating and the transcript", async () => {
  const p = page();
  const room = await openAndStart(p);
  p.server.agentJoin(room);
  p.server.agentSay(room, "Done ✅");
  await settle();
  const endBtn = p.$$(".md-actions button").find((b) => b.textContent === "End chat");
  endBtn.click();
  const confirm = p.$(".md-confirm");
  assert.equal(confirm.hidden, false);
  assert.equal(p.root.activeElement.textContent, "Yes, end chat");
  p.key(p.root.activeElement, "Escape");
  assert.equal(confirm.hidden, true, "Escape backs out of the question");
  assert.equal(p.$(".md-panel").hidden, false);
  endBtn.click();
  p.root.activeElement.click();
  await p.clock.advance(100);
  await settle();
  assert.equal(p.session.state.phase, "ended");
  assert.equal(p.$(".md-composer").hidden, true);
  assert.equal(p.$(".md-ended").hidden, false);
  assert.equal(p.$(".md-banner").textContent, "This chat has ended.");
  assert.equal(p.root.activeElement, p.$(".md-banner"), "focus moved to say why the composer went away");
  // Rating: five labelled radio buttons.
  const stars = p.$$(".md-stars input[type=radio]");
  assert.equal(stars.length, 5);
  assert.deepEqual(stars.map((s) => p.root.querySelector(`label[for="${s.id}"]`).textContent.replace("★", "")).sort(), ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]);
  assert.equal(p.$(".md-rating legend").textContent, "How was this chat?");
  p.$(".md-rating button[type=submit]").click();
  await settle();
  assert.equal(p.$(".md-rating .md-error").textContent, "Please choose a number of stars.");
  p.$("#md-star-4").checked = true;
  p.type(p.$("#md-rating-comment"), "Quick and kind");
  p.$(".md-rating button[type=submit]").click();
  await settle();
  assert.equal(p.$(".md-rating .md-thanks").hidden, false);
  assert.equal(p.$(".md-rating .md-thanks").textContent, "Thank you for your feedback!");
  assert.equal(p.server.tickets.get(41).rating, 4);
  assert.equal(p.server.tickets.get(41).comment, "Quick and kind");
  // Transcript: built from what the panel shows.
  const { name, text } = p.widget.ui.downloadTranscript();
  assert.match(name, /^chat-41-\d{8}\.txt$/);
  assert.match(text, /Alex: Done ✅/);
  assert.match(text, /\* Alex joined the chat\./);
});

test("ui: the desk closing the room shows the end with its reason", async () => {
  const p = page();
  const room = await openAndStart(p);
  p.server.destroyRoom(room, "Your issue was resolved.");
  await settle();
  assert.equal(p.$(".md-banner").textContent, "This chat has ended.Your issue was resolved.");
  assert.equal(p.$$(".md-log .md-status").at(-1).firstChild.textContent, "The chat was closed: Your issue was resolved.");
  p.$$(".md-ended button").find((b) => b.textContent === "Start a new chat").click();
  await settle();
  assert.ok(p.$(".md-form"), "a fresh form");
});

test("ui: outside hours: the leave-a-message form, then a thank-you with the reference", async () => {
  const p = page({ server: new FakeServer({ offline: true }) });
  p.$(".md-launcher").click();
  await settle();
  assert.deepEqual(p.$$(".md-scroll h3").map((h) => h.textContent), ["Leave a message"], "the queue's title, not two");
  assert.equal(p.$(".md-form button[type=submit]").textContent, "Send message");
  p.type(p.$("input[name=email]"), "ann@example.org");
  p.type(p.$("textarea[name=question]"), "Call me back");
  p.$(".md-form button[type=submit]").click();
  await settle();
  assert.equal(p.$(".md-ended-title").textContent, "Thank you, we have your message.");
  assert.match(p.$(".md-scroll").textContent, /Your reference number is 41\./);
});

test("ui: every text can be replaced (a French page)", async () => {
  const p = page({ lang: "fr", texts: { launcherLabel: "Discuter avec nous", title: "Discutons", startChat: "Commencer", send: "Envoyer", queuePosition: "Vous êtes n° {position} dans la file.", waitMinutes: "Attente estimée : environ {minutes} min." } });
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Discuter avec nous");
  assert.equal(p.doc.querySelector("#mucdesk-widget").getAttribute("lang"), "fr");
  await openAndStart(p);
  assert.equal(p.$("#md-title").textContent, "Discutons");
  assert.equal(p.$(".md-composer button").textContent, "Envoyer");
  assert.equal(p.$(".md-banner").textContent, "Vous êtes n° 2 dans la file.Attente estimée : environ 4 min.");
});

test("ui: after a reload the panel reopens on the same conversation", async () => {
  const store = mapStore();
  const server = new FakeServer();
  const first = page({ store, server });
  const room = await openAndStart(first);
  server.agentJoin(room);
  server.agentSay(room, "kept across reloads");
  await settle();
  first.widget.destroy();
  const second = page({ store, server });
  assert.equal(second.$(".md-panel").hidden, false, "it was open: it opens again");
  await settle();
  const texts = second.$$(".md-log .md-bubble").map((b) => b.textContent);
  assert.deepEqual(texts, ["kept across reloads"]);
  assert.equal(second.$$(".md-notice").length, 1, "the agent's join is not announced twice");
});

test("ui: a message the room refuses offers 'try again'", async () => {
  const p = page();
  const room = await openAndStart(p);
  const item = p.session.sendMessage("x");
  p.session.timeline.markFailed(item.originId);
  const failed = p.$(".md-failed");
  assert.ok(failed);
  assert.match(failed.querySelector(".md-msg-state").textContent, /^Not delivered\./);
  assert.equal(failed.querySelector("button").textContent, "Try again");
  assert.ok(room);
});
