// The widget's DOM in jsdom, driven like a keyboard user would, over the
// fake XMPP layer: labels, focus, live regions, safe links, the rating.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import { xml } from "@xmpp/xml";
import { parseConfig } from "../src/config.js";
import { pickLanguage } from "../src/lang.js";
import { textsFor } from "../src/texts.js";
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

function page({ texts = null, store = mapStore(), server = new FakeServer(), lang, locale = null, html = "<!doctype html><html><body><main><h1>Shop</h1></main></body></html>" } = {}) {
  const dom = new JSDOM(html, { url: "https://shop.example/cart", pretendToBeVisual: true });
  const win = dom.window;
  const dataset = { websocket: "ws://127.0.0.1:5280/xmpp-websocket", domain: "anon.localhost", queue: QUEUE, prefillName: "Ann" };
  if (texts) dataset.texts = JSON.stringify(texts);
  if (lang) dataset.lang = lang;
  const { config } = parseConfig(dataset);
  const clock = new ManualClock(Date.now());
  const language = lang ? pickLanguage({ configured: lang }) : null;
  const table = locale ? textsFor(language ? language.lang : "en", locale, config.texts).texts : null;
  const widget = createWidget({ win, doc: win.document, config, language, texts: table, transportFactory: server.factory, store, clock, backoff: {} });
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
  assert.equal(banner.textContent, "You are number 2 in the queue.Estimated wait: about 4 minutes.");
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
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chat with us (2 unread messages)");
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

test("ui: the desk closing the room: the end is said once", async () => {
  const p = page();
  const room = await openAndStart(p);
  p.server.agentJoin(room);
  p.server.agentSay(room, "Glad I could help.");
  await settle();
  // The desk's way (component/desk/chat.c desk_chat_end): "This chat has
  // ended. Thank you!" in the room with <desk event='closed'/>, the same
  // told to the customer alone, then the room destroyed for them with the
  // reason "The chat has ended".
  p.server.destroyRoom(room);
  await settle();
  assert.equal(p.$(".md-banner").textContent, "This chat has ended.");
  const panelText = p.$(".md-panel").textContent;
  assert.equal(panelText.split(/chat has ended/i).length - 1, 1, `said once: ${panelText}`);
  assert.deepEqual(p.$$(".md-log > li").map((li) => li.className), ["md-notice", "md-msg md-agent"], "nothing added to the conversation");
  const { text } = p.widget.ui.downloadTranscript();
  assert.equal(text.split("This chat has ended.").length - 1, 1, "the transcript ends with it, once");
  assert.match(text, /\* This chat has ended\.\n$/);
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

// ------------------------------------------------------------ languages

test("ui: a German customer: the widget's words, the desk's own questions and its desk events in German; times the German way", async () => {
  const de = (await import("../src/locales/de.js")).default;
  const p = page({ lang: "de-DE", locale: de });
  assert.equal(p.doc.getElementById("mucdesk-widget").getAttribute("lang"), "de-DE");
  assert.equal(p.$(".md-launcher").getAttribute("aria-label"), "Chatten Sie mit uns");
  p.$(".md-launcher").click();
  await settle();
  const labels = p.$$(".md-form label").map((l) => l.textContent.replace(" *", ""));
  assert.deepEqual(labels, ["Ihr Name", "E-Mail", "Ihre Frage"], "request-chat's own fields, worded by the widget");
  assert.equal(p.$(".md-instructions").textContent, "Tell us about your question.", "the queue's own text stays the queue's (its languages are the desk's: planned)");
  p.type(p.$("input[name=email]"), "ann@example.org");
  p.type(p.$("textarea[name=question]"), "Wo ist mein Paket?");
  p.$(".md-form button[type=submit]").click();
  await settle();
  const room = p.session.state.room;
  assert.equal(p.$(".md-banner").textContent, "Sie sind Nummer 2 in der Warteschlange.Voraussichtliche Wartezeit: etwa 4 Minuten.");
  p.server.status(room, "You are number 1 in the queue. Estimated wait: about 1 minute.", { event: "queue", position: "1", wait: "60" });
  await settle();
  assert.equal(p.$(".md-banner").textContent, "Sie sind als Nächstes an der Reihe.Voraussichtliche Wartezeit: etwa 1 Minute.", "the desk event, not its English body");
  p.server.agentJoin(room);
  p.server.agentSay(room, "Hallo!");
  await settle();
  assert.equal(p.$(".md-banner").textContent, "Sie chatten mit Alex.");
  assert.match(p.$(".md-notice").textContent, /^Alex ist dem Chat beigetreten\./);
  const time = p.$(".md-agent time");
  assert.equal(time.textContent, new Intl.DateTimeFormat("de-DE", { hour: "numeric", minute: "2-digit" }).format(new Date(time.getAttribute("datetime"))));
  assert.match(time.textContent, /^\d{1,2}:\d\d$/, "24-hour clock");
  assert.equal(p.$(".md-composer button").textContent, "Senden");
  p.server.destroyRoom(room);
  await settle();
  assert.equal(p.$(".md-banner").textContent, "Dieser Chat ist beendet.");
  assert.equal(p.$$('.md-stars label span[aria-hidden="true"] + span').map((s) => s.textContent).join("|"), "5 Sterne|4 Sterne|3 Sterne|2 Sterne|1 Stern");
});

test("ui: an Arabic customer: right to left, mirrored, Arabic plurals and digits", async () => {
  const ar = (await import("../src/locales/ar.js")).default;
  const p = page({ lang: "ar", locale: ar });
  const host = p.doc.getElementById("mucdesk-widget");
  assert.equal(host.getAttribute("dir"), "rtl");
  assert.equal(host.getAttribute("lang"), "ar");
  assert.equal(p.$(".md-root").getAttribute("dir"), "rtl");
  assert.equal(p.$(".md-root").dataset.position, "left", "the launcher on the end side of a right-to-left page");
  await openAndStart(p);
  const four = new Intl.NumberFormat("ar").format(4);
  assert.equal(p.$(".md-banner").textContent, `ترتيبك في قائمة الانتظار: ${new Intl.NumberFormat("ar").format(2)}.مدة الانتظار المتوقعة: ${four} دقائق تقريبًا.`);
  // Text from elsewhere (an agent writing English) keeps its own direction.
  p.server.agentJoin(p.session.state.room);
  p.server.agentSay(p.session.state.room, "Hello, how can I help?");
  await settle();
  assert.equal(p.$(".md-agent .md-bubble").getAttribute("dir"), "auto");
});

test("ui: a site's own texts for one language and for all", async () => {
  const de = (await import("../src/locales/de.js")).default;
  const p = page({ lang: "de", locale: de, texts: { title: "Hilfe & Service", de: { send: "Abschicken" }, fr: { send: "Expédier" } } });
  p.$(".md-launcher").click();
  await settle();
  assert.equal(p.$("#md-title").textContent, "Hilfe & Service");
  await openAndStart(p);
  assert.equal(p.$(".md-composer button").textContent, "Abschicken");
});

test("ui: a server's error text in another language than the customer's gives way to the widget's own words", async () => {
  const de = (await import("../src/locales/de.js")).default;
  const server = new FakeServer();
  server.requestErrors.push({ condition: "service-unavailable", text: "Chat is not available right now. Please try again in a few minutes." });
  const p = page({ lang: "de", locale: de, server });
  p.$(".md-launcher").click();
  await settle();
  p.type(p.$("input[name=email]"), "ann@example.org");
  p.type(p.$("textarea[name=question]"), "?");
  p.$(".md-form button[type=submit]").click();
  await settle();
  assert.equal(p.$(".md-form-error").textContent, "Der Chat ist gerade nicht verfügbar. Bitte versuchen Sie es später noch einmal.");
  // In English, the desk's own (more precise) words.
  const q = page({ server: Object.assign(new FakeServer(), { requestErrors: [{ condition: "service-unavailable", text: "Chat is not available right now. Please try again in a few minutes." }] }) });
  q.$(".md-launcher").click();
  await settle();
  q.type(q.$("input[name=email]"), "ann@example.org");
  q.type(q.$("textarea[name=question]"), "?");
  q.$(".md-form button[type=submit]").click();
  await settle();
  assert.equal(q.$(".md-form-error").textContent, "Chat is not available right now. Please try again in a few minutes.");
});

// ------------------------------------------------------------ what the desk sends

test("ui: a knowledge-base article ('Title?: URL' with XEP-0066) is a readable link, not 'Title?: https://…'", async () => {
  const p = page();
  const room = await openAndStart(p);
  p.server.agentJoin(room);
  const oob = (url, desc) => xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, url), desc ? xml("desc", {}, desc) : undefined);
  // As component/desk/canned_kb.c kb_send() writes it today.
  p.server.agentSay(room, "How do I get a refund?: https://example.org/help/refunds", "Alex", [oob("https://example.org/help/refunds")]);
  await settle();
  const card = p.$(".md-agent .md-card");
  assert.ok(card, "a link card");
  assert.equal(card.getAttribute("href"), "https://example.org/help/refunds");
  assert.equal(card.getAttribute("rel"), "noopener noreferrer nofollow");
  assert.equal(card.querySelector(".md-card-title").textContent, "How do I get a refund?");
  assert.equal(card.querySelector(".md-card-host").textContent, "example.org");
  assert.doesNotMatch(p.$(".md-agent .md-bubble").textContent, /\?:/);
  // With a <desc/> (planned on the desk's side), the title comes from it.
  p.server.agentSay(room, "https://example.org/help/returns", "Alex", [oob("https://example.org/help/returns", "Returns and exchanges")]);
  // A canned answer that is just a URL, and a message that says more than a title: as they are.
  p.server.agentSay(room, "https://example.org/status", "Alex", [oob("https://example.org/status")]);
  p.server.agentSay(room, "See https://a.example/x and then https://example.org/y", "Alex", [oob("https://example.org/y")]);
  p.server.agentSay(room, "Danger: javascript:alert(1)", "Alex", [oob("javascript:alert(1)")]);
  await settle();
  const bubbles = p.$$(".md-agent .md-bubble");
  assert.equal(bubbles[1].querySelector(".md-card-title").textContent, "Returns and exchanges");
  assert.equal(bubbles[2].querySelector(".md-card"), null);
  assert.equal(bubbles[2].querySelector("a").getAttribute("href"), "https://example.org/status");
  assert.equal(bubbles[3].querySelector(".md-card"), null);
  assert.equal(bubbles[3].textContent, "See https://a.example/x and then https://example.org/y");
  assert.equal(bubbles[4].querySelector("a"), null, "no javascript: link, ever");
  // The transcript keeps the words as sent.
  assert.match(p.widget.ui.downloadTranscript().text, /Alex: How do I get a refund\?: https:\/\/example\.org\/help\/refunds/);
});

test("ui: desk events planned on the desk's side are rendered when they come; without them, the English body", async () => {
  const de = (await import("../src/locales/de.js")).default;
  const p = page({ lang: "de", locale: de });
  const room = await openAndStart(p);
  // Planned: <desk event='requeued' reason='transfer|requeue'/>.
  p.server.status(room, "Your chat was passed to another team. Please wait for the next agent.", { event: "requeued", reason: "transfer" });
  p.server.status(room, "Please wait: the next available agent will take your chat.", { event: "requeued", reason: "requeue" });
  // Today (no event): the body as it is.
  p.server.status(room, "Please wait: the next available agent will take your chat.");
  // Planned: <desk event='details'/> with the answers as a result form.
  const details = xml(
    "x",
    { xmlns: "jabber:x:data", type: "result" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "urn:mucdesk:details")),
    xml("field", { var: "name", label: "Name" }, xml("value", {}, "Ann")),
    xml("field", { var: "question", label: "Question" }, xml("value", {}, "Wo ist mein Paket?")),
    xml("field", { var: "order", label: "Bestellnummer" }, xml("value", {}, "A-17")),
    xml("field", { var: "browser", type: "hidden" }, xml("value", {}, "Mozilla/5.0")),
  );
  p.server.status(room, "Ticket #41\nName: Ann\nQuestion: Wo ist mein Paket?", { event: "details" }, [details]);
  await settle();
  const items = p.$$(".md-log > li");
  assert.equal(items[0].firstChild.textContent, "Ihr Chat wurde an ein anderes Team weitergegeben. Bitte warten Sie auf den nächsten Mitarbeiter.");
  assert.equal(items[1].firstChild.textContent, "Bitte warten Sie: Der nächste freie Mitarbeiter übernimmt Ihren Chat.");
  assert.equal(items[2].firstChild.textContent, "Please wait: the next available agent will take your chat.", "graceful: the desk's English today");
  assert.equal(items[3].className, "md-details");
  assert.equal(items[3].querySelector("h3").textContent, "Ihre Anfrage");
  assert.deepEqual([...items[3].querySelectorAll("dt")].map((d) => d.textContent), ["Ihr Name", "Ihre Frage", "Bestellnummer"]);
  assert.deepEqual([...items[3].querySelectorAll("dd")].map((d) => d.textContent), ["Ann", "Wo ist mein Paket?", "A-17"]);
  // A rating the customer typed in the chat, taken by the desk (planned <desk event='rated'/>).
  p.server.status(room, "Thank you for your rating!", { event: "rated", rating: "5" });
  await settle();
  assert.equal(p.session.state.rating.state, "done");
  assert.equal(p.$$(".md-log > li").length, 4, "no English thank-you line");
});
