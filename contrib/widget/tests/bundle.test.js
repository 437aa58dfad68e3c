// The built widget (dist/, contrib/widget/test builds it first) as a page
// gets it: the launcher, one classic <script> with data attributes, within
// its byte budget (budget.json), holding neither the XMPP library nor the
// translations; the chat and each translation as ES modules beside it,
// loaded on demand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { JSDOM, VirtualConsole } from "jsdom";
import { FakeServer, QUEUE, settle } from "./support/fake-xmpp.js";

const dist = new URL("../dist/", import.meta.url);
const launcherPath = new URL("mucdesk-widget.js", dist);
const have = existsSync(launcherPath);
const skip = !have && "dist/ not built";
const files = have ? JSON.parse(readFileSync(new URL("mucdesk-widget/files.json", dist), "utf8")) : null;
const lazy = (f) => new URL(`mucdesk-widget/${f}`, dist);
const BUDGET = JSON.parse(readFileSync(new URL("../budget.json", import.meta.url), "utf8"));

function load(attrs) {
  const errors = [];
  const vc = new VirtualConsole();
  vc.on("error", (...a) => errors.push(a.join(" ")));
  vc.on("warn", (...a) => errors.push(a.join(" ")));
  vc.on("jsdomError", (e) => errors.push(String(e && e.message)));
  const code = readFileSync(launcherPath, "utf8").replace(/<\/script/gi, "<\\/script");
  const html = `<!doctype html><html><head><script ${attrs}>${code}</script></head><body><p>page</p></body></html>`;
  const dom = new JSDOM(html, { runScripts: "dangerously", url: "https://shop.example/", pretendToBeVisual: true, virtualConsole: vc });
  return { dom, win: dom.window, errors };
}

const GOOD = 'data-websocket="ws://127.0.0.1:9/xmpp-websocket" data-domain="anon.localhost" data-queue="billing@support.localhost"';

test(`bundle: the launcher is at most ${BUDGET.launcherGzipBytes} bytes gzipped (budget.json)`, { skip }, () => {
  const code = readFileSync(launcherPath);
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`launcher: ${code.length} bytes, ${gz} gzipped (budget ${BUDGET.launcherGzipBytes})`);
  assert.ok(gz <= BUDGET.launcherGzipBytes, `the launcher is ${gz} bytes gzipped, over its budget of ${BUDGET.launcherGzipBytes}: keep it small, or raise budget.json with a reason`);
});

test("bundle: the launcher holds no XMPP library, no chat, no translation; the chat holds them", { skip }, () => {
  const launcher = readFileSync(launcherPath, "utf8");
  const chat = readFileSync(lazy(files.chat[0]), "utf8");
  for (const marker of ["urn:ietf:params:xml:ns:xmpp-sasl", "request-chat", "md-composer", "Download transcript"]) {
    assert.ok(!launcher.includes(marker), `not in the launcher: ${marker}`);
    assert.ok(chat.includes(marker), `in the chat: ${marker}`);
  }
  assert.ok(!launcher.includes("Verlauf herunterladen"), "no German beyond the launcher's own name");
  assert.ok(launcher.includes("Chatten Sie mit uns"), "the launcher's name in German");
  assert.ok(!/[^\x00-\x7f]/.test(launcher), "the launcher is ASCII: its page may be in any encoding");
});

test("bundle: one translation file per language beside the chat, each the source's texts", { skip }, async () => {
  const langs = Object.keys(files.locales).sort();
  assert.deepEqual(langs, ["ar", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr", "uk", "zh"], "English is in the chat");
  const launcher = readFileSync(launcherPath, "utf8");
  for (const lang of langs) {
    assert.ok(launcher.includes(files.locales[lang]), `the launcher knows ${files.locales[lang]}`);
    const built = (await import(lazy(files.locales[lang]).href)).default;
    const source = (await import(`../src/locales/${lang}.js`)).default;
    assert.deepEqual(built, source, lang);
  }
  assert.equal(readdirSync(new URL("mucdesk-widget/locales/", dist)).filter((f) => f.endsWith(".js")).length, langs.length);
});

test("bundle: one script tag mounts the launcher and exposes window.MucdeskWidget; the chat is not loaded", { skip }, async () => {
  const { win, errors } = load(GOOD);
  await new Promise((r) => (win.document.readyState === "complete" ? r() : win.addEventListener("load", r)));
  assert.deepEqual(errors, []);
  assert.equal(win.MucdeskWidget.ready, true);
  assert.match(win.MucdeskWidget.version, /^\d+\.\d+\.\d+/);
  assert.equal(win.MucdeskWidget.loaded, "no");
  const host = win.document.getElementById("mucdesk-widget");
  assert.ok(host && host.shadowRoot.querySelector(".md-launcher"));
  assert.ok(host.shadowRoot.querySelector("style").textContent.includes(".md-launcher"), "the launcher's CSS is inside");
  assert.equal(host.shadowRoot.querySelector(".md-panel"), null);
  win.MucdeskWidget.destroy();
  assert.equal(win.document.getElementById("mucdesk-widget"), null);
  win.close();
});

test("bundle: a missing attribute is reported on the console and nothing mounts", { skip }, async () => {
  const { win, errors } = load('data-websocket="ws://x/ws" data-queue="billing@support.localhost"');
  await new Promise((r) => (win.document.readyState === "complete" ? r() : win.addEventListener("load", r)));
  assert.equal(win.document.getElementById("mucdesk-widget"), null);
  assert.ok(errors.some((e) => /mucdesk widget: data-domain/.test(e)), errors.join("\n"));
  win.close();
});

test("bundle: the built chat module mounts on a launcher and runs a chat (over the fake XMPP layer)", { skip }, async () => {
  const { mountChat } = await import(lazy(files.chat[0]).href);
  const { createLauncher } = await import("../src/launcher-ui.js");
  const { parseConfig } = await import("../src/config.js");
  const de = (await import(lazy(files.locales.de).href)).default;
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "https://shop.example/", pretendToBeVisual: true });
  const win = dom.window;
  const { config } = parseConfig({ websocket: "ws://127.0.0.1:9/ws", domain: "anon.localhost", queue: QUEUE });
  const language = { lang: "de", locale: "de", dir: "ltr" };
  const launcher = createLauncher({ doc: win.document, config, language, label: "Chatten Sie mit uns" });
  const server = new FakeServer();
  const widget = mountChat({ win, doc: win.document, config, language, locale: de, launcher, transportFactory: server.factory });
  launcher.button.click();
  await settle();
  assert.equal(launcher.root.querySelector(".md-form button[type=submit]").textContent, "Chat starten");
  assert.equal(launcher.root.querySelectorAll("style").length, 2, "the launcher's CSS and the chat's");
  widget.destroy();
  win.close();
});
