// The only module that talks to the network: an XMPP connection over
// WebSocket with anonymous login, built on @xmpp/client.  The session sees
// it through this small interface (the unit tests replace it with a fake):
//
//   start()             connect and log in; resolves with our full JID
//   stop()              close the stream (quietly; never rejects)
//   send(el)            send a stanza
//   request(iq, ms)     send an iq get/set; resolves with the result iq,
//                       rejects with {condition, text} (StanzaError) or a
//                       timeout
//   on("stanza", fn)    every incoming message and presence
//   on("disconnect", fn)  the link went down after start() resolved
//
// One transport is one connection: the session makes a new one for each
// reconnection (anonymous login gives a new JID each time anyway), so the
// library's own reconnect is switched off.

import { client, xml } from "@xmpp/client";
import { Emitter } from "./emitter.js";
import { randomId } from "./ids.js";

export function createTransport({ websocket, domain }) {
  const events = new Emitter();
  const xmpp = client({
    service: websocket,
    domain,
    // Given here because the library's default needs crypto.randomUUID,
    // which browsers offer only on https pages.
    userAgent: xml("user-agent", { id: randomId() }),
  });
  xmpp.reconnect.stop();

  let online = false;
  let stopped = false;

  xmpp.on("error", () => {
    /* reported through start() or "disconnect" */
  });
  xmpp.on("stanza", (el) => {
    if (el.name === "message" || el.name === "presence") events.emit("stanza", el);
  });
  xmpp.on("online", () => {
    online = true;
  });
  const down = () => {
    if (online && !stopped) {
      online = false;
      events.emit("disconnect");
    }
    online = false;
  };
  xmpp.on("disconnect", down);
  xmpp.on("offline", down);

  // Leaving the page (reload, navigation, closing the tab) ends the stream
  // cleanly.  A socket that merely vanishes is, to a server with stream
  // management (ejabberd; Prosody with mod_smacks), a session to keep for
  // resumption, minutes long, and the agent would see the customer still
  // in the room.  The widget never resumes a stream (each connection logs
  // in anew), so there is nothing to keep.
  const onPageHide = () => {
    stopped = true;
    xmpp.stop().catch(() => {});
  };
  globalThis.addEventListener?.("pagehide", onPageHide);

  return {
    on: (event, fn) => events.on(event, fn),
    async start() {
      const jid = await xmpp.start();
      // Presence to the server is not needed to join rooms, and an
      // anonymous customer has no roster to tell.
      return String(jid);
    },
    async stop() {
      stopped = true;
      globalThis.removeEventListener?.("pagehide", onPageHide);
      try {
        await xmpp.stop();
      } catch {
        /* already down */
      }
    },
    send: (el) => xmpp.send(el),
    request: (el, timeout) => xmpp.iqCaller.request(el, timeout),
  };
}
