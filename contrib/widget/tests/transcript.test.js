import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_TEXTS } from "../src/texts.js";
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
    { kind: "notice", notice: { key: "chatEnded", vars: {} }, time: T0 + 240000 },
  ];
  const text = transcriptText(items, DEFAULT_TEXTS, { ticket: "42", queue: "billing@support.localhost", exportedAt: T0 + 300000, offsetMinutes: 60 });
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
  const text = transcriptText([{ kind: "message", from: "me", body: "Bonjour", time: T0, state: "sent" }], texts, { offsetMinutes: 0 });
  assert.equal(text, "Transcription\n\n[2026-11-22 09:05] Vous: Bonjour\n");
  assert.match(transcriptFileName("42", T0), /^chat-42-2026112\d\.txt$/);
  assert.match(transcriptFileName("../../etc", T0), /^chat-etc-\d{8}\.txt$/);
  assert.equal(stamp(T0, 0), "2026-11-22 09:05");
});
