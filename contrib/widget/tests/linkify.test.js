import { test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import { appendRichText, linkify } from "../src/linkify.js";

const links = (s) => linkify(s).filter((p) => p.type === "link").map((p) => [p.text, p.href]);
const joined = (s) => linkify(s).map((p) => p.text).join("");

test("linkify: http, https, www and email addresses become links", () => {
  assert.deepEqual(links("see https://example.org/a?b=1#c and http://x.io"), [
    ["https://example.org/a?b=1#c", "https://example.org/a?b=1#c"],
    ["http://x.io", "http://x.io/"],
  ]);
  assert.deepEqual(links("go to www.example.com/help"), [["www.example.com/help", "https://www.example.com/help"]]);
  assert.deepEqual(links("mail help@example.org please"), [["help@example.org", "mailto:help@example.org"]]);
});

test("linkify: trailing punctuation and unbalanced brackets stay outside the link", () => {
  assert.deepEqual(links("Read https://example.org/faq."), [["https://example.org/faq", "https://example.org/faq"]]);
  assert.deepEqual(links("(see https://example.org/x)"), [["https://example.org/x", "https://example.org/x"]]);
  assert.deepEqual(links("https://en.wikipedia.org/wiki/Foo_(bar), ok"), [["https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"]]);
  assert.deepEqual(links("is it https://example.org/?!"), [["https://example.org/", "https://example.org/"]]);
});

test("linkify: no other scheme is ever linked", () => {
  for (const s of ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "file:///etc/passwd", "JaVaScRiPt:alert(1)"]) {
    assert.deepEqual(links(s), [], s);
  }
  assert.deepEqual(links("https://"), []);
});

test("linkify: the parts always add up to the input exactly (emoji included)", () => {
  for (const s of ["", "plain", "👋 hi https://x.org/👍 ok 🎉", "a@b.co, www.x.org.", "<b>https://x.org/\"onmouseover=alert(1)</b>", "line1\nhttps://x.org\nline3"]) {
    assert.equal(joined(s), s);
  }
});

test("linkify: quotes and angle brackets end a URL", () => {
  assert.deepEqual(links('https://x.org/"onmouseover="alert(1)'), [["https://x.org/", "https://x.org/"]]);
  assert.deepEqual(links("<https://x.org/a>"), [["https://x.org/a", "https://x.org/a"]]);
});

test("appendRichText: text stays text, links are safe anchors, newlines are <br>", () => {
  const { document } = new JSDOM("").window;
  const div = document.createElement("div");
  appendRichText(document, div, '<img src=x onerror=alert(1)> 😀\nvisit https://example.org/"><script>x</script>');
  assert.equal(div.querySelector("img"), null);
  assert.equal(div.querySelector("script"), null);
  assert.equal(div.querySelectorAll("br").length, 1);
  const a = div.querySelector("a");
  assert.equal(a.getAttribute("href"), "https://example.org/");
  assert.equal(a.getAttribute("target"), "_blank");
  assert.equal(a.getAttribute("rel"), "noopener noreferrer nofollow");
  assert.equal(div.textContent, '<img src=x onerror=alert(1)> 😀visit https://example.org/"><script>x</script>');
});
