// A stand-in for the mucdesk desk on a real XMPP server: an XEP-0114
// component that plays, for browser runs of the widget, the same desk the
// unit tests fake (tests/support/fake-xmpp.js, FakeServer), until the real
// daemon implements doc/widget-protocol.md.  Not part of any test suite.
//
//   const desk = await startDeskDouble({ host, port, domain, secret });
//   desk.server.agentJoin(room)...; desk.close();
import net from "node:net";
import { createHash } from "node:crypto";
import { Parser } from "@xmpp/xml";
import { FakeServer } from "../tests/support/fake-xmpp.js";

export function startDeskDouble({ host = "127.0.0.1", port, domain, secret, server = new FakeServer() }) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    sock.setEncoding("utf8");
    const parser = new Parser();
    const peers = new Map(); // customer full JID -> the transport-like object FakeServer wants
    let n = 0;
    const send = (el) => {
      if (!sock.destroyed) sock.write(el.toString());
    };
    const peerFor = (jid) => {
      let p = peers.get(jid);
      if (!p) {
        n += 1;
        p = { jid, n, online: true, sent: [], deliver: (el) => send(el), drop() {} };
        peers.set(jid, p);
      }
      return p;
    };
    parser.on("start", (el) => {
      const digest = createHash("sha1").update(el.attrs.id + secret).digest("hex");
      sock.write(`<handshake>${digest}</handshake>`);
    });
    parser.on("element", async (el) => {
      if (el.name === "handshake") {
        resolve({ server, peers, close: () => sock.end("</stream:stream>") });
        return;
      }
      if (el.name === "error") {
        reject(new Error(`stream error: ${el.toString()}`));
        return;
      }
      const from = el.attrs.from;
      if (!from) return;
      const peer = peerFor(from);
      try {
        if (el.name === "iq" && (el.attrs.type === "get" || el.attrs.type === "set")) {
          const reply = await server.onIq(peer, el);
          reply.attrs.from = el.attrs.to;
          reply.attrs.to = from;
          send(reply);
        } else if (el.name === "message" || el.name === "presence") {
          server.onStanza(peer, el);
        }
      } catch (e) {
        console.error("desk double:", e);
      }
    });
    sock.on("data", (d) => parser.write(d));
    sock.on("error", reject);
    sock.on("connect", () => {
      sock.write(`<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`);
    });
  });
}
