// converse.js (the npm package `converse.js`, its prebuilt dist/) on a
// local page, for converse.test.mjs.  serveConverse() is a small static
// server in this process, on a free loopback port:
//
//   /               a page that imports dist/converse.min.js (an ES module)
//                   and calls converse.initialize(window.CONVERSE_SETTINGS)
//                   (the test sets it with an init script before the page runs)
//   /dist/...       node_modules/converse.js/dist: the bundle's chunks
//                   (locales), CSS, fonts, images, emoji.json, sounds
//
// Anything else is a 404, so that a request converse.js makes to a place
// we do not serve shows up in the test's log.  No file leaves the package
// directory.  Helpers below read what converse shows in the page.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { HERE } from "./env.mjs";

export const DIST = join(HERE, "node_modules", "converse.js", "dist");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>converse.js against mucdesk</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dist/converse.min.css">
</head>
<body>
<script type="module" src="/dist/converse.min.js"></script>
<script type="module">window.converse.initialize(window.CONVERSE_SETTINGS);</script>
</body>
</html>
`;

/** Starts the server; resolves to { url, misses: [paths answered 404], close() }. */
export async function serveConverse() {
  const misses = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-store" }).end(PAGE);
      return;
    }
    const rel = normalize(path.slice("/dist/".length));
    if (path.startsWith("/dist/") && !rel.startsWith("..") && !rel.includes(`..${sep}`)) {
      try {
        const body = await readFile(join(DIST, rel));
        res.writeHead(200, { "content-type": TYPES[extname(rel)] || "application/octet-stream" }).end(body);
        return;
      } catch {
        // a 404 below
      }
    }
    misses.push(path);
    res.writeHead(404, { "content-type": "text/plain" }).end("not here\n");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    misses,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A new browser context and page running converse.js with these settings
 * (converse.initialize's), watched: every XMPP frame on its WebSocket
 * (frames: {dir: "sent"|"received", text}), requests leaving the machine
 * (offsite: aborted at once, there is no network), the page's uncaught
 * errors and console errors (errors), and a log of it all (log(line) is
 * called for each).  Returns { ctx, page, frames, offsite, errors }.
 */
export async function openConverse(browser, url, settings, log = () => {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(15000);
  const frames = [];
  const offsite = [];
  const errors = [];
  await ctx.route(/^(https?|wss?):\/\/(?!127\.0\.0\.1[:/])/, (route) => {
    offsite.push(route.request().url());
    log(`offsite request aborted: ${route.request().url()}`);
    return route.abort("blockedbyclient");
  });
  await ctx.addInitScript((s) => {
    window.CONVERSE_SETTINGS = s;
  }, settings);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => {
    errors.push(String(e));
    log(`page error: ${e}`);
  });
  page.on("console", (m) => {
    // The aborted offsite requests are reported above.
    if (m.type() === "error" && !/ERR_BLOCKED_BY_CLIENT/.test(m.text())) {
      errors.push(m.text());
      log(`console error: ${m.text()}`);
    }
  });
  page.on("requestfailed", (r) => {
    if (!offsite.includes(r.url())) log(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) log(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => frames.push({ dir: "sent", text: String(f.payload) }));
    ws.on("framereceived", (f) => frames.push({ dir: "received", text: String(f.payload) }));
  });
  await page.goto(url);
  return { ctx, page, frames, offsite, errors };
}

/** converse's view of a groupchat (its <converse-muc> element). */
export const mucView = (page, jid) => page.locator(`converse-muc[jid="${jid}"]`);

/**
 * The messages in a groupchat's main area as converse shows them, in
 * order: "Nick: text" (the nick from the sender's occupant JID).  Private
 * messages (in the occupant's panel) and info lines are not in it.
 */
export async function shownMessages(muc) {
  return muc.locator(".chat-area .chat-msg").evaluateAll((els) =>
    els.map((el) => `${(el.dataset.from || "").split("/").slice(1).join("/")}: ${el.querySelector(".chat-msg__text")?.textContent ?? ""}`),
  );
}

/** The first frame (after index `from`) that pred accepts; polls. */
export async function untilFrame(frames, pred, what, { from = 0, ms = 15000 } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    for (let i = from; i < frames.length; i++) if (pred(frames[i])) return { ...frames[i], index: i };
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for converse's stream to carry ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
