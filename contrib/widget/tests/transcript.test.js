import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_TEXTS, translator } from "../src/texts.js";
import de from "../src/locales/de.js";
import { stamp, transcriptFileName, transcriptText } from "../src/transcript.js";

const T0 = Date.UTC(2026, 10, 22, 9, 5, 0);

test("transcript: header, messages, notices and statuses, in order, UTF-8 as is", () => {
  const items = [
    { kind: "status", from: "room", body: "Ticket #42 opened", time: T0 },
    { kind: "notice", notice: { key: "agentJoined", vars: { name: "Alex" } }, time: T0 + 60000 },
    { kind: "message", from: "agent", nick: "Alex", body: "Hello 👋 how can I help?", time: T0 + 61000, state: "sent" },
    { kind: "message", from: "me", body: "My invoice\nis wrong 😕", time: T0 + 120000, state: "sent" },
    { kind: "message", from: "me", body: "never delivered", time: T0 + 121000, state: "failed" },
    { kind: "message", from: "agent", nick: "Alex", body: "Fixed", time: T0 + 180000, state: "sent", edited: true },
  ];
  const text = transcriptText(items, translator(DEFAULT_TEXTS), { ticket: "42", queue: "billing@support.localhost", exportedAt: T0 + 300000, offsetMinutes: 60, ended: { time: T0 + 240000, key: "chatEnded" } });
  assert.equal(
    text,
    [
      "Chat transcript",
      "Ticket: 42",
      "Queue: billing@support.localhost",
      "Exported: 2026-11-22 10:10",
      "",
      "[2026-11-22 10:05] * Ticket #42 opened",
      "[2026-11-22 10:06] * Alex joined the chat.",
      "[2026-11-22 10:06] Alex: Hello 👋 how can I help?",
      "[2026-11-22 10:07] You: My invoice",
      "                     is wrong 😕",
      "[2026-11-22 10:08] Alex: Fixed (edited)",
      "[2026-11-22 10:09] * This chat has ended.",
      "",
    ].join("\n"),
  );
});

test("transcript: localised texts are used; file name is safe", () => {
  const texts = { ...DEFAULT_TEXTS, you: "Vous", transcriptTitle: "Transcription" };
  const text = transcriptText([{ kind: "message", from: "me", body: "Bonjour", time: T0, state: "sent" }], translator(texts, "fr"), { offsetMinutes: 0 });
  assert.equal(text, "Transcription\n\n[2026-11-22 09:05] Vous: Bonjour\n");
  // In German, the export's date is written the German way, in the customer's time zone.
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const german = transcriptText([], translator({ ...DEFAULT_TEXTS, ...de }, "de-DE"), { ticket: "7", exportedAt: T0, locale: "de-DE" });
  const when = new Intl.DateTimeFormat("de-DE", { dateStyle: "long", timeStyle: "short" }).format(new Date(T0));
  assert.equal(german, `Chatverlauf\nTicket: 7\nExportiert: ${when} (${tz})\n\n`);
  assert.match(when, /November 2026/);
  assert.match(transcriptFileName("42", T0), /^chat-42-2026112\d\.txt$/);
  assert.match(transcriptFileName("../../etc", T0), /^chat-etc-\d{8}\.txt$/);
  assert.equal(stamp(T0, 0), "2026-11-22 09:05");
});
