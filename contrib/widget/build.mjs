// Builds the widget into dist/:
//
//   mucdesk-widget.js            the launcher: the one file a page loads
//                                (a classic script, an IIFE, so that
//                                document.currentScript works and one
//                                <script> tag is enough).  Small (its
//                                gzipped size is held to budget.json by
//                                tests/bundle.test.js): the configuration,
//                                the language choice, the button.
//   mucdesk-widget/chat-HASH.js  the chat: session, panel, @xmpp/client, its
//                                CSS; an ES module the launcher import()s on
//                                the first click (or at once to resume a
//                                chat)
//   mucdesk-widget/locales/LANG-HASH.js
//                                one translation each, loaded with the chat
//                                for a customer of that language (English
//                                is in the chat itself)
//   mucdesk-widget/chunks/…      code the chat and the translations share,
//                                if any (esbuild's code splitting)
//   mucdesk-widget/files.json    the map of those files the launcher holds
//   mucdesk-widget.css           the chat's CSS, for reading (nothing needs it)
//
// The lazy files are content-hashed, so a site can serve mucdesk-widget/
// with a long cache lifetime; the launcher (short-lived cache) knows their
// names: the split build runs first and its metafile gives the launcher's
// __CHUNKS__ map.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, relative } from "node:path";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
const watch = process.argv.includes("--watch");
const TARGET = ["chrome90", "firefox90", "safari15", "edge90"];
const LAZY_DIR = "dist/mucdesk-widget";

// @xmpp/resolve imports node:dns for SRV lookups; its package.json maps
// "./lib/dns" away for browsers, but the import says "./lib/dns.js", which
// that mapping does not match.  Browsers only use the WebSocket URL given.
const noNodeDns = {
  name: "no-node-dns",
  setup(build) {
    build.onResolve({ filter: /^node:dns$|(^|\/)lib\/dns\.js$/ }, () => ({ path: "dns", namespace: "empty" }));
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export default {};", loader: "js" }));
  },
};

// CSS goes into the bundles as a minified string (the launcher and the
// panel put theirs in the widget's shadow root).
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await esbuild.transform(readFileSync(args.path, "utf8"), { loader: "css", minify: true });
      return { contents: `export default ${JSON.stringify(code)};`, loader: "js" };
    });
  },
};

// The launcher holds a few words per language (launcher-texts.js), not
// the translations: the module is evaluated here and replaced by its value.
const launcherTexts = {
  name: "launcher-texts",
  setup(build) {
    build.onLoad({ filter: /[/\\]src[/\\]launcher-texts\.js$/ }, async (args) => {
      const mod = await import(`${new URL(`file://${args.path}`).href}?t=${Date.now()}`);
      return { contents: `export default ${JSON.stringify(mod.default)};`, loader: "js", watchFiles: readdirSync("src/locales").map((f) => `src/locales/${f}`) };
    });
  },
};

const LOCALES = readdirSync("src/locales")
  .filter((f) => f.endsWith(".js") && f !== "en.js")
  .map((f) => `src/locales/${f}`);

const lazyOptions = {
  entryPoints: ["src/chat.js", ...LOCALES],
  outbase: "src",
  outdir: LAZY_DIR,
  entryNames: "[dir]/[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  minify: !watch,
  sourcemap: true,
  platform: "browser",
  target: TARGET,
  define: { __VERSION__: JSON.stringify(pkg.version) },
  legalComments: "linked",
  // Modules are always read as UTF-8: the translations stay as they are
  // written (the launcher, a classic script, keeps to ASCII: its page may
  // be in another encoding).
  charset: "utf8",
  metafile: true,
  plugins: [noNodeDns, cssAsText],
  logLevel: "info",
};

/**
 * The launcher's map of the lazy files, from the metafile: { dir:
 * "mucdesk-widget/", chat: ["chat-H.js", …every chunk the chat or a
 * translation imports], locales: { de: "locales/de-H.js", … } }, relative
 * to the launcher.  The launcher import()s the chat, those chunks and the
 * translation all at once, so a shared chunk costs no extra round trip.
 */
function chunkMap(metafile) {
  const rel = (out) => relative(LAZY_DIR, out).split("\\").join("/");
  const map = { dir: `${relative("dist", LAZY_DIR)}/`, chat: [], locales: {} };
  const shared = new Set();
  for (const [out, info] of Object.entries(metafile.outputs)) {
    if (!info.entryPoint || !out.endsWith(".js")) continue;
    for (const i of info.imports) if (i.kind === "import-statement") shared.add(rel(i.path));
    if (info.entryPoint === "src/chat.js") map.chat.unshift(rel(out));
    else if (info.entryPoint.startsWith("src/locales/")) map.locales[basename(info.entryPoint, ".js")] = rel(out);
  }
  if (!map.chat.length) throw new Error("build: no chat entry in the metafile");
  map.chat.push(...shared);
  return map;
}

const launcherOptions = (chunks) => ({
  entryPoints: ["src/launcher.js"],
  bundle: true,
  minify: !watch,
  sourcemap: true,
  format: "iife",
  platform: "browser",
  target: TARGET,
  outfile: "dist/mucdesk-widget.js",
  define: { __VERSION__: JSON.stringify(pkg.version), __CHUNKS__: JSON.stringify(chunks) },
  legalComments: "linked",
  plugins: [cssAsText, launcherTexts],
  // import(url) of the chat is on purpose: it is loaded at run time.
  logOverride: { "unsupported-dynamic-import": "silent" },
  logLevel: "info",
});

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist", { recursive: true });
copyFileSync("src/styles.css", "dist/mucdesk-widget.css");
if (watch) {
  // The lazy build first, then the launcher rebuilt with the new names
  // each time the lazy files change.
  let launcher = null;
  const relaunch = {
    name: "relaunch",
    setup(build) {
      build.onEnd(async (result) => {
        if (!result.metafile) return;
        if (launcher) await launcher.dispose();
        launcher = await esbuild.context(launcherOptions(chunkMap(result.metafile)));
        await launcher.watch();
      });
    },
  };
  const ctx = await esbuild.context({ ...lazyOptions, plugins: [...lazyOptions.plugins, relaunch] });
  await ctx.watch();
} else {
  const lazy = await esbuild.build(lazyOptions);
  const chunks = chunkMap(lazy.metafile);
  writeFileSync(`${LAZY_DIR}/files.json`, JSON.stringify(chunks, null, 2) + "\n");
  await esbuild.build(launcherOptions(chunks));
}
