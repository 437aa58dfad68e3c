#!/usr/bin/env node
// Prints the embed snippet for a queue (the same text as the daemon's
// widget-snippet command).
//   node snippet.mjs --queue billing@support.localhost [--service support.localhost]
//        [--domain anon.localhost] [--websocket ws://127.0.0.1:5280/xmpp-websocket]
//        [--script-url http://127.0.0.1:8080/mucdesk-widget.js]
import { parseArgs } from "node:util";
import { widgetSnippet } from "./src/snippet.js";

const { values } = parseArgs({
  options: {
    queue: { type: "string", default: "billing@support.localhost" },
    service: { type: "string" },
    domain: { type: "string", default: "anon.localhost" },
    websocket: { type: "string", default: "ws://127.0.0.1:5280/xmpp-websocket" },
    "script-url": { type: "string", default: "http://127.0.0.1:8080/mucdesk-widget.js" },
  },
});
const service = values.service || values.queue.slice(values.queue.indexOf("@") + 1);
process.stdout.write(
  widgetSnippet({ scriptUrl: values["script-url"], websocket: values.websocket, domain: values.domain, service, queue: values.queue }),
);
