import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, storageKey } from "../src/config.js";
import { DEFAULT_TEXTS, format, mergeTexts } from "../src/texts.js";

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
  assert.equal(config.position, "right");
  assert.equal(config.open, false);
  assert.equal(config.texts.send, "Send");
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

test("config: texts from data-texts JSON, then data-text-KEY; unknown keys warned", () => {
  const { config, problems } = parseConfig({
    ...good,
    texts: JSON.stringify({ title: "Discutez avec nous", send: "Envoyer", nope: "x" }),
    textSend: "Envoyer !",
    textAgentJoined: "{name} a rejoint la discussion.",
  });
  assert.equal(config.texts.title, "Discutez avec nous");
  assert.equal(config.texts.send, "Envoyer !");
  assert.equal(config.texts.agentJoined, "{name} a rejoint la discussion.");
  assert.equal(config.texts.endChat, DEFAULT_TEXTS.endChat);
  assert.deepEqual(problems.map((p) => p.message), ['unknown text key "nope"']);
});

test("config: broken JSON is a warning, not a crash", () => {
  const { config, problems } = parseConfig({ ...good, texts: "{title:", prefill: "[1]" });
  assert.equal(config.texts.title, DEFAULT_TEXTS.title);
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
