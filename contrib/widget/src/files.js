// Files in chats (issue 15): what the upload service allows, the checks
// made before any byte is sent, what file a room message is about, and how
// a size is written.  Pure functions: session.js uploads, ui.js renders.
//
// The service (mucdesk's domain, XEP-0363) says its limits in its
// disco#info form (protocol.js parseUploadService): `max-file-size`, and in
// mucdesk's namespace the bytes per chat and the content types allowed
// (doc/protocol.md).  The widget refuses what the service would refuse,
// in the customer's language, before asking for a slot.

import { safeHref } from "./linkify.js";

/** At most this many files from one pick, drop or paste. */
export const MAX_FILES_AT_ONCE = 5;

// PUBLIC_URL/upload/TICKET/TOKEN/NAME: a file of mucdesk's service (the
// token is 192 random bits in hex, component/upload/README.md).
const UPLOAD_PATH = /\/upload\/\d+\/[0-9a-f]{48}\/([^/?#]+)$/;
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const TYPE_BY_EXTENSION = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
};
// A URL whose last segment has one of these is a page, not a file.
const PAGE_EXTENSIONS = new Set(["html", "htm", "php", "asp", "aspx", "jsp", "cgi"]);

function extensionOf(name) {
  const m = /\.([a-z0-9]{1,5})$/i.exec(String(name || ""));
  return m ? m[1].toLowerCase() : "";
}

/** Is this URL a file of a mucdesk upload service? */
export function isUploadUrl(url) {
  const href = safeHref(String(url || "").trim());
  return !!href && UPLOAD_PATH.test(new URL(href).pathname);
}

/** The file name a URL ends with, decoded ("file" when there is none). */
export function nameFromUrl(url) {
  try {
    const segs = new URL(url).pathname.split("/");
    const last = decodeURIComponent(segs[segs.length - 1] || "");
    return last || "file";
  } catch {
    return "file";
  }
}

/** The content type the widget declares for a file: the browser's, else by its extension. */
export function fileType(file) {
  const t = String(file.type || "").split(";")[0].trim().toLowerCase();
  return t || TYPE_BY_EXTENSION[extensionOf(file.name)] || "application/octet-stream";
}

/** Is this file an image the widget shows as a thumbnail? */
export function isImage(f) {
  if (f.type) return IMAGE_TYPES.has(String(f.type).toLowerCase());
  return IMAGE_TYPES.has(TYPE_BY_EXTENSION[extensionOf(f.name)] || "");
}

/**
 * Checks a file against the service's limits before any upload.
 * file: {name, size, type}; limits: {maxFileSize, maxTicketSize, types}
 * (null fields: not announced); used: the bytes this chat's files hold
 * already.  Returns null, or the refusal {key, vars} (vars.maxBytes: a
 * size for fileErrorText to write).
 */
export function checkFile(file, limits, used = 0) {
  const name = file.name;
  if (!(file.size > 0)) return { key: "fileEmpty", vars: { name } };
  if (limits.maxFileSize && file.size > limits.maxFileSize) return { key: "fileTooBig", vars: { name, maxBytes: limits.maxFileSize } };
  if (limits.types && !limits.types.includes(String(file.type).toLowerCase())) return { key: "fileTypeRefused", vars: { name } };
  if (limits.maxTicketSize && used + file.size > limits.maxTicketSize) return { key: "fileChatFull", vars: { name, maxBytes: limits.maxTicketSize } };
  return null;
}

/**
 * What file a room message (protocol.js parseRoomMessage) is about:
 * { url, name, size, type, event } or null.  A file is
 * - the desk's `file` event (MAM only: XEP-0066 data and <file/> with
 *   name, size, type): event = true;
 * - a message whose body is its XEP-0066 URL, when that URL is one of the
 *   upload service's or ends with a file name (a knowledge-base link or a
 *   canned URL to a page stays a link);
 * - a message whose body is just an upload URL of the service.
 */
export function fileOf(m) {
  const body = String(m.body || "").trim();
  const oob = m.oob && safeHref(m.oob.url) ? m.oob.url : null;
  const df = m.deskFile;
  if (df && oob) {
    const size = Number(df.size);
    return { url: oob, name: df.name || nameFromUrl(oob), size: Number.isFinite(size) && size > 0 ? size : null, type: df.type || null, event: true };
  }
  const url = oob && body === oob ? oob : !oob && isUploadUrl(body) ? body : null;
  if (!url) return null;
  const name = nameFromUrl(url);
  const ext = extensionOf(name);
  if (!isUploadUrl(url) && (!ext || PAGE_EXTENSIONS.has(ext))) return null;
  return { url, name, size: null, type: TYPE_BY_EXTENSION[ext] || null, event: false };
}

/** "2.5 MB", "300 kB", "12 bytes", the locale's way (Intl units, powers of 1024). */
export function formatSize(bytes, locale = "en") {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let v = Number(bytes) || 0;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i > 0 && v < 10 ? 1 : 0;
  try {
    return new Intl.NumberFormat(locale, { style: "unit", unit: units[i], unitDisplay: i ? "short" : "long", maximumFractionDigits: digits }).format(v);
  } catch {
    return `${v.toFixed(digits)} ${["bytes", "KB", "MB", "GB"][i]}`;
  }
}

/** The text of a file refusal ({key, vars}) with its sizes written out. */
export function fileErrorText(t, err, locale) {
  if (err.text) return err.text;
  const vars = { ...(err.vars || {}) };
  if (vars.maxBytes !== undefined) vars.max = formatSize(vars.maxBytes, locale);
  return t(err.key, vars);
}
