#!/usr/bin/env node
// A tiny static server for the demo page: demo/ at /, the bundle at
// /mucdesk-widget.js (and .css, .js.map).  The demo page's snippet is
// regenerated for the options given, so the page always talks to the
// server the quickstart started.
//
//   node serve.mjs [--host 127.0.0.1] [--port 8080]
//        [--websocket ws://127.0.0.1:5280/xmpp-websocket] [--domain anon.localhost]
//        [--queue billing@support.localhost] [--service support.localhost]
//
// Loopback only by default; Ctrl-C (SIGINT) or SIGTERM stops it.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { widgetSnippet } from "./src/snippet.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const { values: opt } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
    websocket: { type: "string", default: "ws://127.0.0.1:5280/xmpp-websocket" },
    domain: { type: "string", default: "anon.localhost" },
    queue: { type: "string", default: "billing@support.localhost" },
    service: { type: "string" },
  },
});
const service = opt.service || opt.queue.slice(opt.queue.indexOf("@") + 1);

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};
const DIST = new Set(["/mucdesk-widget.js", "/mucdesk-widget.js.map", "/mucdesk-widget.css", "/mucdesk-widget.js.LEGAL.txt"]);
const BEGIN = "<!-- mucdesk-snippet:begin -->";
const END = "<!-- mucdesk-snippet:end -->";

async function page(path) {
  if (DIST.has(path)) return { file: join(here, "dist", path.slice(1)) };
  const rel = normalize(decodeURIComponent(path === "/" ? "/index.html" : path)).replace(/^(\.\.[/\\])+/, "");
  if (rel.includes("..")) return null;
  return { file: join(here, "demo", rel) };
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const p = await page(url.pathname);
    if (!p) {
      res.writeHead(404).end("not found\n");
      return;
    }
    let body = await readFile(p.file);
    const type = TYPES[extname(p.file)] || "application/octet-stream";
    if (p.file.endsWith("index.html")) {
      const html = body.toString("utf8");
      const a = html.indexOf(BEGIN);
      const b = html.indexOf(END);
      if (a >= 0 && b > a) {
        const snippet = widgetSnippet({ scriptUrl: "/mucdesk-widget.js", websocket: opt.websocket, domain: opt.domain, service, queue: opt.queue });
        body = Buffer.from(html.slice(0, a + BEGIN.length) + "\n" + snippet + html.slice(b), "utf8");
      }
    }
    res.writeHead(200, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    res.writeHead(e.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain" }).end(e.code === "ENOENT" ? "not found\n" : "error\n");
  }
});

server.listen(Number(opt.port), opt.host, () => {
  console.log(`mucdesk widget demo: http://${opt.host}:${server.address().port}/  (queue ${opt.queue}, ${opt.websocket})`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
