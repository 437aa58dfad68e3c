// Rendering a XEP-0004 form as HTML: each field type, labels, values read
// back, errors tied to fields, server text kept as text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";
import parse from "@xmpp/xml/lib/parse.js";
import { FormView } from "../src/formview.js";
import { initialValues, parseForm } from "../src/forms.js";
import { DEFAULT_TEXTS, translator } from "../src/texts.js";

const FORM = `<x xmlns='jabber:x:data' type='form'>
  <title>Billing &lt;b&gt;desk&lt;/b&gt;</title>
  <field var='FORM_TYPE' type='hidden'><value>urn:mucdesk:request-chat</value></field>
  <field var='name' type='text-single' label='Your &lt;i&gt;name&lt;/i&gt;'><required/></field>
  <field var='email' type='text-single' label='Email'><required/><desc>For the transcript.</desc></field>
  <field var='question' type='text-single' label='Question'/>
  <field var='product' type='list-single' label='Product'><value>ref</value>
    <option label='Invoices'><value>inv</value></option><option label='Refunds'><value>ref</value></option>
  </field>
  <field var='topics' type='list-multi' label='Topics'><required/>
    <option label='Card'><value>card</value></option><option label='Bank'><value>bank</value></option>
  </field>
  <field var='terms' type='boolean' label='I accept the terms'/>
  <field var='pin' type='text-private' label='PIN'/>
  <field var='cc' type='jid-multi' label='Copy to'/>
  <field type='fixed'><value>Calls are recorded.</value></field>
  <field var='unlabelled_field' type='text-single'/>
</x>`;

function render(values = null) {
  const { document } = new JSDOM("<!doctype html><body></body>").window;
  const form = parseForm(parse(FORM));
  const view = new FormView(document, form, { t: translator(DEFAULT_TEXTS), idPrefix: "f", values: values || initialValues(form), submitLabel: "Start chat" });
  document.body.appendChild(view.el);
  return { document, form, view, $: (s) => document.querySelector(s), $$: (s) => [...document.querySelectorAll(s)] };
}

test("formview: each field type gets its control, every control a label", () => {
  const { $, $$, document } = render();
  assert.equal($("input[name=name]").type, "text");
  assert.equal($("input[name=name]").getAttribute("autocomplete"), "name");
  assert.equal($("input[name=email]").type, "email");
  assert.equal($("textarea[name=question]").tagName, "TEXTAREA", "the question gets room to write");
  assert.equal($("select[name=product]").value, "ref", "the default is selected");
  assert.deepEqual($$("select[name=product] option").map((o) => o.textContent), ["Invoices", "Refunds"]);
  assert.equal($("fieldset legend").textContent.replace(" *", ""), "Topics");
  assert.deepEqual($$("input[name=topics]").map((i) => i.type), ["checkbox", "checkbox"]);
  assert.equal($("input[name=terms]").type, "checkbox");
  assert.equal($("input[name=pin]").type, "password");
  assert.equal($("textarea[name=cc]").tagName, "TEXTAREA");
  assert.equal($("input[name=FORM_TYPE]"), null, "hidden fields are not shown");
  assert.equal($(".md-fixed").textContent, "Calls are recorded.");
  for (const c of $$("input, select, textarea")) {
    assert.ok(document.querySelector(`label[for="${c.id}"]`), `label for ${c.name}`);
  }
  assert.equal(document.querySelector(`label[for="${$("input[name=unlabelled_field]").id}"]`).textContent, "Unlabelled field");
  const desc = document.getElementById($("input[name=email]").getAttribute("aria-describedby").split(" ")[0]);
  assert.equal(desc.textContent, "For the transcript.");
});

test("formview: server text is shown as text, never as markup", () => {
  const { $, document } = render();
  assert.equal($(".md-form-title").textContent, "Billing <b>desk</b>");
  assert.equal(document.querySelector("b"), null);
  assert.equal(document.querySelector("i"), null);
});

test("formview: read() returns values in the shapes forms.js expects", () => {
  const { $, $$, view } = render();
  $("input[name=name]").value = "Ann";
  $("textarea[name=question]").value = "Hi";
  $$("input[name=topics]")[1].checked = true;
  $("input[name=terms]").checked = true;
  $("textarea[name=cc]").value = "a@x.org\n\n b@y.org ";
  $("select[name=product]").value = "inv";
  const v = view.read();
  assert.equal(v.name, "Ann");
  assert.deepEqual(v.topics, ["bank"]);
  assert.equal(v.terms, true);
  assert.deepEqual(v.cc, ["a@x.org", "b@y.org"]);
  assert.equal(v.product, "inv");
  assert.equal("FORM_TYPE" in v, false);
});

test("formview: errors set aria-invalid and a message tied to the field; clearing removes them", () => {
  const { $, view, document } = render();
  view.setErrors({ email: { key: "errorEmail" }, topics: { text: "Pick at least one" } }, { key: "errorSummary" });
  const email = $("input[name=email]");
  assert.equal(email.getAttribute("aria-invalid"), "true");
  const errId = email.getAttribute("aria-describedby").split(" ").at(-1);
  assert.equal(document.getElementById(errId).textContent, DEFAULT_TEXTS.errorEmail);
  assert.equal($(".md-form-error").textContent, DEFAULT_TEXTS.errorSummary);
  assert.ok(view.focusFirstInvalid());
  assert.equal(document.activeElement, email);
  view.setErrors({}, null);
  assert.equal(email.hasAttribute("aria-invalid"), false);
  assert.equal($(".md-form-error").hidden, true);
});

test("formview: values given are shown again (a retry keeps what was typed)", () => {
  const { $ } = render({ name: "Zoë 🙂", email: "z@example.org", question: "again", product: "inv", topics: ["card"], terms: true });
  assert.equal($("input[name=name]").value, "Zoë 🙂");
  assert.equal($("select[name=product]").value, "inv");
  assert.equal($("input[name=topics][value=card]").checked, true);
  assert.equal($("input[name=terms]").checked, true);
});
