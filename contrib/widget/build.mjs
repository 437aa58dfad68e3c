// Builds dist/mucdesk-widget.js: one minified IIFE (a classic script, so
// document.currentScript works and one <script> tag is enough) holding the
// widget, @xmpp/client and the CSS.  Also dist/mucdesk-widget.css, the same
// CSS for sites that want to read or host it (the bundle does not need it).
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
const watch = process.argv.includes("--watch");

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

// The CSS goes into the bundle as a minified string (ui.js puts it in the
// widget's shadow root).
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await esbuild.transform(readFileSync(args.path, "utf8"), { loader: "css", minify: true });
      return { contents: `export default ${JSON.stringify(code)};`, loader: "js" };
    });
  },
};

const options = {
  entryPoints: ["src/index.js"],
  bundle: true,
  minify: !watch,
  sourcemap: true,
  format: "iife",
  platform: "browser",
  target: ["chrome90", "firefox90", "safari15", "edge90"],
  outfile: "dist/mucdesk-widget.js",
  define: { __VERSION__: JSON.stringify(pkg.version) },
  legalComments: "linked",
  plugins: [noNodeDns, cssAsText],
  logLevel: "info",
};

mkdirSync("dist", { recursive: true });
copyFileSync("src/styles.css", "dist/mucdesk-widget.css");
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
