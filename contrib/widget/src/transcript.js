// The transcript the customer downloads: plain UTF-8 text built from what
// the widget holds (the same items the panel shows, in the same order).

import { format } from "./texts.js";

function pad(n) {
  return String(n).padStart(2, "0");
}

/** "2026-11-22 14:03" in the given time zone offset (minutes east of UTC; local by default). */
export function stamp(ms, offsetMinutes = null) {
  const d = new Date(ms);
  if (offsetMinutes === null) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  const u = new Date(ms + offsetMinutes * 60000);
  return `${u.getUTCFullYear()}-${pad(u.getUTCMonth() + 1)}-${pad(u.getUTCDate())} ${pad(u.getUTCHours())}:${pad(u.getUTCMinutes())}`;
}

/**
 * items: timeline items; texts: the texts table; meta: { ticket, queue,
 * exportedAt (ms), offsetMinutes (null = local time) }.
 * Each line: "[YYYY-MM-DD HH:MM] Name: text"; continuation lines of a
 * multi-line message are indented; notices are "* text".
 */
export function transcriptText(items, texts, meta = {}) {
  const off = meta.offsetMinutes ?? null;
  const lines = [texts.transcriptTitle];
  if (meta.ticket) lines.push(format(texts.transcriptTicket, { ticket: meta.ticket }));
  if (meta.queue) lines.push(format(texts.transcriptQueue, { queue: meta.queue }));
  if (meta.exportedAt) lines.push(format(texts.transcriptExported, { time: stamp(meta.exportedAt, off) }));
  lines.push("");
  for (const it of items) {
    const when = it.time ? `[${stamp(it.time, off)}] ` : "";
    if (it.kind === "notice") {
      lines.push(`${when}* ${format(texts[it.notice.key] ?? it.notice.key, it.notice.vars || {})}`);
      continue;
    }
    if (it.from === "me" && it.state === "failed") continue; // never reached the agent
    const who = it.from === "me" ? texts.you : it.nick || texts.support;
    const body = String(it.body ?? "").split(/\r\n|\r|\n/);
    const edited = it.edited ? ` ${texts.edited}` : "";
    const head = it.kind === "status" ? `${when}* ${body[0]}` : `${when}${who}: ${body[0]}`;
    lines.push(head + (body.length === 1 ? edited : ""));
    const indent = " ".repeat(Math.min(when.length + 2, 24));
    body.slice(1).forEach((l, i) => lines.push(indent + l + (i === body.length - 2 ? edited : "")));
  }
  return lines.join("\n") + "\n";
}

/** A file name for the transcript: chat-TICKET-YYYYMMDD.txt. */
export function transcriptFileName(ticket, ms) {
  const d = new Date(ms);
  const safe = String(ticket || "").replace(/[^A-Za-z0-9_-]/g, "");
  return `chat${safe ? "-" + safe : ""}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}.txt`;
}
