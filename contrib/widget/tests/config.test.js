import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, storageKey } from "../src/config.js";
import { DEFAULT_TEXTS, format, mergeTexts, textsFor } from "../src/texts.js";

const good = {
  websocket: "ws://127.0.0.1:5280/xmpp-websocket",
  domain: "anon.localhost",
  queue: "billing@support.localhost",
};

test("config: the three required attributes are enough; service defaults to the queue's domain", () => {
  const { config, problems } = parseConfig(good);
  assert.deepEqual(problems, []);
  assert.equal(config.websocket, "ws://127.0.0.1:5280/xmpp-websocket");
  assert.equal(config.domain, "anon.localhost");
  assert.equal(config.queue, "billing@support.localhost");
  assert.equal(config.service, "support.localhost");
  assert.equal(config.position, null, "the corner follows the language's direction (launcher-ui.js)");
  assert.equal(config.lang, null, "the language is chosen from the page and the browser (lang.js)");
  assert.equal(config.languages, null);
  assert.equal(config.open, false);
  assert.equal(config.sound, false, "no sound unless asked for");
  assert.deepEqual(config.texts, { all: {}, byLang: {} });
  assert.equal(storageKey(config), "mucdesk:billing@support.localhost");
});

test("config: missing or malformed required attributes are fatal, with the attribute named", () => {
  const { problems } = parseConfig({});
  assert.deepEqual(problems.filter((p) => p.fatal).map((p) => p.key).sort(), ["domain", "queue", "websocket"]);
  const bad = parseConfig({ websocket: "http://x/ws", domain: "a b", queue: "support.localhost" });
  assert.equal(bad.problems.filter((p) => p.fatal).length, 3);
  assert.match(bad.problems[0].message, /data-websocket must be a ws:\/\/ or wss:\/\/ URL/);
  assert.match(bad.problems.find((p) => p.key === "queue").message, /bare JID/);
});

test("config: optional attributes: service, lang, colours, position, open, z-index", () => {
  const { config, problems } = parseConfig({
    ...good,
    service: "Support.Example.org",
    queue: "Billing@support.localhost",
    lang: "fr-CA",
    color: "#0a7",
    colorText: "rgb(255, 255, 255)",
    position: "left",
    open: "",
    zIndex: "1000",
  });
  assert.deepEqual(problems, []);
  assert.equal(config.service, "support.example.org");
  assert.equal(config.queue, "billing@support.localhost");
  assert.equal(config.lang, "fr-CA");
  assert.equal(config.color, "#0a7");
  assert.equal(config.colorText, "rgb(255, 255, 255)");
  assert.equal(config.position, "left");
  assert.equal(config.open, true);
  assert.equal(config.zIndex, 1000);
});

test("config: colours that could break out of CSS are refused with a warning", () => {
  for (const c of ["red;} body{display:none", "url(javascript:x)", "#fff;", "expression(alert(1))"]) {
    const { config, problems } = parseConfig({ ...good, color: c });
    assert.equal(config.color, "#1d4ed8", c);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].fatal, false);
  }
});

test("config: texts from data-texts JSON, then data-text-KEY, for every language or for one; unknown keys warned when the chat loads", () => {
  const { config, problems } = parseConfig({
    ...good,
    texts: JSON.stringify({ title: "Discutez avec nous", send: "Envoyer", nope: "x", de: { send: "Abschicken" } }),
    textSend: "Envoyer !",
    textAgentJoined: "{name} a rejoint la discussion.",
  });
  assert.deepEqual(problems, [], "the launcher does not know the text keys: it stays small");
  assert.deepEqual(config.texts.byLang, { de: { send: "Abschicken" } });
  const fr = textsFor("fr", null, config.texts);
  assert.equal(fr.texts.title, "Discutez avec nous");
  assert.equal(fr.texts.send, "Envoyer !");
  assert.equal(fr.texts.agentJoined, "{name} a rejoint la discussion.");
  assert.equal(fr.texts.endChat, DEFAULT_TEXTS.endChat);
  assert.deepEqual(fr.unknown, ["nope"]);
  // German: the site's German text wins over its texts for every language.
  assert.equal(textsFor("de", null, config.texts).texts.send, "Abschicken");
});

test("config: data-lang, data-languages and data-sound", () => {
  const { config, problems } = parseConfig({ ...good, lang: "auto", languages: "de, fr-CH en xx", sound: "on" });
  assert.equal(config.lang, null, "auto: chosen from the page and the browser");
  assert.deepEqual(config.languages, ["de", "fr", "en"]);
  assert.equal(config.sound, true);
  assert.deepEqual(problems.map((p) => p.message), ['data-languages: the widget has no "xx" texts']);
  assert.equal(parseConfig({ ...good, lang: "de_DE" }).problems[0].key, "lang");
});

test("config: broken JSON is a warning, not a crash", () => {
  const { config, problems } = parseConfig({ ...good, texts: "{title:", prefill: "[1]" });
  assert.deepEqual(config.texts, { all: {}, byLang: {} });
  assert.equal(problems.length, 2);
  assert.ok(problems.every((p) => !p.fatal));
});

test("config: prefill from data-prefill JSON and data-prefill-VAR (kebab-case vars)", () => {
  const { config } = parseConfig({ ...good, prefill: '{"name":"Ann","age":3}', prefillEmail: "ann@example.org", prefillOrderId: "A-1" });
  assert.deepEqual(config.prefill, { name: "Ann", age: "3", email: "ann@example.org", "order-id": "A-1" });
});

test("texts: format fills placeholders and leaves unknown ones", () => {
  assert.equal(format("{name} joined {x}", { name: "Alex" }), "Alex joined {x}");
  assert.equal(format("{n}{n}", { n: 0 }), "00");
  const { texts, unknown } = mergeTexts({ send: "Go", bogus: "1" }, null, { send: 5 });
  assert.equal(texts.send, "Go");
  assert.deepEqual(unknown, ["bogus"]);
});
