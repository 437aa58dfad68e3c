// Files in chats (issue 15): the limits checked before any upload, what
// file a message is about, the upload's state machine (slot, PUT with
// progress, the message with XEP-0066) over the fake XMPP layer and a
// fake XMLHttpRequest (the layer below http.js), and the rendering in jsdom:
// thumbnails, download links, progress, refusals, held files.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import { xml } from "@xmpp/xml";
import { parseConfig } from "../src/config.js";
import { checkFile, fileOf, fileType, formatSize, isUploadUrl } from "../src/files.js";
import { createHttp } from "../src/http.js";
import { buildGroupchat, parseRoomMessage, parseUploadService } from "../src/protocol.js";
import { createWidget } from "../src/widget.js";
import { FakeServer, ManualClock, QUEUE, SERVICE, mapStore, settle, wire } from "./support/fake-xmpp.js";

const TOKEN = "0123456789abcdef".repeat(3);
const UP = `http://files.test/upload/41/${TOKEN}/shot.png`;
const LIMITS = { maxFileSize: 100000, maxTicketSize: 150000, types: ["image/png", "image/jpeg", "application/pdf"] };

/** A fake window below http.js: XMLHttpRequest that the test answers, fetch for HEAD. */
function fakeNet() {
  const net = { puts: [], heads: [], headStatus: new Map() };
  class FakeXHR {
    constructor() {
      this.upload = {};
      this.headers = {};
      net.puts.push(this);
    }
    open(method, url) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(k, v) {
      this.headers[k] = v;
    }
    send(body) {
      this.body = body;
    }
    progress(loaded) {
      this.upload.onprogress({ lengthComputable: true, loaded, total: this.body.size });
    }
    answer(status) {
      this.status = status;
      if (status === 0) this.onerror();
      else this.onload();
    }
  }
  net.win = {
    XMLHttpRequest: FakeXHR,
    fetch: async (url, opts) => {
      net.heads.push({ url, ...opts });
      const status = net.headStatus.get(url) ?? 200;
      return { status, headers: { get: (h) => (h === "content-length" && status === 200 ? "4096" : null) } };
    },
  };
  net.http = createHttp(net.win);
  return net;
}

const file = (name, size, type) => ({ name, size, type });

// ------------------------------------------------------------------------ pure

test("files: limits before upload: empty, too big, a type not allowed, the chat's cap", () => {
  assert.equal(checkFile(file("a.png", 3000, "image/png"), LIMITS, 0), null);
  assert.deepEqual(checkFile(file("a.png", 0, "image/png"), LIMITS), { key: "fileEmpty", vars: { name: "a.png" } });
  assert.deepEqual(checkFile(file("big.png", 100001, "image/png"), LIMITS), { key: "fileTooBig", vars: { name: "big.png", maxBytes: 100000 } });
  assert.equal(checkFile(file("ok.png", 100000, "image/png"), LIMITS), null, "exactly the cap is allowed");
  assert.deepEqual(checkFile(file("x.exe", 10, "application/x-msdownload"), LIMITS), { key: "fileTypeRefused", vars: { name: "x.exe" } });
  assert.deepEqual(checkFile(file("c.pdf", 60000, "application/pdf"), LIMITS, 90001), { key: "fileChatFull", vars: { name: "c.pdf", maxBytes: 150000 } });
  assert.equal(checkFile(file("x.exe", 10, "application/x-msdownload"), { maxFileSize: 100, maxTicketSize: null, types: null }), null, "no type list announced: any type");
  assert.equal(fileType({ name: "Scan.PDF", type: "" }), "application/pdf", "no type from the browser: by the extension");
  assert.equal(fileType({ name: "a.bin", type: "" }), "application/octet-stream");
});

test("files: the service's limits from disco#info (XEP-0363 and mucdesk's fields)", async () => {
  const server = new FakeServer();
  server.upload = LIMITS;
  assert.deepEqual(parseUploadService(wire(xml("iq", { type: "result" }, server.discoInfo()))), LIMITS);
  server.upload = null;
  assert.equal(parseUploadService(wire(xml("iq", { type: "result" }, server.discoInfo()))), null, "no upload feature: no files");
});

test("files: what a message is about: OOB with the URL as body, an upload URL alone, the desk's file event; a page link is no file", () => {
  const room = "ticket-41@support.localhost";
  const msg = (...children) => parseRoomMessage(wire(xml("message", { from: `${room}/Alex`, type: "groupchat" }, ...children)), room);
  const oob = (url, desc) => xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, url), desc ? xml("desc", {}, desc) : undefined);
  assert.deepEqual(fileOf(msg(xml("body", {}, UP), oob(UP))), { url: UP, name: "shot.png", size: null, type: "image/png", event: false });
  assert.deepEqual(fileOf(msg(xml("body", {}, UP))), { url: UP, name: "shot.png", size: null, type: "image/png", event: false }, "a body that is just an upload URL");
  const other = "https://xmpp.example/share/abc/Invoice%20May.pdf";
  assert.equal(fileOf(msg(xml("body", {}, other), oob(other))).name, "Invoice May.pdf", "another service's file (Conversations, Gajim)");
  assert.equal(fileOf(msg(xml("body", {}, "https://help.example/refunds"), oob("https://help.example/refunds"))), null, "a canned URL to a page");
  assert.equal(fileOf(msg(xml("body", {}, "https://help.example/a.html"), oob("https://help.example/a.html"))), null);
  assert.equal(fileOf(msg(xml("body", {}, `Look: ${UP}`))), null, "text around the URL: a message");
  assert.equal(fileOf(msg(xml("body", {}, "javascript:alert(1)//a.png"), oob("javascript:alert(1)//a.png"))), null);
  const ev = msg(xml("body", {}, `shot.png (image/png, 3000 bytes, sha256 ab): ${UP}`), oob(UP, "shot.png"), xml("file", { xmlns: "urn:mucdesk:0", name: "shot.png", size: "3000", type: "image/png", sha256: "ab" }));
  assert.deepEqual(fileOf(ev), { url: UP, name: "shot.png", size: 3000, type: "image/png", event: true });
  assert.ok(isUploadUrl(UP));
  assert.ok(!isUploadUrl("http://files.test/upload/41/short/a.png"));
});

test("files: sizes the locale's way", () => {
  assert.equal(formatSize(12, "en"), "12 bytes");
  assert.equal(formatSize(3000, "en"), "2.9 kB");
  assert.equal(formatSize(10485760, "en"), "10 MB");
  assert.equal(formatSize(1536, "de"), "1,5 kB");
});

test("files: the message carries the URL as body and as XEP-0066 data", () => {
  const m = buildGroupchat("r@s", UP, "id1", UP);
  assert.equal(m.getChildText("body"), UP);
  assert.equal(m.getChild("x", "jabber:x:oob").getChildText("url"), UP);
  assert.equal(buildGroupchat("r@s", "hi", "id2").getChild("x", "jabber:x:oob"), undefined);
});

// ------------------------------------------------------------------------ the widget

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

async function chat({ upload = LIMITS } = {}) {
  const server = new FakeServer();
  server.upload = upload;
  const net = fakeNet();
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "https://shop.example/cart", pretendToBeVisual: true });
  const win = dom.window;
  const { config } = parseConfig({ websocket: "ws://127.0.0.1:5280/xmpp-websocket", domain: "anon.localhost", queue: QUEUE, prefillName: "Ann" });
  const clock = new ManualClock(Date.now());
  const store = mapStore();
  const widget = createWidget({ win, doc: win.document, config, transportFactory: server.factory, store, clock, backoff: {}, http: net.http });
  const root = widget.ui.root;
  const $ = (sel) => root.querySelector(sel);
  const $$ = (sel) => [...root.querySelectorAll(sel)];
  const p = { win, widget, root, $, $$, server, net, clock, session: widget.session, store };
  open.push(p);
  $(".md-launcher").click();
  await settle();
  const inputs = Object.fromEntries($$(".md-form input, .md-form textarea").map((i) => [i.name, i]));
  for (const [k, v] of Object.entries({ email: "ann@example.org", question: "Here is a screenshot" })) {
    inputs[k].value = v;
    inputs[k].dispatchEvent(new win.Event("input", { bubbles: true }));
  }
  $(".md-form button[type=submit]").click();
  await settle();
  p.room = p.session.state.room;
  server.agentJoin(p.room);
  await settle();
  return p;
}

const blob = (p, name, size, type) => new p.win.File([new Uint8Array(size)], name, { type });

test("files: the attach button appears once the service announced uploads, with its types", async () => {
  const p = await chat();
  const attach = p.$(".md-attach");
  assert.equal(attach.hidden, false);
  assert.equal(attach.getAttribute("aria-label"), "Attach a file");
  assert.equal(p.$(".md-composer input[type=file]").getAttribute("accept"), "image/png,image/jpeg,application/pdf");
  const none = await chat({ upload: null });
  assert.equal(none.$(".md-attach").hidden, true, "no upload service: no button");
  await none.session.sendFiles([blob(none, "a.png", 10, "image/png")]);
  assert.equal(none.$(".md-file-error").textContent, "Files cannot be sent in this chat.");
  assert.equal(none.server.slotRequests.length, 0);
});

test("files: too big, a type not allowed, too many at once: said in words, no slot asked, no PUT", async () => {
  const p = await chat();
  await p.session.sendFiles([blob(p, "huge.png", 100001, "image/png")]);
  assert.equal(p.$(".md-file-error").textContent, "huge.png is too large: files up to 98 kB can be sent.");
  assert.equal(p.$(".md-file-error").getAttribute("role"), "alert");
  await p.session.sendFiles([blob(p, "tool.exe", 10, "application/x-msdownload")]);
  assert.equal(p.$(".md-file-error").textContent, "tool.exe cannot be sent: files of this type are not accepted.");
  await p.session.sendFiles(Array.from({ length: 6 }, (_, i) => blob(p, `${i}.png`, 10, "image/png")));
  assert.equal(p.$(".md-file-error").textContent, "Send at most 5 files at a time.");
  assert.equal(p.server.slotRequests.length, 0);
  assert.equal(p.net.puts.length, 0);
  assert.equal(p.$$(".md-file").length, 0, "nothing in the conversation");
});

test("files: upload state machine: slot, PUT with progress, then body=URL + OOB; the reflection confirms it", async () => {
  const p = await chat();
  const f = blob(p, "shot.png", 3000, "image/png");
  const done = p.session.sendFiles([f]);
  await settle();
  // The slot: for this chat, with the file's name, size and type.
  assert.deepEqual(p.server.slotRequests.map((r) => [r.filename, r.size, r["content-type"], r.chat]), [["shot.png", "3000", "image/png", "ticket-41"]]);
  assert.equal(p.net.puts.length, 1);
  const xhr = p.net.puts[0];
  assert.equal(xhr.method, "PUT");
  assert.match(xhr.url, /^http:\/\/files\.test\/upload\/41\/a{47}1\/shot\.png$/);
  assert.equal(xhr.headers["Content-Type"], "image/png");
  assert.equal(xhr.body, f);
  const item = p.session.timeline.items.at(-1);
  assert.equal(item.file.state, "uploading");
  assert.equal(item.state, "upload", "not pending: nothing to resend while it uploads");
  xhr.progress(1500);
  await settle();
  assert.equal(p.$(".md-file progress").getAttribute("value"), "50");
  assert.equal(p.$(".md-file progress").getAttribute("aria-label"), "Sending shot.png");
  assert.equal(p.$(".md-file-progress").textContent, "50%");
  assert.equal(p.server.customerMessages(p.room).filter((m) => m.getChildText("body") === xhr.url).length, 0, "no message before the PUT is answered");
  xhr.answer(201);
  await done;
  await settle();
  const sent = p.server.customerMessages(p.room).filter((m) => m.getChildText("body") === xhr.url);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].getChild("x", "jabber:x:oob").getChildText("url"), xhr.url);
  assert.equal(item.state, "sent", "confirmed by the reflection");
  // Shown as a thumbnail that opens the image.
  const a = p.$(".md-me .md-file-link");
  assert.equal(a.getAttribute("href"), xhr.url);
  assert.equal(a.getAttribute("target"), "_blank");
  assert.equal(a.querySelector("img").getAttribute("src"), xhr.url);
  assert.equal(a.querySelector("img").getAttribute("alt"), "shot.png");
  assert.equal(p.net.heads.at(-1).url, xhr.url, "asked whether it can be shown");
  assert.equal(p.net.heads.at(-1).method, "HEAD");
  // The chat's cap counts what was sent.
  assert.equal(p.session.timeline.fileBytes(), 3000);
});

test("files: errors: the slot refused (service's words mapped), the PUT failing, retry", async () => {
  const p = await chat();
  p.server.slotErrors.push({ condition: "not-acceptable", text: "File too large: at most 100000 bytes are accepted", app: "file-too-large" });
  await p.session.sendFiles([blob(p, "a.png", 3000, "image/png")]);
  await settle();
  assert.equal(p.$(".md-file-failed .md-file-note").textContent, "a.png is too large: files up to 98 kB can be sent.");
  p.server.slotErrors.push({ condition: "resource-constraint", text: "This chat's files would exceed 150000 bytes" });
  await p.session.sendFiles([blob(p, "b.png", 3000, "image/png")]);
  await settle();
  assert.equal(p.$$(".md-file-failed .md-file-note")[1].textContent, "b.png cannot be sent: the files of this chat may not exceed 146 kB.");
  p.server.slotErrors.push({ condition: "forbidden", text: "You are not allowed to do that", type: "auth" });
  await p.session.sendFiles([blob(p, "c.png", 3000, "image/png")]);
  await settle();
  assert.equal(p.$$(".md-file-failed .md-file-note")[2].textContent, "Files cannot be sent in this chat right now.");
  assert.equal(p.net.puts.length, 0, "no PUT after a refused slot");
  // The PUT fails: HTTP error, then the network; "try again" uploads again.
  const done = p.session.sendFiles([blob(p, "d.pdf", 3000, "application/pdf")]);
  await settle();
  p.net.puts[0].answer(500);
  await done;
  await settle();
  const failed = p.$$(".md-file-failed").at(-1);
  assert.equal(failed.querySelector(".md-file-note").textContent, "The upload failed (error 500).");
  const retry = failed.querySelector("button");
  assert.equal(retry.textContent, "Try again");
  retry.click();
  await settle();
  assert.equal(p.net.puts.length, 2);
  p.net.puts[1].answer(0);
  await settle();
  assert.equal(p.$$(".md-file-failed").at(-1).querySelector(".md-file-note").textContent, "The upload was interrupted. Check your connection and try again.");
  p.$$(".md-file-failed").at(-1).querySelector("button").click();
  await settle();
  p.net.puts[2].answer(201);
  await settle();
  assert.equal(p.server.customerMessages(p.room).filter((m) => /d\.pdf$/.test(m.getChildText("body"))).length, 1, "sent once, after the retry");
  assert.equal(p.$$(".md-file-failed").length, 3);
});

test("files: a file the scan holds is shown as being checked, then as it is; a deleted one as gone", async () => {
  const p = await chat();
  const done = p.session.sendFiles([blob(p, "scan.png", 3000, "image/png")]);
  await settle();
  const url = p.net.puts[0].url;
  p.net.headStatus.set(url, 423);
  p.net.puts[0].answer(201);
  await done;
  await settle();
  assert.equal(p.$(".md-file-held .md-file-note").textContent, "Being checked…");
  assert.equal(p.$(".md-file-held img"), null, "no thumbnail while held");
  assert.equal(p.$(".md-file-held").textContent, "scan.png 2.9 kBBeing checked…");
  p.net.headStatus.set(url, 200);
  await p.clock.advance(2000);
  assert.equal(p.$(".md-file-held"), null);
  assert.ok(p.$(".md-me img.md-file-thumb"));
  // An agent's file that was deleted (failed scan, purge).
  const gone = `http://files.test/upload/41/${TOKEN}/virus.pdf`;
  p.net.headStatus.set(gone, 404);
  p.server.agentSay(p.room, gone, "Alex", [xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, gone))]);
  await settle();
  assert.equal(p.$(".md-agent .md-file .md-file-note").textContent, "This file is no longer available.");
  assert.equal(p.$(".md-agent .md-file").textContent, "virus.pdfThis file is no longer available.", "no size unknown written as anything");
  assert.equal(p.$(".md-agent .md-file a"), null);
});

test("files: an agent's image as a thumbnail, a PDF as a download link with name and size; never HTML", async () => {
  const p = await chat();
  const img = `http://files.test/upload/41/${TOKEN}/photo.jpg`;
  const pdf = `http://files.test/upload/41/${TOKEN}/Invoice%20%3Cb%3E.pdf`;
  const oob = (u) => xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, u));
  p.server.agentSay(p.room, img, "Alex", [oob(img)]);
  p.server.agentSay(p.room, pdf, "Alex", [oob(pdf)]);
  await settle();
  const links = p.$$(".md-agent .md-file-link");
  assert.equal(links.length, 2);
  assert.equal(links[0].querySelector("img").getAttribute("src"), img);
  assert.equal(links[1].getAttribute("href"), pdf);
  assert.equal(links[1].getAttribute("rel"), "noopener noreferrer nofollow");
  assert.equal(links[1].querySelector(".md-file-name").textContent, "Invoice <b>.pdf");
  assert.equal(links[1].querySelector("b"), null);
  assert.equal(links[1].querySelector(".md-file-size").textContent, "4 kB", "the size from the service's HEAD");
  // The transcript names the file and its URL.
  const { text } = p.widget.ui.downloadTranscript();
  assert.match(text, /Alex: Invoice <b>\.pdf \(4 kB\): http:\/\/files\.test\/upload\/41\/.*Invoice%20%3Cb%3E\.pdf/);
});

test("files: the desk's file event from MAM and the message with the same URL are one file", async () => {
  const p = await chat();
  const url = `http://files.test/upload/41/${TOKEN}/report.pdf`;
  const tl = p.session.timeline;
  const before = tl.items.length;
  tl.add({ kind: "message", fromSelf: false, nick: "Alex", body: `report.pdf (application/pdf, 20480 bytes, sha256 ab): ${url}`, time: 1, stanzaId: "file-1", file: { url, name: "report.pdf", size: 20480, type: "application/pdf", event: true } }, true);
  tl.add({ kind: "message", fromSelf: false, nick: "Alex", body: url, time: 2, stanzaId: "s-2", file: { url, name: "report.pdf", size: null, type: "application/pdf", event: false } }, true);
  assert.equal(tl.items.length, before + 1);
  assert.equal(tl.items.at(-1).file.size, 20480);
  assert.ok(tl.hasSeen("file-1") && tl.hasSeen("s-2"));
});

test("files: a drop onto the panel and a pasted image are sent", async () => {
  const p = await chat();
  const panel = p.$(".md-panel");
  const f = blob(p, "drop.png", 100, "image/png");
  const over = new p.win.Event("dragover", { bubbles: true, cancelable: true });
  over.dataTransfer = { types: ["Files"], files: [f] };
  panel.dispatchEvent(over);
  assert.ok(over.defaultPrevented);
  assert.ok(panel.classList.contains("md-dragging"));
  assert.equal(p.$(".md-drop-note").textContent, "Drop files here to send them");
  const drop = new p.win.Event("drop", { bubbles: true, cancelable: true });
  drop.dataTransfer = { types: ["Files"], files: [f] };
  panel.dispatchEvent(drop);
  await settle();
  assert.ok(!panel.classList.contains("md-dragging"));
  assert.equal(p.server.slotRequests.at(-1).filename, "drop.png");
  const paste = new p.win.Event("paste", { bubbles: true, cancelable: true });
  paste.clipboardData = { files: [blob(p, "image.png", 50, "image/png")] };
  p.$("#md-input").dispatchEvent(paste);
  await settle();
  assert.ok(paste.defaultPrevented);
  assert.equal(p.server.slotRequests.at(-1).filename, "image.png");
  assert.equal(p.server.slotRequests.at(-1).chat, "ticket-41");
  void SERVICE;
});
