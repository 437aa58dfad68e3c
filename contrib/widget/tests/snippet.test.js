import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";
import { parseConfig } from "../src/config.js";
import { widgetSnippet } from "../src/snippet.js";

const vectors = JSON.parse(readFileSync(new URL("./snippet-vectors.json", import.meta.url), "utf8"));

for (const v of vectors) {
  test(`snippet: ${v.name}`, () => {
    assert.equal(widgetSnippet(v.input), v.output);
  });
}

test("snippet: pasted into a page, it yields exactly the configuration it was made from", () => {
  for (const v of vectors) {
    const { document } = new JSDOM(`<!doctype html><body>${v.output}</body>`).window;
    const s = document.querySelector("script");
    assert.equal(s.getAttribute("src"), v.input.scriptUrl);
    assert.equal(s.defer, true);
    assert.deepEqual({ ...s.dataset }, { websocket: v.input.websocket, domain: v.input.domain, service: v.input.service, queue: v.input.queue });
  }
  const { config, problems } = parseConfig({ ...new JSDOM(`<body>${vectors[0].output}</body>`).window.document.querySelector("script").dataset });
  assert.deepEqual(problems, []);
  assert.equal(config.queue, "billing@support.localhost");
});
