// node:test's JUnit reporter puts test cases straight under <testsuites>
// when there are no describe() blocks, with classname="test".  This wraps
// them in one <testsuite name="widget"> with counts, and names each case's
// class after its area (the test name's prefix: "session: ..." ->
// "widget.session"), as other JUnit producers do.
//   node junit-suite.mjs FILE.xml
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
let xml = readFileSync(file, "utf8");
if (!/<testsuite[\s>]/.test(xml)) {
  xml = xml.replace(/<testcase name="([^"]*?)"([^>]*?)classname="test"/g, (all, name, mid) => {
    const m = /^([a-z-]+): /.exec(name);
    return `<testcase name="${name}"${mid}classname="widget.${m ? m[1] : "misc"}"`;
  });
  const cases = (xml.match(/<testcase /g) || []).length;
  const failures = (xml.match(/<failure[ >]/g) || []).length;
  const skipped = (xml.match(/<skipped[ >/]/g) || []).length;
  let time = 0;
  for (const m of xml.matchAll(/<testcase [^>]*time="([0-9.]+)"/g)) time += Number(m[1]);
  xml = xml
    .replace(/<testsuites>/, `<testsuites>\n<testsuite name="widget" tests="${cases}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`)
    .replace(/<\/testsuites>/, "</testsuite>\n</testsuites>");
  writeFileSync(file, xml);
}
