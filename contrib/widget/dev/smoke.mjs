#!/usr/bin/env node
// Drives the built widget in Debian's Chromium against a private Prosody
// (anonymous host + WebSocket) and the desk double (desk-double.mjs), through
// every state a customer meets, checking each and saving a screenshot.
// A developer's check of the real browser path until tests/browser/ drives
// the real daemon; not part of tests/run.
//
//   node dev/smoke.mjs [OUTDIR]        (default: /tmp/mucdesk-widget-smoke)
// Needs: prosody, chromium (Debian), contrib/widget/build done.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startDeskDouble } from "./desk-double.mjs";
import { FakeServer } from "../tests/support/fake-xmpp.js";

const here = fileURLToPath(new URL("..", import.meta.url));
const out = process.argv[2] || "/tmp/mucdesk-widget-smoke";
mkdirSync(out, { recursive: true });
const results = [];
const children = [];
let failed = 0;

function check(name, ok, detail = "") {
  results.push({ name, ok });
  if (!ok) failed += 1;
  console.log(`${ok ? "PASS" : "FAIL"}: ${name}${detail ? " — " + detail : ""}`);
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitForLine(child, re, ms, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms);
    const on = (d) => {
      if (re.test(String(d))) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
  });
}

async function waitFor(fn, ms = 10000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const run = mkdtempSync(join(tmpdir(), "mucdesk-smoke-"));
  chmodSync(run, 0o755);
  const [c2s, http, comp, web] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const secret = "smoke-secret";
  mkdirSync(join(run, "data"));
  execFileSync("chown", ["-R", "prosody:", run]);
  writeFileSync(
    join(run, "prosody.cfg.lua"),
    `pidfile = "${run}/prosody.pid"
data_path = "${run}/data"
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "bosh"; "websocket" }
modules_disabled = { "s2s"; "tls" }
interfaces = { "127.0.0.1" }
c2s_ports = { ${c2s} }
component_ports = { ${comp} }
component_interface = "127.0.0.1"
http_ports = { ${http} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
s2s_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
cross_domain_websocket = true
log = { { levels = { min = "info" }, to = "file", filename = "${run}/prosody.log" } }
VirtualHost "anon.localhost"
  authentication = "anonymous"
Component "support.localhost"
  component_secret = "${secret}"
`,
  );
  execFileSync("chown", ["-R", "prosody:", run]);
  const prosody = spawn("runuser", ["-u", "prosody", "--", "prosody", "-F", "--config", join(run, "prosody.cfg.lua")], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(prosody);
  await waitFor(() => {
    try {
      return /Activated service 'websocket'|Serving 'websocket'|started/i.test(readFileSync(join(run, "prosody.log"), "utf8")) || /http/.test(readFileSync(join(run, "prosody.log"), "utf8"));
    } catch {
      return false;
    }
  }, 15000, "prosody to start");
  await new Promise((r) => setTimeout(r, 500));

  const fake = new FakeServer();
  const desk = await startDeskDouble({ port: comp, domain: "support.localhost", secret, server: fake });
  const ws = `ws://127.0.0.1:${http}/xmpp-websocket`;
  const serve = spawn("node", [join(here, "serve.mjs"), "--port", String(web), "--websocket", ws], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(serve);
  await waitForLine(serve, /demo:/, 10000, "the demo server");
  const url = `http://127.0.0.1:${web}/`;

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await desktop(browser, url, fake);
    await mobile(browser, url, fake);
    await offline(browser, url, fake);
  } finally {
    await browser.close();
    desk.close();
    writeFileSync(join(out, "prosody.log"), readFileSync(join(run, "prosody.log")));
    rmSync(run, { recursive: true, force: true });
  }
}

const W = (page) => page.locator("#mucdesk-widget");
const inW = (page, sel) => W(page).locator(sel);

const AXE = fileURLToPath(new URL("../node_modules/axe-core/axe.min.js", import.meta.url));

/** axe-core on the widget (it reads open shadow roots): WCAG 2.1 A and AA rules. */
async function axe(page, state) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(async () => {
    const res = await window.axe.run({ include: [["#mucdesk-widget"]] }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return res.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
  check(`accessibility (axe, WCAG 2.1 AA): ${state}`, r.length === 0, r.join(" | "));
}

async function shot(page, name) {
  await page.waitForTimeout(250); // the panel's entrance animation
  await page.screenshot({ path: join(out, `${name}.png`) });
  // And the widget alone (panel and launcher), for the docs.
  const vp = page.viewportSize();
  // Before the first click there is no panel (the chat is loaded then).
  const panel = (await inW(page, ".md-panel").count()) ? await inW(page, ".md-panel").boundingBox() : null;
  if (panel && vp.width > 480) {
    const x = Math.max(0, Math.floor(panel.x) - 16);
    const y = Math.max(0, Math.floor(panel.y) - 16);
    await page.screenshot({ path: join(out, `${name}.widget.png`), clip: { x, y, width: vp.width - x, height: vp.height - y } });
  }
}

async function fillAndStart(page, question = "My invoice #1234 is wrong 😕") {
  await inW(page, "input[name=name]").fill("Ann");
  await inW(page, "input[name=email]").fill("ann@example.org");
  await inW(page, "textarea[name=question]").fill(question);
  await inW(page, ".md-form button[type=submit]").click();
}

async function desktop(browser, url, fake) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Chromium's own network messages (the WebSocket failing while offline
  // is the point of the exercise) are not the page's errors.
  page.on("console", (m) => m.type() === "error" && !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(m.text()) && errors.push(m.text()));
  await page.goto(url);
  await inW(page, ".md-launcher").waitFor();
  await shot(page, "01-launcher");
  check("the launcher is there, labelled", (await inW(page, ".md-launcher").getAttribute("aria-label")) === "Chat with us");

  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await inW(page, ".md-launcher").focus();
  await page.keyboard.press("Enter");
  await inW(page, ".md-form").waitFor({ timeout: 10000 });
  check("Enter on the launcher opens the form (WebSocket, anonymous login, request-chat)", true);
  await shot(page, "02-form");
  await axe(page, "form");

  await inW(page, "input[name=name]").fill("");
  await inW(page, ".md-form button[type=submit]").click();
  await inW(page, ".md-form-error").waitFor();
  check("an empty form is refused at the fields", (await inW(page, "input[name=email]").getAttribute("aria-invalid")) === "true");
  await shot(page, "03-form-errors");
  await axe(page, "form with errors");

  await fillAndStart(page);
  await inW(page, ".md-banner").getByText("You are number 2 in the queue.").waitFor({ timeout: 10000 });
  check("waiting: position and wait shown", (await inW(page, ".md-banner").textContent()).includes("Estimated wait: about 4 minutes."));
  const ticket = [...fake.tickets.values()].at(-1);
  const room = ticket.room;
  check("request-chat got page and browser", (ticket.values.page || [])[0] === url && /Chrom/.test((ticket.values.browser || [])[0] || ""));
  await shot(page, "04-waiting");
  await axe(page, "waiting");

  fake.agentJoin(room, "Alex");
  await inW(page, ".md-notice").getByText("Alex joined the chat.").waitFor();
  fake.agentTyping(room, "composing", "Alex");
  await inW(page, ".md-typing").getByText("Alex is typing…").waitFor();
  check("agent joined and typing shown", true);
  await shot(page, "05-agent-typing");
  fake.agentSay(room, "Hi Ann 👋 I'm looking at it. Our refund policy: https://example.org/refunds.", "Alex");
  await inW(page, ".md-agent a").waitFor();
  check("links are links", (await inW(page, ".md-agent a").getAttribute("href")) === "https://example.org/refunds");

  await inW(page, "#md-input").fill("Thanks! It's order 1234 <b>not bold</b>");
  await page.waitForTimeout(200);
  const composing = () => fake.rooms.get(room).archive.length;
  void composing;
  await inW(page, "#md-input").press("Enter");
  await waitFor(() => fake.customerMessages(room).some((m) => m.getChildText("body").startsWith("Thanks!")), 5000, "customer message archived");
  check("the customer's message reached the room", true);
  await waitFor(async () => (await inW(page, ".md-me .md-msg-state").first().isHidden()), 5000, "reflection");
  check("…and came back confirmed", true);
  await shot(page, "06-chatting");
  await axe(page, "chatting");

  // Reload: everything still there, once.
  await page.reload();
  await inW(page, ".md-agent").first().waitFor({ timeout: 15000 });
  await waitFor(async () => (await page.evaluate(() => 1)) && fake.rooms.get(room).occupants.size === 2, 10000, "rejoin");
  const count = async () => inW(page, ".md-log .md-msg").count();
  await page.waitForTimeout(500);
  check("after a reload the conversation is back, nothing twice", (await count()) === 2, `${await count()} messages`);
  check("…and the agent is not announced again", (await inW(page, ".md-notice").count()) === 1);
  await shot(page, "07-after-reload");

  // "Duplicate tab": a second tab with a copy of this one's sessionStorage.
  const copy = await page.evaluate(() => JSON.stringify(Object.fromEntries(Object.entries(sessionStorage))));
  const dup = await ctx.newPage();
  await dup.addInitScript((data) => {
    if (!sessionStorage.length) for (const [k, v] of Object.entries(JSON.parse(data))) sessionStorage.setItem(k, v);
  }, copy);
  await dup.goto(url);
  await inW(dup, "button").getByText("Continue here").waitFor({ timeout: 10000 });
  check("a duplicated tab defers to the one holding the chat", (await inW(page, ".md-composer").isVisible()) && fake.rooms.get(room).occupants.size === 2);
  await shot(dup, "07b-open-elsewhere");
  await inW(dup, "button").getByText("Continue here").click();
  await inW(dup, ".md-agent").first().waitFor({ timeout: 10000 });
  await inW(page, "button").getByText("Continue here").waitFor({ timeout: 10000 });
  check("'Continue here' moves the chat to that tab", (await inW(dup, ".md-log .md-msg").count()) === 2);
  await dup.close();
  await inW(page, "button").getByText("Continue here").click();
  await inW(page, ".md-composer").waitFor({ timeout: 10000 });
  await waitFor(() => fake.rooms.get(room).occupants.size === 2, 10000, "the first tab back in the room");
  check("…and back", (await count()) === 2);

  // Network loss.
  await ctx.setOffline(true);
  await page.evaluate(() => window.dispatchEvent(new Event("offline")));
  await waitFor(() => fake.rooms.get(room).occupants.size === 1, 15000, "Prosody noticing the customer left").catch(() => {});
  fake.agentSay(room, "Are you still there?", "Alex");
  fake.agentSay(room, "I've issued the refund 🎉", "Alex");
  await inW(page, ".md-conn").getByText(/Connection lost/).waitFor({ timeout: 40000 }).catch(() => {});
  await shot(page, "08-connection-lost");
  await axe(page, "connection lost");
  await ctx.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await inW(page, ".md-agent").getByText("I've issued the refund 🎉").waitFor({ timeout: 40000 });
  await page.waitForTimeout(500);
  check("back online: the missed messages arrive, nothing twice", (await count()) === 4, `${await count()} messages`);
  await shot(page, "09-reconnected");

  // The end.
  fake.destroyRoom(room, "Your refund was issued.");
  await inW(page, ".md-ended").waitFor({ state: "visible" });
  check("ended state shown", (await inW(page, ".md-banner").textContent()).startsWith("This chat has ended."));
  await shot(page, "10-ended");
  await axe(page, "ended with rating");
  await inW(page, 'label[for="md-star-5"]').click();
  await inW(page, "#md-rating-comment").fill("Quick and kind 👍");
  await inW(page, ".md-rating button[type=submit]").click();
  await inW(page, ".md-thanks").waitFor({ state: "visible", timeout: 10000 });
  check("rating stored via rate-chat", ticket.rating === 5 && ticket.comment === "Quick and kind 👍");
  await shot(page, "11-rated");
  const [download] = await Promise.all([page.waitForEvent("download"), inW(page, ".md-ended button").first().click()]);
  const text = readFileSync(await download.path(), "utf8");
  check("transcript downloads as text", /Alex: I've issued the refund 🎉/.test(text) && /You: Thanks!/.test(text), download.suggestedFilename());
  writeFileSync(join(out, "transcript.txt"), text);
  check("no page errors", errors.length === 0, errors.join(" | "));
  await ctx.close();
}

async function mobile(browser, url, fake) {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await ctx.newPage();
  await page.goto(url);
  await inW(page, ".md-launcher").click();
  await inW(page, ".md-form").waitFor({ timeout: 10000 });
  await shot(page, "12-mobile-form");
  const box = await inW(page, ".md-panel").boundingBox();
  check("on a 360 px phone the panel fills the screen", box && Math.round(box.width) === 360 && Math.round(box.height) === 740 && Math.round(box.y) === 0, JSON.stringify(box));
  await fillAndStart(page, "Can I change my delivery address?");
  await inW(page, ".md-banner").waitFor();
  const room = [...fake.tickets.values()].at(-1).room;
  fake.agentJoin(room, "Sam");
  fake.agentSay(room, "Sure! Which address would you like us to use? 🏠", "Sam");
  await inW(page, ".md-agent").waitFor();
  await inW(page, "#md-input").fill("12 Rue de la Paix, Paris");
  await inW(page, ".md-composer button").click();
  await page.waitForTimeout(400);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  check("no sideways scrolling on the phone", !overflow);
  await shot(page, "13-mobile-chat");
  await axe(page, "phone chat");
  await ctx.close();
}

async function offline(browser, url, fake) {
  fake.offline = true;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(url);
  await inW(page, ".md-launcher").click();
  await inW(page, ".md-form").waitFor({ timeout: 10000 });
  check("outside hours: leave-a-message form", (await inW(page, ".md-form button[type=submit]").textContent()) === "Send message");
  await shot(page, "14-leave-message");
  await axe(page, "leave a message");
  await fillAndStart(page, "Please call me back tomorrow.");
  await inW(page, ".md-scroll").getByText("Thank you, we have your message.").waitFor();
  await shot(page, "15-message-left");
  check("message left, ticket given", (await inW(page, ".md-scroll").textContent()).includes("Your reference number is"));
  fake.offline = false;
  await ctx.close();
}

main()
  .catch((e) => {
    console.error(e);
    failed += 1;
  })
  .finally(() => {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch {
        /* gone */
      }
    }
    const passed = results.filter((r) => r.ok).length;
    console.log(`${passed} passed, ${failed} failed`);
    console.log(`screenshots in ${out}`);
    setTimeout(() => process.exit(failed ? 1 : 0), 500);
  });
