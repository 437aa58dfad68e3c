// Files in chats (issue 15) in Debian's Chromium against the real desk
// (PostgreSQL, Prosody, mucdesk with [http] and [upload], a scan command;
// a slixmpp agent; lib/env.mjs): the customer sends an image and a PDF
// (attach button, a pasted image), the agent receives body=URL with
// XEP-0066 and downloads the same bytes, the agent sends a file back; a
// file too big and a type not allowed are refused in the widget before any
// PUT; a file the scan holds is shown as being checked, then as refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LAYER, startEnv } from "./lib/env.mjs";
import { $, fillForm, shooter, stored, until, watchErrors } from "./lib/widget.mjs";

const RESULTS = process.env.BROWSER_RESULTS || join(process.cwd(), "results");
const shot = shooter(join(RESULTS, LAYER));
const AGENT = "Alex";
const MAX = 100000;

let env = null;
before(async () => {
  env = await startEnv(RESULTS, {
    logs: `${LAYER}/files`,
    upload: { max_file_size: MAX, max_ticket_bytes: 400000, types: "image/png,application/pdf,text/plain", scan: true },
  });
  await env.desk.call("agent_join_queue", {});
});
let failed = false;
after(async () => {
  if (env) await env.stop(failed);
});
const body = (fn) => async (t) => {
  try {
    await fn(t);
  } catch (e) {
    failed = true;
    throw e;
  }
};

// A real PNG (1×1, red), padded with a text chunk to a few kB.
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082",
  "hex",
);
const PDF = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(20000, 0x41), Buffer.from("\n%%EOF\n")]);
const sha = (b) => createHash("sha256").update(b).digest("hex");

test("files both ways: image and PDF up, the agent downloads them; the agent's file back; limits and the scan in the widget", body(async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  const puts = [];
  page.on("request", (r) => {
    if (r.method() === "PUT") puts.push(r.url());
  });
  await page.goto(env.url);
  await $(page, ".md-launcher").click();
  await $(page, ".md-form").waitFor();
  await fillForm(page, { question: "Here is my invoice" });
  await until(async () => (await stored(page))?.room, "the chat's room");
  const { room } = await stored(page);
  await env.desk.call("agent_accept", { room });
  await $(page, ".md-attach").waitFor();
  assert.equal(await $(page, ".md-composer input[type=file]").getAttribute("accept"), "image/png,application/pdf,text/plain");

  // An image through the attach button: a thumbnail; the agent gets body=URL + OOB and the bytes.
  await $(page, ".md-composer input[type=file]").setInputFiles({ name: "screen shot.png", mimeType: "image/png", buffer: PNG });
  const got = await env.desk.call("agent_expect_file", { room, nick: "Ann" });
  assert.equal(got.body, got.oob, "the URL as body");
  assert.match(got.oob, new RegExp(`^${env.desk.info.upload_url}upload/\\d+/[0-9a-f]{48}/screen%20shot\\.png$`));
  assert.equal(got.status, 200, "the scan let it through");
  assert.equal(got.sha256, sha(PNG));
  assert.equal(got.type, "image/png");
  const thumb = $(page, ".md-me img.md-file-thumb");
  await until(async () => (await thumb.count()) === 1 && (await thumb.evaluate((i) => i.complete && i.naturalWidth)) === 1, "the thumbnail loaded");
  assert.equal(await $(page, ".md-me a.md-file-image").getAttribute("href"), got.oob);
  await shot(page, "30-files-image");

  // A PDF: a download link with its name and size.
  await $(page, ".md-composer input[type=file]").setInputFiles({ name: "invoice.pdf", mimeType: "application/pdf", buffer: PDF });
  const pdf = await env.desk.call("agent_expect_file", { room, nick: "Ann" });
  assert.equal(pdf.sha256, sha(PDF));
  assert.match(pdf.disposition, /^attachment/);
  const link = $(page, ".md-me a.md-file-link", { hasText: "invoice.pdf" }).last();
  await until(async () => (await page.locator("#mucdesk-widget .md-me a.md-file-link:not(.md-file-image)").count()) === 1, "the PDF's link");
  assert.equal(await page.locator("#mucdesk-widget .md-me a.md-file-link:not(.md-file-image)").getAttribute("href"), pdf.oob);
  assert.equal(await page.locator("#mucdesk-widget .md-me a.md-file-link:not(.md-file-image) .md-file-size").textContent(), "20 kB");
  void link;
  assert.equal(puts.length, 2);

  // The agent sends a file back: shown as a link (text) and an image as a thumbnail.
  const back = await env.desk.call("agent_send_file", { room, name: "steps.txt", content_type: "text/plain", data_hex: Buffer.from("1. Open settings\n").toString("hex") });
  const agentLink = page.locator("#mucdesk-widget .md-agent a.md-file-link");
  await until(async () => (await agentLink.count()) === 1 && (await agentLink.getAttribute("href")) === back, "the agent's file");
  await until(async () => (await agentLink.locator(".md-file-size").count()) === 1, "its size (HEAD, after the scan)");
  assert.equal(await agentLink.locator(".md-file-name").textContent(), "steps.txt");
  const backImg = await env.desk.call("agent_send_file", { room, name: "arrow.png", content_type: "image/png", data_hex: PNG.toString("hex") });
  await until(async () => (await page.locator(`#mucdesk-widget .md-agent img.md-file-thumb[src="${backImg}"]`).count()) === 1, "the agent's image as a thumbnail");
  await shot(page, "31-files-agent");

  // Refused in the widget, in words, before any slot or PUT.
  const slotsBefore = ((await env.desk.call("mucdesk_log", {})).match(/: slot for /g) || []).length;
  await $(page, ".md-composer input[type=file]").setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(MAX + 1, 1) });
  await until(async () => (await $(page, ".md-file-error").textContent()) === "huge.png is too large: files up to 98 kB can be sent.", "the size refusal");
  await $(page, ".md-composer input[type=file]").setInputFiles({ name: "tool.zip", mimeType: "application/zip", buffer: Buffer.from("PK") });
  await until(async () => (await $(page, ".md-file-error").textContent()) === "tool.zip cannot be sent: files of this type are not accepted.", "the type refusal");
  await shot(page, "32-files-refused");
  assert.equal(puts.length, 2, "no PUT for either");
  assert.equal(((await env.desk.call("mucdesk_log", {})).match(/: slot for /g) || []).length, slotsBefore, "no slot asked");

  // A file the scan holds: "being checked", then, failed, "no longer available".
  const bad = Buffer.concat([Buffer.from("HELD-BAD"), Buffer.alloc(100, 0x20)]);
  await $(page, ".md-composer input[type=file]").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: bad });
  await until(async () => (await $(page, ".md-me .md-file-held").count()) === 1, "held while checked");
  assert.equal(await $(page, ".md-me .md-file-held .md-file-note").textContent(), "Being checked…");
  await shot(page, "33-files-held");
  await until(async () => (await $(page, ".md-me .md-file .md-file-note", { hasText: "no longer available" }).count()) === 1, "refused by the scan", 20000);
  const held = await env.desk.call("agent_expect_file", { room, nick: "Ann" });
  assert.equal(held.status, 404, "deleted");
  assert.equal(puts.length, 3);

  // The database holds each file event once.
  const rows = await env.desk.call("sql", { query: "SELECT count(*) FROM ticket_events WHERE kind='file'" });
  assert.equal(rows[0][0], "5");
  // The held file's 423 and 404 are the network's, not the page's errors.
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  await ctx.close();
}));
