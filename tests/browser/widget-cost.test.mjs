// What the widget costs the page it sits on (issue 15, "costing nothing"),
// measured in Debian's Chromium against the real desk: the bytes the page
// downloads for the widget and the main-thread time it spends before
// anyone clicks, whether anything connects before then, and the time from
// the click on the launcher to the pre-chat form on the screen.
//
// Figures, not timed assertions: they are printed (and written to
// $BROWSER_RESULTS/<layer>/cost.json); doc/performance.md reports them
// (WIDGET_COST_RUNS=N: N runs of each kind, for steadier medians).  What
// is asserted is what must hold whatever the machine's speed: the
// launcher's gzipped bytes within the budget kept in the repository
// (contrib/widget/budget.json), no WebSocket before the click, and the
// form shown after it.
//
// Profiles: "loopback" (this machine, no throttling) and "slow 4G"
// (Lighthouse's mobile profile: 150 ms round trip, 1.6 Mbit/s down,
// 750 kbit/s up, the CPU 4 times slower), the HTTP side through Chromium's
// network emulation and the WebSocket through the test's relay, which holds
// every chunk 75 ms each way.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LAYER, REPO, startEnv } from "./lib/env.mjs";
import { $ } from "./lib/widget.mjs";

const RESULTS = process.env.BROWSER_RESULTS || join(process.cwd(), "results");
const OUT = join(RESULTS, LAYER);
const BUDGET = JSON.parse(readFileSync(join(REPO, "contrib/widget/budget.json"), "utf8"));

const PROFILES = {
  loopback: { runs: { cold: 3, hover: 2, warm: 2 }, cpu: 1, net: null, wsDelay: 0 },
  "slow 4G": { runs: { cold: 2, hover: 2, warm: 2 }, cpu: 4, net: { latency: 150, downloadThroughput: (1.6e6 / 8) | 0, uploadThroughput: (750e3 / 8) | 0 }, wsDelay: 75 },
};
// How the click comes: "cold" (a first visit, straight to the click),
// "hover" (the pointer rests on the launcher 300 ms before the click, as a
// mouse does), "warm" (a visitor whose browser has the widget's files
// cached: the page is visited once before, the launcher hovered, not
// opened).
const MODES = ["cold", "hover", "warm"];
// More runs for the figures of doc/performance.md: WIDGET_COST_RUNS=N gives
// every mode of every profile N runs (the default keeps the layer quick).
const RUNS = Number(process.env.WIDGET_COST_RUNS) || 0;
if (RUNS) for (const p of Object.values(PROFILES)) for (const m of MODES) p.runs[m] = RUNS;

let env = null;
const figures = {};

before(async () => {
  env = await startEnv(RESULTS, { logs: `${LAYER}/cost` });
});

after(async () => {
  if (env) await env.stop(true);
});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};

/** The widget's files among the page's resources: name, bytes over the wire, body bytes. */
async function widgetResources(page) {
  return page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => /mucdesk-widget|\/chunks\/|\/locales\//.test(e.name))
      .map((e) => ({ name: new URL(e.name).pathname, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize })),
  );
}

/** One page load, then one click: what each cost. */
async function measureOnce(profile, mode) {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  let sockets = 0;
  // The page's own origin first: the renderer that then loads the page is
  // the one throttled (a navigation to another site changes processes).
  await page.goto(new URL("/robots.txt", env.url).href); // a 404 page, of the same origin
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketCreated", () => (sockets += 1));
  if (profile.net) await cdp.send("Network.emulateNetworkConditions", { offline: false, ...profile.net });
  if (profile.cpu > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: profile.cpu });
  await cdp.send("Performance.enable");
  env.link.delay(profile.wsDelay);
  // Long tasks (over 50 ms on the main thread), from the start of the page.
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  });
  try {
    if (mode === "warm") {
      await page.goto(env.url, { waitUntil: "load" });
      await $(page, ".md-launcher").hover();
      // (A widget with no lazy part has nothing more to fetch.)
      await page.waitForFunction(() => window.MucdeskWidget && [undefined, "loaded"].includes(window.MucdeskWidget.loaded));
    }
    await page.goto(env.url, { waitUntil: "load" });
    await $(page, ".md-launcher").waitFor();
    await page.waitForLoadState("networkidle");
    const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const beforeClick = {
      resources: await widgetResources(page),
      longTasks: await page.evaluate(() => window.__longTasks.slice()),
      scriptMs: metrics.ScriptDuration * 1000,
      taskMs: metrics.TaskDuration * 1000,
      heapBytes: metrics.JSHeapUsedSize,
      sockets,
    };
    if (mode === "hover") {
      await $(page, ".md-launcher").hover();
      await page.waitForTimeout(300);
    }
    // Click to form: in the page, from the click to the frame after the
    // form is in the widget's shadow root.
    const clickToForm = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const root = document.getElementById("mucdesk-widget").shadowRoot;
          const t0 = performance.now();
          const timer = setTimeout(() => reject(new Error("no form within 30 s")), 30000);
          const done = () =>
            requestAnimationFrame(() => {
              clearTimeout(timer);
              resolve(performance.now() - t0);
            });
          const mo = new MutationObserver(() => {
            if (root.querySelector(".md-form")) {
              mo.disconnect();
              done();
            }
          });
          mo.observe(root, { subtree: true, childList: true });
          root.querySelector(".md-launcher").click();
        }),
    );
    await $(page, ".md-form").waitFor();
    const afterOpen = await widgetResources(page);
    return { beforeClick, clickToForm, afterOpen };
  } finally {
    env.link.delay(0);
    await ctx.close();
  }
}

const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

for (const [name, profile] of Object.entries(PROFILES)) {
  test(`the host page's cost, ${name}: bytes and main-thread time before the first click; click to form`, async () => {
    const byMode = {};
    for (const mode of MODES) {
      byMode[mode] = [];
      for (let i = 0; i < profile.runs[mode]; i += 1) byMode[mode].push(await measureOnce(profile, mode));
    }
    const runs = byMode.cold;
    const first = runs[0];
    const f = {
      runs: runs.length,
      requestsBeforeClick: first.beforeClick.resources.length,
      bytesBeforeClick: sum(first.beforeClick.resources, (r) => r.body),
      transferBeforeClick: sum(first.beforeClick.resources, (r) => r.transfer),
      decodedBeforeClick: sum(first.beforeClick.resources, (r) => r.decoded),
      filesBeforeClick: first.beforeClick.resources.map((r) => `${r.name} ${r.body}`),
      longTasksBeforeClick: median(runs.map((r) => r.beforeClick.longTasks.length)),
      longTaskMsBeforeClick: median(runs.map((r) => sum(r.beforeClick.longTasks, (t) => t.duration))),
      blockingMsBeforeClick: median(runs.map((r) => sum(r.beforeClick.longTasks, (t) => Math.max(0, t.duration - 50)))),
      scriptMsBeforeClick: median(runs.map((r) => r.beforeClick.scriptMs)),
      taskMsBeforeClick: median(runs.map((r) => r.beforeClick.taskMs)),
      heapBytesBeforeClick: median(runs.map((r) => r.beforeClick.heapBytes)),
      clickToFormMs: median(runs.map((r) => r.clickToForm)),
      clickToFormAllMs: runs.map((r) => Math.round(r.clickToForm)),
      clickToFormHoverMs: median(byMode.hover.map((r) => r.clickToForm)),
      clickToFormWarmMs: median(byMode.warm.map((r) => r.clickToForm)),
      bytesBeforeClickWarm: sum(byMode.warm[0].beforeClick.resources, (r) => r.transfer),
      requestsAfterOpen: first.afterOpen.length,
      bytesAfterOpen: sum(first.afterOpen, (r) => r.body),
    };
    figures[name] = f;
    console.log(`widget cost (${LAYER}, ${name}): ${JSON.stringify(f, null, 1)}`);
    for (const r of Object.values(byMode).flat()) assert.equal(r.beforeClick.sockets, 0, "nothing connects before the click");
    assert.ok(f.bytesBeforeClick <= BUDGET.launcherGzipBytes, `the launcher's bytes over the wire (${f.bytesBeforeClick}) within the budget (${BUDGET.launcherGzipBytes}, contrib/widget/budget.json)`);
  });
}

test("the figures, written for doc/performance.md", () => {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "cost.json"), JSON.stringify({ budget: BUDGET, figures }, null, 2) + "\n");
  const row = (n) => {
    const f = figures[n];
    return f ? `${n}: ${f.bytesBeforeClick} B gzipped in ${f.requestsBeforeClick} file(s) before the click, ${f.longTasksBeforeClick} long task(s) (${Math.round(f.longTaskMsBeforeClick)} ms, blocking ${Math.round(f.blockingMsBeforeClick)} ms), script ${Math.round(f.scriptMsBeforeClick)} ms; click to form ${Math.round(f.clickToFormMs)} ms (median of ${f.runs}; after a hover ${Math.round(f.clickToFormHoverMs)} ms; cached ${Math.round(f.clickToFormWarmMs)} ms); ${f.bytesAfterOpen} B once open` : `${n}: not measured`;
  };
  console.log(`widget cost summary (${LAYER}):\n  ${Object.keys(PROFILES).map(row).join("\n  ")}`);
});

test("mucdesk stops cleanly: exit status 0, no sanitizer report", async () => {
  const problems = await env.stop(false);
  assert.deepEqual(problems, []);
});
