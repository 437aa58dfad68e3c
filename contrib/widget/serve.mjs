#!/usr/bin/env node
// A tiny static server for the demo page: demo/ at /, the widget's files
// (dist/: the launcher /mucdesk-widget.js, the chunks it loads, maps, CSS)
// at their names.  The demo page's snippet is regenerated for the options
// given, so the page always talks to the server the quickstart started;
// ?lang=TAG serves it as a page in that language (?lang=none: none said).
// Text is sent gzipped (level 9, as a site would serve precompressed
// static files) to a browser that accepts it, so what the browser tests
// measure is what a customer's browser downloads.
//
//   node serve.mjs [--host 127.0.0.1] [--port 8080]
//        [--websocket ws://127.0.0.1:5280/xmpp-websocket] [--domain anon.localhost]
//        [--queue billing@support.localhost] [--service support.localhost]
//
// Loopback only by default; Ctrl-C (SIGINT) or SIGTERM stops it.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
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
const COMPRESS = new Set([".html", ".js", ".css", ".map", ".txt", ".svg", ".json"]);
const DIST = join(here, "dist");
const BEGIN = "<!-- mucdesk-snippet:begin -->";
const END = "<!-- mucdesk-snippet:end -->";

async function isFile(file) {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The file for a path: the widget's own from dist/, else the demo page's. */
async function page(path) {
  const rel = normalize(decodeURIComponent(path === "/" ? "/index.html" : path)).replace(/^(\.\.[/\\])+/, "");
  if (rel.includes("..")) return null;
  if (rel !== "/index.html" && (await isFile(join(DIST, rel)))) return { file: join(DIST, rel) };
  return { file: join(here, "demo", rel) };
}

const gzipped = new Map(); // file -> { mtimeMs, body }
async function compressed(file, body) {
  if (file.endsWith("index.html")) return gzipSync(body, { level: 9 }); // rewritten per request
  const { mtimeMs } = await stat(file);
  const hit = gzipped.get(file);
  if (hit && hit.mtimeMs === mtimeMs && hit.size === body.length) return hit.body;
  const gz = gzipSync(body, { level: 9 });
  gzipped.set(file, { mtimeMs, size: body.length, body: gz });
  return gz;
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
      let html = body.toString("utf8");
      // ?lang=de: the page in another language (the widget follows the
      // page's lang); ?lang=none: a page that says none (the widget
      // follows the browser's languages).  Right-to-left ones get dir=rtl.
      const lang = url.searchParams.get("lang");
      if (lang === "none") html = html.replace(/<html lang="[^"]*">/, "<html>");
      else if (lang && /^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/.test(lang))
        html = html.replace(/<html lang="[^"]*">/, `<html lang="${lang}"${/^(ar|fa|he|ur)\b/i.test(lang) ? ' dir="rtl"' : ""}>`);
      const a = html.indexOf(BEGIN);
      const b = html.indexOf(END);
      if (a >= 0 && b > a) {
        const snippet = widgetSnippet({ scriptUrl: "/mucdesk-widget.js", websocket: opt.websocket, domain: opt.domain, service, queue: opt.queue });
        body = Buffer.from(html.slice(0, a + BEGIN.length) + "\n" + snippet + html.slice(b), "utf8");
      }
    }
    // The chat and translations have content-hashed names: cached for good,
    // as a site should serve them; the launcher and the page are asked anew.
    const hashed = p.file.startsWith(join(DIST, "mucdesk-widget") + "/");
    const headers = { "content-type": type, "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache", "x-content-type-options": "nosniff", vary: "accept-encoding" };
    if (COMPRESS.has(extname(p.file)) && /\bgzip\b/.test(req.headers["accept-encoding"] || "")) {
      body = await compressed(p.file, body);
      headers["content-encoding"] = "gzip";
    }
    headers["content-length"] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    res.writeHead(e.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain" }).end(e.code === "ENOENT" ? "not found\n" : "error\n");
  }
});

server.listen(Number(opt.port), opt.host, () => {
  console.log(`mucdesk widget demo: http://${opt.host}:${server.address().port}/  (queue ${opt.queue}, ${opt.websocket})`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
