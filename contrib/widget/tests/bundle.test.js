// The built bundle (dist/mucdesk-widget.js) as a page loads it: one classic
// <script> with data attributes.  contrib/widget/test builds it first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { JSDOM, VirtualConsole } from "jsdom";

const bundlePath = new URL("../dist/mucdesk-widget.js", import.meta.url);
const have = existsSync(bundlePath);

function load(attrs) {
  const errors = [];
  const vc = new VirtualConsole();
  vc.on("error", (...a) => errors.push(a.join(" ")));
  vc.on("warn", (...a) => errors.push(a.join(" ")));
  vc.on("jsdomError", (e) => errors.push(String(e && e.message)));
  const code = readFileSync(bundlePath, "utf8").replace(/<\/script/gi, "<\\/script");
  const html = `<!doctype html><html><head><script ${attrs}>${code}</script></head><body><p>page</p></body></html>`;
  const dom = new JSDOM(html, { runScripts: "dangerously", url: "https://shop.example/", pretendToBeVisual: true, virtualConsole: vc });
  return { dom, win: dom.window, errors };
}

const GOOD = 'data-websocket="ws://127.0.0.1:9/xmpp-websocket" data-domain="anon.localhost" data-queue="billing@support.localhost"';

test("bundle: one script tag mounts the widget and exposes window.MucdeskWidget", { skip: !have && "dist/ not built" }, async () => {
  const { win, errors } = load(GOOD);
  await new Promise((r) => win.document.readyState === "complete" ? r() : win.addEventListener("load", r));
  assert.deepEqual(errors, []);
  assert.equal(win.MucdeskWidget.ready, true);
  assert.match(win.MucdeskWidget.version, /^\d+\.\d+\.\d+/);
  const host = win.document.getElementById("mucdesk-widget");
  assert.ok(host && host.shadowRoot.querySelector(".md-launcher"));
  assert.ok(host.shadowRoot.querySelector("style").textContent.includes(".md-launcher"), "the CSS is inside");
  win.MucdeskWidget.destroy();
  assert.equal(win.document.getElementById("mucdesk-widget"), null);
  win.close();
});

test("bundle: a missing attribute is reported on the console and nothing mounts", { skip: !have && "dist/ not built" }, async () => {
  const { win, errors } = load('data-websocket="ws://x/ws" data-queue="billing@support.localhost"');
  await new Promise((r) => win.document.readyState === "complete" ? r() : win.addEventListener("load", r));
  assert.equal(win.document.getElementById("mucdesk-widget"), null);
  assert.ok(errors.some((e) => /mucdesk widget: data-domain/.test(e)), errors.join("\n"));
  win.close();
});
