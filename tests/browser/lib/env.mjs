// What the browser tests run against, started and stopped as one:
//
//   desk     tests/browser/desk_env.py (Debian's Python, tests/lib/mdtest):
//            PostgreSQL, Prosody (WebSocket, anonymous host), mucdesk (the
//            sanitizer build, $MUCDESK_BIN) with the queue `billing`, and the
//            agent agent1@localhost, a slixmpp client; driven over its
//            stdin/stdout, one JSON line each way (desk.call(op, args)).
//   link     a TCP relay between Chromium and the XMPP server's HTTP port, which
//            the widget's WebSocket goes through: link.cut() is the network
//            loss (every connection dropped, new ones refused until
//            link.restore()).  Chromium's own offline mode
//            (context.setOffline) leaves open WebSockets alone.
//   web      contrib/widget/serve.mjs: the demo page and the built widget,
//            its snippet pointing at the relay.
//   browser  Debian's Chromium through playwright-core (no downloaded
//            browser); Playwright gives it a fresh temporary profile
//            (--user-data-dir) at each launch and removes it at close.
//
// stop() stops all of it whatever state it is in; it is also run on
// SIGINT/SIGTERM and the desk helper stops its servers by itself when its
// stdin closes (this process died).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const HERE = fileURLToPath(new URL("..", import.meta.url));
export const REPO = join(HERE, "..", "..");

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

/** The desk helper: call(op, args) -> result (rejects with the helper's error). */
async function startDesk(logsDir, upload = null) {
  const child = spawn("/usr/bin/python3", [join(HERE, "desk_env.py")], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, DESK_ENV_LOGS: logsDir, DESK_ENV_UPLOAD: upload ? JSON.stringify(upload) : "" },
  });
  const stderr = [];
  child.stderr.on("data", (d) => {
    stderr.push(String(d));
    if (process.env.BROWSER_TESTS_VERBOSE) process.stderr.write(d);
  });
  const waiting = new Map();
  let nextId = 1;
  let exited = null;
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new Error(msg.error));
  });
  child.on("exit", (code, sig) => {
    exited = `desk helper exited (${code ?? sig}); its stderr:\n${stderr.join("").slice(-4000)}`;
    for (const w of waiting.values()) w.reject(new Error(exited));
    waiting.clear();
  });
  const ready = new Promise((resolve, reject) => waiting.set(0, { resolve, reject }));
  const desk = {
    child,
    info: null,
    stderr: () => stderr.join(""),
    call(op, args = {}) {
      if (exited) return Promise.reject(new Error(exited));
      const id = nextId++;
      const p = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
      child.stdin.write(JSON.stringify({ id, op, ...args }) + "\n");
      return p;
    },
    async sql(query) {
      return desk.call("sql", { query });
    },
    async stop(saveLogsTo = null) {
      if (exited) return [exited];
      // Stopping takes a few seconds (mucdesk's clean exit is checked);
      // a helper that does not answer in a minute is killed.
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the desk helper did not stop within 60 s")), 60000);
      });
      try {
        return await Promise.race([desk.call("stop", { save_logs_to: saveLogsTo }), late]);
      } finally {
        clearTimeout(timer);
        child.stdin.end();
        if (!exited) {
          // It exits by itself once stopped (or at the end of its input);
          // SIGTERM makes it stop everything; SIGKILL is the last resort.
          const gone = new Promise((r) => child.once("exit", r));
          const t1 = setTimeout(() => child.kill("SIGTERM"), 15000);
          const t2 = setTimeout(() => child.kill("SIGKILL"), 45000);
          await gone;
          clearTimeout(t1);
          clearTimeout(t2);
        }
      }
    },
  };
  desk.info = await ready;
  return desk;
}

/**
 * A TCP relay to 127.0.0.1:target; cut() drops and refuses, restore()
 * undoes; delay(ms) holds what goes through, each way, for ms (a slower
 * network: the WebSocket's round trip grows by twice that).
 */
async function startLink(target) {
  const pairs = new Set();
  let down = false;
  let delayMs = 0;
  // Each chunk goes on after delayMs, in order (one timer per chunk; the
  // same delay for all keeps the order).
  const relay = (from, to) =>
    from.on("data", (chunk) => {
      if (!delayMs) to.write(chunk);
      else setTimeout(() => to.destroyed || to.write(chunk), delayMs);
    });
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    get connections() {
      return pairs.size;
    },
    cut() {
      down = true;
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      down = false;
    },
    delay(ms) {
      delayMs = ms;
    },
    close() {
      this.cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** contrib/widget/serve.mjs on a free port; resolves to its URL. */
async function startWeb(websocket, queue, domain) {
  const child = spawn(process.execPath, [join(REPO, "contrib/widget/serve.mjs"), "--port", "0", "--websocket", websocket, "--queue", queue, "--domain", domain], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`the demo server did not start: ${out}`)), 10000);
    const on = (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.on("exit", (code) => reject(new Error(`the demo server exited (${code}): ${out}`)));
  });
  return { child, url };
}

/** The results' name for this run: "browser", or what tests/run gives in
 * BROWSER_LAYER (the same tests against ejabberd: "ejabberd-browser"). */
export const LAYER = process.env.BROWSER_LAYER || "browser";

/**
 * Starts everything.  resultsDir: where logs go (its logs/LOGS/ directory,
 * LOGS being LAYER unless said otherwise).  widget: false leaves out
 * the relay and the demo page (a test that brings its own page talks to
 * Prosody's WebSocket, desk.info.websocket, directly).  Returns { desk,
 * link, web, browser, url, stop(failed) -> problems[] }.
 */
export async function startEnv(resultsDir, { widget = true, logs = LAYER, upload = null } = {}) {
  const logsDir = join(resultsDir, "logs", logs);
  mkdirSync(logsDir, { recursive: true });
  const env = { desk: null, link: null, web: null, browser: null };
  let stopped = false;
  env.stop = async (failed = false) => {
    if (stopped) return [];
    stopped = true;
    const problems = [];
    const step = async (what, fn) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${e.message}`);
      }
    };
    if (env.browser) await step("closing Chromium", () => env.browser.close());
    if (env.web) {
      env.web.child.kill("SIGTERM");
    }
    if (env.link) await step("closing the relay", () => env.link.close());
    if (env.desk) {
      const keep = failed || process.env.MUCDESK_SAVE_ALL_LOGS === "1";
      await step("stopping the desk", async () => problems.push(...(await env.desk.stop(keep ? logsDir : null))));
    }
    return problems;
  };
  const onSignal = () => {
    env.stop(true).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // The desk (the slow part) and Chromium start side by side.
    const [desk, browser] = await Promise.allSettled([
      startDesk(logsDir, upload),
      chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS }),
    ]);
    if (desk.status === "fulfilled") env.desk = desk.value;
    if (browser.status === "fulfilled") env.browser = browser.value;
    if (desk.status === "rejected") throw desk.reason;
    if (browser.status === "rejected") throw browser.reason;
    if (!widget) return env;
    env.link = await startLink(env.desk.info.http_port);
    // The server's own WebSocket path (Prosody /xmpp-websocket, ejabberd /ws).
    env.websocket = `ws://127.0.0.1:${env.link.port}${new URL(env.desk.info.websocket).pathname}`;
    env.web = await startWeb(env.websocket, env.desk.info.queue, env.desk.info.anonymous_domain);
    env.url = env.web.url;
    return env;
  } catch (e) {
    const problems = await env.stop(true);
    if (problems.length) e.message += `\n(while stopping: ${problems.join("; ")})`;
    throw e;
  }
}
