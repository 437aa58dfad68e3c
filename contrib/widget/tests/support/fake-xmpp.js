// The layer the unit tests fake: the XMPP connection.  FakeServer hands out
// transports (the interface of src/transport.js) and plays, behind them,
// the XMPP server plus the mucdesk desk as doc/widget-protocol.md
// describes it: request-chat / resume-chat / rate-chat, session rooms with
// stanza-ids, MAM with RSM paging, self-ping, destruction.  Every stanza
// crosses it as text and is parsed again, as on the wire.
//
// Tests drive the other side with agentJoin(), agentSay(), status(),
// destroyRoom()... and break the network with dropAll(), refuseConnects,
// loseNextSends.

import { xml } from "@xmpp/xml";
import parse from "@xmpp/xml/lib/parse.js";
import { Emitter } from "../../src/emitter.js";

const NS = {
  COMMANDS: "http://jabber.org/protocol/commands",
  DATA: "jabber:x:data",
  MUC: "http://jabber.org/protocol/muc",
  MUC_USER: "http://jabber.org/protocol/muc#user",
  MAM: "urn:xmpp:mam:2",
  RSM: "http://jabber.org/protocol/rsm",
  SID: "urn:xmpp:sid:0",
  STANZAS: "urn:ietf:params:xml:ns:xmpp-stanzas",
  DESK: "urn:mucdesk:0",
  CHATSTATES: "http://jabber.org/protocol/chatstates",
};

export const SERVICE = "support.localhost";
export const QUEUE = `billing@${SERVICE}`;
export const ANON = "anon.localhost";

export function wire(el) {
  return parse(el.toString());
}

export function stanzaError(condition, text = "", type = "cancel") {
  const e = new Error(`${condition}${text ? ": " + text : ""}`);
  e.name = "StanzaError";
  e.condition = condition;
  e.text = text;
  e.type = type;
  return e;
}

function bare(jid) {
  return String(jid).split("/")[0];
}

function res(jid) {
  const i = String(jid).indexOf("/");
  return i < 0 ? "" : String(jid).slice(i + 1);
}

function field(v, type, label, opts = {}) {
  const f = xml("field", { var: v, type, label });
  if (opts.required) f.append(xml("required"));
  for (const val of [].concat(opts.value ?? [])) f.append(xml("value", {}, val));
  for (const o of opts.options || []) f.append(xml("option", { label: o[1] }, xml("value", {}, o[0])));
  if (opts.desc) f.append(xml("desc", {}, opts.desc));
  return f;
}

function formValues(x) {
  const out = {};
  if (!x) return out;
  for (const f of x.getChildren("field")) out[f.attrs.var] = f.getChildren("value").map((v) => v.text());
  return out;
}

class FakeTransport extends Emitter {
  constructor(server, n, opts) {
    super();
    this.server = server;
    this.n = n;
    this.opts = opts;
    this.jid = `cust${n}@${ANON}/r${n}`;
    this.online = false;
    this.stopped = false;
    this.sent = [];
  }

  async start() {
    await null;
    if (this.server.refuseConnects > 0) {
      this.server.refuseConnects -= 1;
      throw new Error("WebSocket ECONNERROR");
    }
    if (this.server.hangConnects > 0) {
      this.server.hangConnects -= 1;
      return new Promise(() => {});
    }
    this.online = true;
    return this.jid;
  }

  async stop() {
    this.stopped = true;
    if (this.online) {
      this.online = false;
      this.server.onOffline(this);
    }
  }

  async send(el) {
    if (!this.online) throw new Error("not connected");
    const s = wire(el);
    this.sent.push(s);
    this.server.log.push({ dir: "out", n: this.n, el: s });
    if (this.server.loseNextSends > 0) {
      this.server.loseNextSends -= 1;
      return;
    }
    await null;
    if (this.online) this.server.onStanza(this, s);
  }

  async request(el) {
    if (!this.online) throw new Error("not connected");
    const s = wire(el);
    this.sent.push(s);
    this.server.log.push({ dir: "out", n: this.n, el: s });
    await null;
    if (this.server.hangIqs > 0) {
      this.server.hangIqs -= 1;
      return new Promise(() => {});
    }
    const reply = wire(await this.server.onIq(this, s));
    if (!this.online) return new Promise(() => {}); // dropped meanwhile: no answer ever comes
    this.server.log.push({ dir: "in", n: this.n, el: reply });
    if (reply.attrs.type === "error") {
      // As @xmpp/client's iqCaller does: an error reply rejects.
      const err = reply.getChild("error");
      const cond = err.children.find((c) => typeof c !== "string" && c.name !== "text" && c.attrs.xmlns === NS.STANZAS);
      const e = stanzaError(cond.name, err.getChildText("text", NS.STANZAS) || "", err.attrs.type);
      e.element = err; // as @xmpp/error's StanzaError.fromElement keeps it
      throw e;
    }
    return reply;
  }

  deliver(el) {
    if (!this.online) return;
    const s = wire(el);
    this.server.log.push({ dir: "in", n: this.n, el: s });
    this.emit("stanza", s);
  }

  /** The network under this connection fails. */
  drop() {
    if (!this.online) return;
    this.online = false;
    this.server.onOffline(this);
    this.emit("disconnect");
  }
}

export class FakeServer {
  constructor({ offline = false, extraFields = [] } = {}) {
    this.transports = [];
    this.log = [];
    this.refuseConnects = 0;
    this.hangConnects = 0;
    this.hangIqs = 0;
    this.loseNextSends = 0;
    this.offline = offline;
    this.extraFields = extraFields;
    this.tickets = new Map(); // n -> { n, room, token, values, status, rating, comment, ended }
    this.rooms = new Map(); // room -> { occupants: Map nick -> {jid, role, transport}, archive: [], members: Set }
    this.nextTicket = 41;
    this.nextSid = 1;
    this.commandSessions = new Map();
    this.requestErrors = []; // errors to answer the next request-chat submits with
    this.resumeErrors = [];
    this.mamDisabled = false;
    this.mamPageMax = 50;
    this.evictOnResume = true;
    // XEP-0363 on the service (null: none): what disco#info announces.
    this.upload = null; // { maxFileSize, maxTicketSize, types: [] }
    this.slotErrors = []; // errors to answer the next slot requests with: {condition, text, app}
    this.slotRequests = [];
    this.factory = (opts) => {
      const t = new FakeTransport(this, this.transports.length + 1, opts);
      this.transports.push(t);
      return t;
    };
  }

  get current() {
    return this.transports[this.transports.length - 1];
  }

  sentBy(filter = () => true) {
    return this.log.filter((e) => e.dir === "out" && filter(e.el)).map((e) => e.el);
  }

  // ------------------------------------------------------------ iq

  async onIq(t, iq) {
    try {
      const child = iq.children.find((c) => typeof c !== "string");
      const reply = await this.handleIq(t, iq, child);
      return xml("iq", { type: "result", id: iq.attrs.id, from: iq.attrs.to, to: t.jid }, reply || undefined);
    } catch (e) {
      if (!e.condition) throw e;
      return xml(
        "iq",
        { type: "error", id: iq.attrs.id, from: iq.attrs.to, to: t.jid },
        xml("error", { type: e.type || "cancel" }, xml(e.condition, { xmlns: NS.STANZAS }), e.text ? xml("text", { xmlns: NS.STANZAS }, e.text) : undefined, e.app ? xml(e.app, { xmlns: "urn:xmpp:http:upload:0" }) : undefined),
      );
    }
  }

  async handleIq(t, iq, child) {
    if (child && child.name === "command" && child.attrs.xmlns === NS.COMMANDS) return this.command(t, iq, child);
    if (child && child.name === "query" && child.attrs.xmlns === NS.MAM) return this.mam(t, iq, child);
    if (child && child.name === "query" && child.attrs.xmlns === "http://jabber.org/protocol/disco#info") return this.discoInfo();
    if (child && child.name === "request" && child.attrs.xmlns === "urn:xmpp:http:upload:0") return this.slot(t, iq, child);
    if (child && child.name === "ping") {
      const room = this.rooms.get(bare(iq.attrs.to));
      if (!room) throw stanzaError("item-not-found");
      const occ = room.occupants.get(res(iq.attrs.to));
      if (!occ || occ.jid !== t.jid) throw stanzaError("not-acceptable");
      return null;
    }
    throw stanzaError("service-unavailable");
  }

  discoInfo() {
    const q = xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }, xml("identity", { category: "conference", type: "text" }), xml("feature", { var: NS.MUC }));
    if (!this.upload) return q;
    const u = this.upload;
    q.append(xml("feature", { var: "urn:xmpp:http:upload:0" }));
    q.append(
      xml(
        "x",
        { xmlns: NS.DATA, type: "result" },
        field("FORM_TYPE", "hidden", null, { value: "urn:xmpp:http:upload:0" }),
        field("max-file-size", undefined, null, { value: String(u.maxFileSize) }),
        u.maxTicketSize ? field(`${NS.DESK}#max-ticket-size`, undefined, null, { value: String(u.maxTicketSize) }) : undefined,
        u.types ? field(`${NS.DESK}#content-types`, "list-multi", null, { value: u.types }) : undefined,
      ),
    );
    return q;
  }

  /** A slot as mucdesk gives (PUT and GET the same capability URL). */
  slot(t, iq, req) {
    this.slotRequests.push({ from: t.jid, ...req.attrs, chat: req.getChild("chat", NS.DESK)?.attrs.room || null });
    const e = this.slotErrors.shift();
    if (e) {
      const err = stanzaError(e.condition, e.text || "", e.type || "modify");
      if (e.app) err.app = e.app;
      throw err;
    }
    const token = String(this.slotRequests.length).padStart(48, "a");
    const url = `http://files.test/upload/41/${token}/${encodeURIComponent(req.attrs.filename)}`;
    return xml("slot", { xmlns: "urn:xmpp:http:upload:0" }, xml("put", { url }), xml("get", { url }));
  }

  requestForm() {
    const x = xml(
      "x",
      { xmlns: NS.DATA, type: "form" },
      xml("title", {}, this.offline ? "Leave a message" : "Chat with Billing"),
      xml("instructions", {}, this.offline ? "We are closed. Leave a message." : "Tell us about your question."),
      field("FORM_TYPE", "hidden", null, { value: "urn:mucdesk:request-chat" }),
      field("name", "text-single", "Your name", { required: true }),
      field("email", "text-single", "Email", { required: true }),
      field("question", "text-multi", "Question", { required: true }),
      ...this.extraFields.map((f) => f()),
      field("page", "hidden", null),
      field("browser", "hidden", null),
    );
    if (this.offline) x.append(field("offline", "hidden", null, { value: "1" }));
    return x;
  }

  command(t, iq, cmd) {
    const node = cmd.attrs.node;
    const action = cmd.attrs.action || "execute";
    const to = iq.attrs.to;
    const respond = (status, sessionid, ...children) =>
      xml("command", { xmlns: NS.COMMANDS, node, sessionid, status }, ...children);
    if (action === "execute" && !cmd.attrs.sessionid) {
      const sessionid = `s${this.commandSessions.size + 1}`;
      this.commandSessions.set(sessionid, { node });
      const actions = xml("actions", { execute: "complete" }, xml("complete"));
      if (node === "request-chat" && to === QUEUE) return respond("executing", sessionid, actions, this.requestForm());
      if (node === "resume-chat" && to === SERVICE)
        return respond("executing", sessionid, actions, xml("x", { xmlns: NS.DATA, type: "form" }, field("token", "text-private", "Token", { required: true })));
      if (node === "rate-chat" && to === SERVICE)
        return respond(
          "executing",
          sessionid,
          actions,
          xml(
            "x",
            { xmlns: NS.DATA, type: "form" },
            field("ticket", "text-single", "Ticket", { required: true }),
            field("token", "text-private", "Token", { required: true }),
            field("rating", "list-single", "Rating", { required: true, options: [["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"], ["5", "5"]] }),
            field("comment", "text-multi", "Comment"),
          ),
        );
      throw stanzaError("item-not-found");
    }
    const sessionid = cmd.attrs.sessionid;
    if (!this.commandSessions.has(sessionid)) throw stanzaError("bad-request", "unknown session");
    this.commandSessions.delete(sessionid);
    const v = formValues(cmd.getChild("x", NS.DATA));
    const one = (k) => (v[k] || [])[0] || "";
    if (node === "request-chat") {
      this.lastRequest = v;
      if (this.requestErrors.length) {
        const e = this.requestErrors.shift();
        if (e.note) return respond("completed", sessionid, xml("note", { type: "error" }, e.note));
        throw stanzaError(e.condition, e.text);
      }
      if (!one("email").includes("@")) throw stanzaError("bad-request", "email: give one email address, such as name@example.org");
      const n = this.nextTicket++;
      const offline = this.offline;
      const ticket = { n, room: `ticket-${n}@${SERVICE}`, token: `tok-${n}-secret`, values: v, status: "QUEUED", rating: null, ended: false };
      this.tickets.set(n, ticket);
      const result = xml("x", { xmlns: NS.DATA, type: "result" }, field("ticket", "text-single", "Ticket", { value: String(n) }));
      if (offline) {
        result.append(field("offline", "boolean", null, { value: "1" }));
        return respond("completed", sessionid, xml("note", { type: "info" }, "Thanks, we will answer by email."), result);
      }
      this.rooms.set(ticket.room, { occupants: new Map(), archive: [], members: new Set([bare(t.jid)]), ticket });
      result.append(field("room", "jid-single", "Room", { value: ticket.room }));
      result.append(field("token", "text-private", "Token", { value: ticket.token }));
      result.append(field("position", "text-single", "Position", { value: "2" }));
      result.append(field("wait", "text-single", "Wait", { value: "240" }));
      return respond("completed", sessionid, result);
    }
    if (node === "resume-chat") {
      if (this.resumeErrors.length) {
        const e = this.resumeErrors.shift();
        throw stanzaError(e.condition, e.text || "");
      }
      const ticket = [...this.tickets.values()].find((x) => x.token === one("token"));
      if (!ticket) throw stanzaError("item-not-found", "token: unknown or expired");
      const result = xml("x", { xmlns: NS.DATA, type: "result" }, field("room", "jid-single", null, { value: ticket.room }), field("ticket", "text-single", null, { value: String(ticket.n) }));
      if (ticket.ended) result.append(field("ended", "boolean", null, { value: "1" }));
      const room = this.rooms.get(ticket.room);
      if (room) {
        room.members.add(bare(t.jid));
        if (this.evictOnResume) {
          // The customer's previous connection, if the room still has it, leaves silently.
          for (const [nick, occ] of room.occupants) if (occ.customer && occ.jid !== t.jid) room.occupants.delete(nick);
        }
      }
      return respond("completed", sessionid, result);
    }
    if (node === "rate-chat") {
      const ticket = this.tickets.get(Number(one("ticket")));
      if (!ticket || ticket.token !== one("token")) throw stanzaError("forbidden", "token: not valid for this ticket");
      ticket.rating = Number(one("rating"));
      ticket.comment = one("comment");
      return respond("completed", sessionid, xml("note", { type: "info" }, "Thank you"));
    }
    throw stanzaError("item-not-found");
  }

  mam(t, iq, query) {
    if (this.mamDisabled) throw stanzaError("feature-not-implemented");
    const room = this.rooms.get(bare(iq.attrs.to));
    if (!room) throw stanzaError("item-not-found");
    if (!room.members.has(bare(t.jid))) throw stanzaError("forbidden");
    const set = query.getChild("set", NS.RSM);
    const max = Math.min(Number((set && set.getChildText("max")) || 50), this.mamPageMax);
    const after = set && set.getChildText("after");
    let start = 0;
    if (after) {
      const i = room.archive.findIndex((a) => a.id === after);
      if (i < 0) throw stanzaError("item-not-found", "after: no such item");
      start = i + 1;
    }
    const page = room.archive.slice(start, start + max);
    for (const a of page) {
      t.deliver(
        xml(
          "message",
          { to: t.jid, from: bare(iq.attrs.to) },
          xml(
            "result",
            { xmlns: NS.MAM, queryid: query.attrs.queryid, id: a.id },
            xml("forwarded", { xmlns: "urn:xmpp:forward:0" }, xml("delay", { xmlns: "urn:xmpp:delay", stamp: new Date(a.stamp).toISOString() }), parse(a.stanza)),
          ),
        ),
      );
    }
    const complete = start + max >= room.archive.length;
    const rsm = xml("set", { xmlns: NS.RSM }, xml("count", {}, String(room.archive.length)));
    if (page.length) {
      rsm.append(xml("first", {}, page[0].id));
      rsm.append(xml("last", {}, page[page.length - 1].id));
    }
    return xml("fin", { xmlns: NS.MAM, complete: complete ? "true" : "false" }, rsm);
  }

  // ------------------------------------------------------------ presence and messages

  onStanza(t, s) {
    const to = s.attrs.to || "";
    const room = this.rooms.get(bare(to));
    if (s.name === "presence") {
      if (!room) {
        return t.deliver(xml("presence", { from: to, to: t.jid, type: "error" }, xml("error", { type: "cancel" }, xml("item-not-found", { xmlns: NS.STANZAS }))));
      }
      const nick = res(to);
      if (s.attrs.type === "unavailable") {
        const occ = room.occupants.get(nick);
        if (occ && occ.jid === t.jid) {
          room.occupants.delete(nick);
          this.lastLeave = s;
          t.deliver(xml("presence", { from: to, to: t.jid, type: "unavailable" }, xml("x", { xmlns: NS.MUC_USER }, xml("item", { affiliation: "member", role: "none" }), xml("status", { code: "110" }))));
          this.broadcastPresence(room, bare(to), nick, false);
        }
        return;
      }
      if (!room.members.has(bare(t.jid))) {
        return t.deliver(xml("presence", { from: to, to: t.jid, type: "error" }, xml("error", { type: "auth" }, xml("registration-required", { xmlns: NS.STANZAS }))));
      }
      const existing = room.occupants.get(nick);
      if (existing && existing.jid !== t.jid) {
        return t.deliver(xml("presence", { from: to, to: t.jid, type: "error" }, xml("error", { type: "cancel" }, xml("conflict", { xmlns: NS.STANZAS }))));
      }
      // The roster first, then our self-presence (XEP-0045 §7.2.3).
      for (const [n, occ] of room.occupants) {
        if (n === nick) continue;
        t.deliver(xml("presence", { from: `${bare(to)}/${n}`, to: t.jid }, xml("x", { xmlns: NS.MUC_USER }, xml("item", { affiliation: occ.customer ? "member" : "admin", role: occ.customer ? "participant" : "moderator" }))));
      }
      room.occupants.set(nick, { jid: t.jid, customer: true, transport: t });
      t.deliver(xml("presence", { from: to, to: t.jid }, xml("x", { xmlns: NS.MUC_USER }, xml("item", { affiliation: "member", role: "participant" }), xml("status", { code: "110" }))));
      this.broadcastPresence(room, bare(to), nick, true, t);
      t.deliver(xml("message", { from: bare(to), to: t.jid, type: "groupchat" }, xml("subject", {}, `Ticket #${room.ticket.n}`)));
      return;
    }
    if (s.name === "message" && s.attrs.type === "groupchat" && room) {
      const sender = [...room.occupants.entries()].find(([, o]) => o.jid === t.jid);
      if (!sender) {
        return t.deliver(xml("message", { from: bare(to), to: t.jid, type: "error", id: s.attrs.id }, xml("error", { type: "modify" }, xml("not-acceptable", { xmlns: NS.STANZAS }))));
      }
      const [nick] = sender;
      const children = s.children.filter((c) => typeof c !== "string" && c.name !== "stanza-id");
      this.roomMessage(bare(to), nick, children, s.attrs.id);
    }
  }

  broadcastPresence(room, roomJid, nick, available, except = null) {
    for (const [, occ] of room.occupants) {
      if (!occ.transport || occ.transport === except) continue;
      const p = xml("presence", { from: `${roomJid}/${nick}`, to: occ.jid }, xml("x", { xmlns: NS.MUC_USER }, xml("item", { affiliation: "member", role: available ? "participant" : "none" })));
      if (!available) p.attrs.type = "unavailable";
      occ.transport.deliver(p);
    }
  }

  /** A groupchat from `nick` ("" for the room itself); archived when it has a body or a desk payload. */
  roomMessage(roomJid, nick, children, id, stamp = Date.now()) {
    const room = this.rooms.get(roomJid);
    const hasBody = children.some((c) => c.name === "body");
    const hasDesk = children.some((c) => c.name === "desk");
    const archived = hasBody || hasDesk;
    const from = nick ? `${roomJid}/${nick}` : roomJid;
    let sid = null;
    const msg = xml("message", { from, type: "groupchat", id }, ...children.map((c) => (typeof c === "string" ? c : parse(c.toString()))));
    if (archived) {
      sid = `sid-${this.nextSid++}`;
      msg.append(xml("stanza-id", { xmlns: NS.SID, id: sid, by: roomJid }));
      room.archive.push({ id: sid, stanza: msg.toString(), stamp });
    }
    for (const [, occ] of room.occupants) {
      if (!occ.transport) continue;
      const copy = parse(msg.toString());
      copy.attrs.to = occ.jid;
      occ.transport.deliver(copy);
    }
    return sid;
  }

  onOffline(t) {
    // As Prosody does: the rooms hear that the client's session ended.
    for (const [roomJid, room] of this.rooms) {
      for (const [nick, occ] of room.occupants) {
        if (occ.jid === t.jid) {
          room.occupants.delete(nick);
          this.broadcastPresence(room, roomJid, nick, false);
        }
      }
    }
  }

  // ------------------------------------------------------------ what tests do on the desk side

  roomOf(ticketN) {
    return this.tickets.get(ticketN).room;
  }

  agentJoin(roomJid, nick = "Alex") {
    const room = this.rooms.get(roomJid);
    room.occupants.set(nick, { jid: `${nick.toLowerCase()}@localhost/gajim`, customer: false, transport: null });
    room.ticket.status = "INPROGRESS";
    this.broadcastPresence(room, roomJid, nick, true);
  }

  agentLeave(roomJid, nick = "Alex") {
    const room = this.rooms.get(roomJid);
    room.occupants.delete(nick);
    this.broadcastPresence(room, roomJid, nick, false);
  }

  agentSay(roomJid, body, nick = "Alex", extra = []) {
    return this.roomMessage(roomJid, nick, [xml("body", {}, body), xml("active", { xmlns: NS.CHATSTATES }), ...extra], `a${this.nextSid}`);
  }

  agentTyping(roomJid, state = "composing", nick = "Alex") {
    return this.roomMessage(roomJid, nick, [xml(state, { xmlns: NS.CHATSTATES })], undefined);
  }

  status(roomJid, body, deskAttrs = null, extra = []) {
    const children = [];
    if (body) children.push(xml("body", {}, body));
    if (deskAttrs) children.push(xml("desk", { xmlns: NS.DESK, ...deskAttrs }));
    children.push(...extra);
    return this.roomMessage(roomJid, "", children, undefined);
  }

  /** A message for the customer alone from the room (muc_room_tell_with): never archived. */
  tell(roomJid, body, deskAttrs = null) {
    const room = this.rooms.get(roomJid);
    for (const [, occ] of room.occupants) {
      if (!occ.customer || !occ.transport) continue;
      const m = xml("message", { from: roomJid, to: occ.jid, type: "groupchat" }, xml("body", {}, body));
      if (deskAttrs) m.append(xml("desk", { xmlns: NS.DESK, ...deskAttrs }));
      occ.transport.deliver(m);
    }
  }

  /**
   * The desk ends the chat as component/desk/chat.c desk_chat_end() does:
   * the end said in the room (archived, with <desk event='closed'/>), told
   * again to the customer alone (not archived: no stanza-id), then the room
   * destroyed for them with a reason.  `said: null` leaves out both
   * messages (a room destroyed by someone other than the desk).
   */
  destroyRoom(roomJid, reason = "The chat has ended", { said = "This chat has ended. Thank you!" } = {}) {
    const room = this.rooms.get(roomJid);
    const closed = { xmlns: NS.DESK, event: "closed", status: "RESOLVED" };
    if (said !== null) {
      this.status(roomJid, said, { event: "closed", status: "RESOLVED" });
      for (const [, occ] of room.occupants) {
        if (occ.customer && occ.transport) occ.transport.deliver(xml("message", { from: roomJid, to: occ.jid, type: "groupchat" }, xml("body", {}, said), xml("desk", closed)));
      }
    }
    room.ticket.ended = true;
    for (const [nick, occ] of room.occupants) {
      if (!occ.transport) continue;
      occ.transport.deliver(
        xml(
          "presence",
          { from: `${roomJid}/${nick}`, to: occ.jid, type: "unavailable" },
          xml("x", { xmlns: NS.MUC_USER }, xml("item", { affiliation: "none", role: "none" }), xml("destroy", {}, xml("reason", {}, reason)), xml("status", { code: "110" })),
        ),
      );
    }
    room.occupants.clear();
  }

  /** Every live connection fails at once (the network went away). */
  dropAll() {
    for (const t of this.transports) t.drop();
  }

  customerMessages(roomJid) {
    return this.rooms.get(roomJid).archive.map((a) => parse(a.stanza)).filter((m) => m.getChild("body"));
  }
}

// ------------------------------------------------------------ time

/** A clock the test moves by hand.  settle() lets promises run between steps. */
export class ManualClock {
  constructor(start = Date.UTC(2026, 10, 22, 9, 0, 0)) {
    this.t = start;
    this.timers = new Map();
    this.seq = 0;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.t + Math.max(0, ms || 0), fn, id });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  pendingDelays() {
    return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Moves time forward, firing due timers in order and settling after each. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = [...this.timers.values()].filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers.delete(due.id);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    await settle();
  }
}

export async function settle(rounds = 30) {
  for (let i = 0; i < rounds; i += 1) await new Promise((r) => setImmediate(r));
}

/** A store as storage.js gives, on a plain Map, shared between "page loads". */
export function mapStore() {
  const m = new Map();
  return {
    map: m,
    load: () => (m.has("s") ? JSON.parse(m.get("s")) : null),
    save: (obj) => {
      m.set("s", JSON.stringify({ v: 1, ...obj }));
      return true;
    },
    clear: () => m.delete("s"),
  };
}
