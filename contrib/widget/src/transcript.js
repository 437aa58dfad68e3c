// The transcript the customer downloads: plain UTF-8 text built from what
// the widget holds (the same items the panel shows, in the same order).

import { formatSize } from "./files.js";

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
 * items: timeline items; t: the translator (texts.js); meta: { ticket,
 * queue, exportedAt (ms), ended: {time, key} (the end, said once, at the
 * end), locale (for the export's date), offsetMinutes (null = local
 * time) }.  Each line: "[YYYY-MM-DD HH:MM] Name: text"; continuation lines
 * of a multi-line message are indented; notices are "* text".
 */
export function transcriptText(items, t, meta = {}) {
  const off = meta.offsetMinutes ?? null;
  const lines = [t("transcriptTitle")];
  if (meta.ticket) lines.push(t("transcriptTicket", { ticket: meta.ticket }));
  if (meta.queue) lines.push(t("transcriptQueue", { queue: meta.queue }));
  if (meta.exportedAt) lines.push(t("transcriptExported", { time: exportTime(meta.exportedAt, meta.locale, off) }));
  lines.push("");
  const when = (ms) => (ms ? `[${stamp(ms, off)}] ` : "");
  for (const it of items) {
    if (it.kind === "notice" || (it.kind === "status" && it.notice)) {
      lines.push(`${when(it.time)}* ${t(it.notice.key, it.notice.vars || {})}`);
      continue;
    }
    if (it.from === "me" && (it.state === "failed" || it.state === "upload")) continue; // never reached the agent
    const who = it.from === "me" ? t("you") : it.nick || t("support");
    const text = it.file && it.file.url ? `${it.file.name}${it.file.size ? ` (${formatSize(it.file.size, meta.locale || "en")})` : ""}: ${it.file.url}` : it.kind === "status" && it.details ? [t("detailsTitle"), ...it.details.map((f) => `${f.label}: ${f.value}`)].join("\n") : it.body;
    const body = String(text ?? "").split(/\r\n|\r|\n/);
    const edited = it.edited ? ` ${t("edited")}` : "";
    const w = when(it.time);
    const head = it.kind === "status" ? `${w}* ${body[0]}` : `${w}${who}: ${body[0]}`;
    lines.push(head + (body.length === 1 ? edited : ""));
    const indent = " ".repeat(Math.min(w.length + 2, 24));
    body.slice(1).forEach((l, i) => lines.push(indent + l + (i === body.length - 2 ? edited : "")));
  }
  if (meta.ended) lines.push(`${when(meta.ended.time)}* ${t(meta.ended.key)}`);
  return lines.join("\n") + "\n";
}

/**
 * The export's date and time in the customer's locale and time zone, the
 * zone named ("22. November 2026 um 10:03 (Europe/Berlin)").
 */
function exportTime(ms, locale, offsetMinutes) {
  if (offsetMinutes !== null || !locale) return stamp(ms, offsetMinutes);
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const text = new Intl.DateTimeFormat(locale, { dateStyle: "long", timeStyle: "short" }).format(new Date(ms));
    return zone ? `${text} (${zone})` : text;
  } catch {
    return stamp(ms, offsetMinutes);
  }
}

/** A file name for the transcript: chat-TICKET-YYYYMMDD.txt. */
export function transcriptFileName(ticket, ms) {
  const d = new Date(ms);
  const safe = String(ticket || "").replace(/[^A-Za-z0-9_-]/g, "");
  return `chat${safe ? "-" + safe : ""}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}.txt`;
}
