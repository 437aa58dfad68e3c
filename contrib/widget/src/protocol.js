// Builders and parsers for the stanzas the widget exchanges (see
// doc/widget-protocol.md).  Elements are @xmpp/xml (ltx) elements; nothing
// here touches the network or the DOM.

import { xml } from "@xmpp/xml";

export const NS = {
  COMMANDS: "http://jabber.org/protocol/commands",
  DATA: "jabber:x:data",
  MUC: "http://jabber.org/protocol/muc",
  MUC_USER: "http://jabber.org/protocol/muc#user",
  MAM: "urn:xmpp:mam:2",
  RSM: "http://jabber.org/protocol/rsm",
  FORWARD: "urn:xmpp:forward:0",
  DELAY: "urn:xmpp:delay",
  SID: "urn:xmpp:sid:0",
  CHATSTATES: "http://jabber.org/protocol/chatstates",
  PING: "urn:xmpp:ping",
  CORRECT: "urn:xmpp:message-correct:0",
  STANZAS: "urn:ietf:params:xml:ns:xmpp-stanzas",
  DESK: "urn:mucdesk:0",
  OOB: "jabber:x:oob",
  DISCO_INFO: "http://jabber.org/protocol/disco#info",
  UPLOAD: "urn:xmpp:http:upload:0",
};

export const CHAT_STATES = ["active", "composing", "paused", "inactive", "gone"];

export function bareJid(jid) {
  const s = String(jid || "");
  const slash = s.indexOf("/");
  return (slash < 0 ? s : s.slice(0, slash)).toLowerCase();
}

export function resourceOf(jid) {
  const s = String(jid || "");
  const slash = s.indexOf("/");
  return slash < 0 ? "" : s.slice(slash + 1);
}

// ---------------------------------------------------------------- ad-hoc

export function buildExecute(to, node, id) {
  return xml("iq", { type: "set", to, id }, xml("command", { xmlns: NS.COMMANDS, node, action: "execute" }));
}

/** Submits a form to a command session; action is "complete", "next" or "execute". */
export function buildCommandSubmit(to, node, sessionid, formElement, action = "complete", id) {
  return xml(
    "iq",
    { type: "set", to, id },
    xml("command", { xmlns: NS.COMMANDS, node, sessionid, action }, formElement),
  );
}

export function buildCommandCancel(to, node, sessionid, id) {
  return xml("iq", { type: "set", to, id }, xml("command", { xmlns: NS.COMMANDS, node, sessionid, action: "cancel" }));
}

/**
 * Reads an <iq type='result'> holding a <command/>.
 * Returns { status, sessionid, node, x (the jabber:x:data element or null),
 *           notes: [{type, text}], actions: {execute, allowed: []} }.
 */
export function parseCommandResponse(iq) {
  const cmd = iq && iq.getChild("command", NS.COMMANDS);
  if (!cmd) return null;
  const actionsEl = cmd.getChild("actions");
  const actions = { execute: null, allowed: [] };
  if (actionsEl) {
    actions.execute = actionsEl.attrs.execute || null;
    actions.allowed = actionsEl.children.filter((c) => typeof c !== "string").map((c) => c.name);
  }
  return {
    status: cmd.attrs.status || "completed",
    sessionid: cmd.attrs.sessionid || null,
    node: cmd.attrs.node || null,
    x: cmd.getChild("x", NS.DATA) || null,
    notes: cmd.getChildren("note").map((n) => ({ type: n.attrs.type || "info", text: n.text() })),
    actions,
  };
}

/**
 * Which action submits the form of a command response: XEP-0050 lets the
 * responder name the default (execute='...'); a single-stage command offers
 * "complete" or nothing.
 */
export function submitAction(response) {
  const { execute, allowed } = response.actions;
  if (execute) return execute;
  if (allowed.includes("complete")) return "complete";
  if (allowed.includes("next")) return "next";
  return "complete";
}

// ---------------------------------------------------------------- errors

/**
 * A stanza error as the widget reasons about it.  `condition` is the RFC
 * 6120 condition name ("timeout" for no answer, "disconnected" when the
 * link went down, "note" for a command that completed with a note of type
 * error); `text` is the server's human text, if any; `field` is the form
 * field the text names ("email: ..." names "email").
 */
export class XmppError extends Error {
  constructor(condition, text = "", type = "cancel", lang = null) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = "XmppError";
    this.condition = condition;
    this.text = text;
    this.type = type;
    this.lang = lang; // the xml:lang of the text, if the server said
    this.app = null; // an application condition's name (XEP-0363 file-too-large)
    const m = /^([a-zA-Z0-9_#.-]+):\s*(.+)$/s.exec(text || "");
    this.field = m ? m[1] : null;
    this.fieldText = m ? m[2] : null;
  }
}

/** Turns an <error/> element (or a stanza holding one) into an XmppError. */
export function parseError(el) {
  const err = el && (el.name === "error" ? el : el.getChild("error"));
  if (!err) return new XmppError("undefined-condition");
  let condition = "undefined-condition";
  let text = "";
  let lang = null;
  let app = null;
  for (const c of err.children) {
    if (typeof c === "string") continue;
    if (c.attrs.xmlns !== NS.STANZAS) {
      app = app || c.name;
      continue;
    }
    if (c.name === "text") {
      text = c.text();
      lang = c.attrs["xml:lang"] || null;
    } else condition = c.name;
  }
  const e = new XmppError(condition, text, err.attrs.type || "cancel", lang);
  e.app = app;
  return e;
}

/** Normalises whatever a transport or the iq caller threw into an XmppError. */
export function toXmppError(e) {
  if (e instanceof XmppError) return e;
  if (e && e.element && typeof e.element.getChild === "function") return parseError(e.element);
  if (e && typeof e.condition === "string") return new XmppError(e.condition, e.text || "", e.type, e.lang || null);
  if (e && (e.name === "TimeoutError" || e.code === "ETIMEOUT")) return new XmppError("timeout", "", "wait");
  return new XmppError("disconnected", e && e.message ? e.message : "", "wait");
}

// ---------------------------------------------------------------- MUC

export function buildJoin(room, nick) {
  return xml(
    "presence",
    { to: `${room}/${nick}` },
    xml("x", { xmlns: NS.MUC }, xml("history", { maxstanzas: "0" })),
  );
}

/** The customer ends the chat on purpose (unlike a dropped connection). */
export function buildLeave(room, nick) {
  return xml(
    "presence",
    { to: `${room}/${nick}`, type: "unavailable" },
    xml("desk", { xmlns: NS.DESK, event: "leave" }),
  );
}

/** A message; with `oobUrl`, a file: the URL as the body and as XEP-0066 data. */
export function buildGroupchat(room, body, id, oobUrl = null) {
  return xml(
    "message",
    { to: room, type: "groupchat", id },
    xml("body", {}, body),
    oobUrl ? xml("x", { xmlns: NS.OOB }, xml("url", {}, oobUrl)) : undefined,
    xml("active", { xmlns: NS.CHATSTATES }),
    xml("origin-id", { xmlns: NS.SID, id }),
  );
}

export function buildChatState(room, state, id) {
  return xml(
    "message",
    { to: room, type: "groupchat", id },
    xml(state, { xmlns: NS.CHATSTATES }),
    xml("no-store", { xmlns: "urn:xmpp:hints" }),
  );
}

export function buildPing(to, id) {
  return xml("iq", { type: "get", to, id }, xml("ping", { xmlns: NS.PING }));
}

function delayStamp(el) {
  const d = el.getChild("delay", NS.DELAY);
  if (!d || !d.attrs.stamp) return null;
  const t = Date.parse(d.attrs.stamp);
  return Number.isNaN(t) ? null : t;
}

function deskPayload(el) {
  const d = el.getChild("desk", NS.DESK);
  if (!d) return null;
  const { xmlns, ...attrs } = d.attrs;
  void xmlns;
  return { event: attrs.event || "", attrs, text: d.text() };
}

/** XEP-0066 out-of-band data: { url, desc } or null. */
function oobPayload(el) {
  const x = el.getChild("x", NS.OOB);
  const url = x && x.getChildText("url");
  return url ? { url: url.trim(), desc: (x.getChildText("desc") || "").trim() } : null;
}

/** The desk's <file/> of a `file` event (doc/protocol.md): { name, size, type, sha256 } or null. */
function deskFilePayload(el) {
  const f = el.getChild("file", NS.DESK);
  if (!f) return null;
  return { name: f.attrs.name || "", size: f.attrs.size || "", type: f.attrs.type || "", sha256: f.attrs.sha256 || "" };
}

/**
 * Classifies a message from the session room.  Returns null for anything
 * not from that room.  Result:
 *   { kind: "message" | "status" | "chatstate" | "subject" | "error" | "other",
 *     nick (""/null for the room itself), body, stanzaId (by the room only),
 *     originId, msgId, replaceId, stamp (ms or null), chatState, desk, subject,
 *     oob ({url, desc}: XEP-0066), deskFile (the desk's file event), form
 *     (a jabber:x:data element), error }
 */
export function parseRoomMessage(msg, room, { trustStanzaIdFrom = room } = {}) {
  if (!msg || msg.name !== "message") return null;
  const from = msg.attrs.from || "";
  if (bareJid(from) !== room) return null;
  const nick = resourceOf(from) || null;
  const type = msg.attrs.type || "normal";
  const out = {
    kind: "other",
    nick,
    body: null,
    stanzaId: null,
    originId: null,
    msgId: msg.attrs.id || null,
    replaceId: null,
    stamp: delayStamp(msg),
    chatState: null,
    desk: null,
    subject: null,
    oob: null,
    deskFile: null,
    form: null,
    error: null,
  };
  if (type === "error") {
    out.kind = "error";
    out.error = parseError(msg);
    return out;
  }
  for (const sid of msg.getChildren("stanza-id", NS.SID)) {
    if (bareJid(sid.attrs.by) === trustStanzaIdFrom && sid.attrs.id) out.stanzaId = sid.attrs.id;
  }
  const origin = msg.getChild("origin-id", NS.SID);
  if (origin && origin.attrs.id) out.originId = origin.attrs.id;
  const replace = msg.getChild("replace", NS.CORRECT);
  if (replace && replace.attrs.id) out.replaceId = replace.attrs.id;
  for (const s of CHAT_STATES) if (msg.getChild(s, NS.CHATSTATES)) out.chatState = s;
  out.desk = deskPayload(msg);
  out.oob = oobPayload(msg);
  out.deskFile = deskFilePayload(msg);
  out.form = msg.getChild("x", NS.DATA) || null;
  const bodyEl = msg.getChild("body");
  out.body = bodyEl ? bodyEl.text() : null;
  const subjectEl = msg.getChild("subject");
  if (type !== "groupchat") {
    out.kind = "other"; // invitations, private messages: not part of the chat
    return out;
  }
  if (subjectEl && out.body === null) {
    out.kind = "subject";
    out.subject = subjectEl.text();
  } else if (out.body !== null && out.body !== "") {
    out.kind = nick ? "message" : "status";
  } else if (out.desk) {
    out.kind = "status";
  } else if (out.chatState) {
    out.kind = "chatstate";
  }
  return out;
}

/**
 * Reads a presence from the session room.
 * { nick, available, self, codes: Set, role, affiliation, newNick,
 *   destroy: {reason, jid} | null, error: XmppError | null }
 */
export function parseRoomPresence(pres, room) {
  if (!pres || pres.name !== "presence") return null;
  const from = pres.attrs.from || "";
  if (bareJid(from) !== room) return null;
  const out = {
    nick: resourceOf(from),
    available: pres.attrs.type !== "unavailable" && pres.attrs.type !== "error",
    self: false,
    codes: new Set(),
    role: null,
    affiliation: null,
    newNick: null,
    destroy: null,
    error: null,
  };
  if (pres.attrs.type === "error") {
    out.error = parseError(pres);
    return out;
  }
  const x = pres.getChild("x", NS.MUC_USER);
  if (x) {
    for (const s of x.getChildren("status")) if (s.attrs.code) out.codes.add(s.attrs.code);
    const item = x.getChild("item");
    if (item) {
      out.role = item.attrs.role || null;
      out.affiliation = item.attrs.affiliation || null;
      if (item.attrs.nick) out.newNick = item.attrs.nick;
    }
    const destroy = x.getChild("destroy");
    if (destroy) out.destroy = { reason: destroy.getChildText("reason") || "", jid: destroy.attrs.jid || null };
  }
  out.self = out.codes.has("110");
  return out;
}

// ---------------------------------------------------------------- MAM

/**
 * A MAM query on the room for what came after `after` (a stanza-id; null
 * for the whole archive), one RSM page of `max`.
 */
export function buildMamQuery(room, queryid, after, max = 50, id) {
  const set = xml("set", { xmlns: NS.RSM }, xml("max", {}, String(max)));
  if (after) set.append(xml("after", {}, after));
  return xml(
    "iq",
    { type: "set", to: room, id },
    xml(
      "query",
      { xmlns: NS.MAM, queryid },
      xml(
        "x",
        { xmlns: NS.DATA, type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS.MAM)),
      ),
      set,
    ),
  );
}

/**
 * One MAM result message: { queryid, id (the archive id = stanza-id),
 * stamp, message (the forwarded element) } or null.
 */
export function parseMamResult(msg) {
  if (!msg || msg.name !== "message") return null;
  const r = msg.getChild("result", NS.MAM);
  if (!r) return null;
  const fwd = r.getChild("forwarded", NS.FORWARD);
  const inner = fwd && fwd.getChild("message");
  if (!inner) return null;
  return {
    queryid: r.attrs.queryid || null,
    id: r.attrs.id || null,
    stamp: (fwd && delayStamp(fwd)) ?? delayStamp(inner),
    message: inner,
    from: msg.attrs.from || "",
  };
}

/** The <fin/> of a MAM iq result: { complete, first, last, count }. */
export function parseMamFin(iq) {
  const fin = iq && iq.getChild("fin", NS.MAM);
  if (!fin) return { complete: true, first: null, last: null, count: null };
  const set = fin.getChild("set", NS.RSM);
  const count = set && set.getChildText("count");
  return {
    complete: fin.attrs.complete === "true" || fin.attrs.complete === "1",
    first: (set && set.getChildText("first")) || null,
    last: (set && set.getChildText("last")) || null,
    count: count ? Number(count) : null,
  };
}

// ---------------------------------------------------------------- files (XEP-0363)

export function buildDiscoInfo(to, id) {
  return xml("iq", { type: "get", to, id }, xml("query", { xmlns: NS.DISCO_INFO }));
}

/**
 * What a disco#info answer says of file uploads: null when the service
 * offers none, else { maxFileSize, maxTicketSize, types } (each null when
 * not announced).  XEP-0363 names `max-file-size`; mucdesk adds, in its
 * own namespace, the bytes per chat and the types allowed.
 */
export function parseUploadService(iq) {
  const q = iq && iq.getChild("query", NS.DISCO_INFO);
  if (!q || !q.getChildren("feature").some((f) => f.attrs.var === NS.UPLOAD)) return null;
  const out = { maxFileSize: null, maxTicketSize: null, types: null };
  for (const x of q.getChildren("x", NS.DATA)) {
    const fields = new Map(x.getChildren("field").map((f) => [f.attrs.var, f.getChildren("value").map((v) => v.text().trim())]));
    if ((fields.get("FORM_TYPE") || [])[0] !== NS.UPLOAD) continue;
    const num = (k) => {
      const n = Number((fields.get(k) || [])[0]);
      return Number.isFinite(n) && n > 0 ? n : null;
    };
    out.maxFileSize = num("max-file-size");
    out.maxTicketSize = num(`${NS.DESK}#max-ticket-size`);
    const types = fields.get(`${NS.DESK}#content-types`);
    if (types && types.length) out.types = types.map((t) => t.toLowerCase());
  }
  return out;
}

/** A slot request for `file` ({name, size, type}) in the chat of `room` (its JID). */
export function buildSlotRequest(to, file, room, id) {
  const local = String(room || "").split("@")[0];
  return xml(
    "iq",
    { type: "get", to, id },
    xml(
      "request",
      { xmlns: NS.UPLOAD, filename: file.name, size: String(file.size), "content-type": file.type },
      local ? xml("chat", { xmlns: NS.DESK, room: local }) : undefined,
    ),
  );
}

// The only headers XEP-0363 lets a slot ask the client to send.
const SLOT_HEADERS = new Set(["authorization", "cookie", "expires"]);

/** A slot: { put, get, headers: [{name, value}] } or null. */
export function parseSlot(iq) {
  const slot = iq && iq.getChild("slot", NS.UPLOAD);
  const put = slot && slot.getChild("put");
  const get = slot && slot.getChild("get");
  if (!put || !get || !put.attrs.url || !get.attrs.url) return null;
  const headers = put
    .getChildren("header")
    .map((h) => ({ name: h.attrs.name || "", value: h.text().replace(/[\r\n]/g, "") }))
    .filter((h) => SLOT_HEADERS.has(h.name.toLowerCase()));
  return { put: put.attrs.url, get: get.attrs.url, headers };
}

export function xmlToString(el) {
  return el.toString();
}
