import { test } from "node:test";
import assert from "node:assert/strict";
import parse from "@xmpp/xml/lib/parse.js";
import { buildSubmit, buildSubmitFromObject, initialValues, parseForm, resultValues, validateField, validateForm } from "../src/forms.js";

const FORM = `<x xmlns='jabber:x:data' type='form'>
  <title>Chat with Billing</title>
  <instructions>Tell us about it.</instructions>
  <instructions>We answer within minutes.</instructions>
  <field var='FORM_TYPE' type='hidden'><value>urn:mucdesk:request-chat</value></field>
  <field var='name' type='text-single' label='Your name'><required/></field>
  <field var='email' type='text-single' label='Email'><required/><desc>We send the transcript there.</desc></field>
  <field var='question' type='text-multi' label='Question'><required/></field>
  <field var='product' type='list-single' label='Product'>
    <option label='Invoices'><value>inv</value></option><option label='Refunds'><value>ref</value></option>
  </field>
  <field var='topics' type='list-multi' label='Topics'><value>a</value>
    <option label='A'><value>a</value></option><option label='B'><value>b</value></option>
  </field>
  <field var='order' type='text-single' label='Order number'>
    <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:integer'><range min='1' max='99999'/></validate>
  </field>
  <field var='code' label='Code'>
    <validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'><regex>[A-Z]{2}-\\d+</regex></validate>
  </field>
  <field var='terms' type='boolean' label='I accept the terms'><required/></field>
  <field type='fixed'><value>Calls are recorded.</value></field>
  <field var='mystery' type='something-new' label='Mystery'/>
  <field var='page' type='hidden'/>
</x>`;

const form = () => parseForm(parse(FORM));

test("forms: parses title, instructions, fields with types, labels, required, options, validation", () => {
  const f = form();
  assert.equal(f.title, "Chat with Billing");
  assert.deepEqual(f.instructions, ["Tell us about it.", "We answer within minutes."]);
  const byVar = Object.fromEntries(f.fields.filter((x) => x.var).map((x) => [x.var, x]));
  assert.equal(byVar.name.required, true);
  assert.equal(byVar.name.label, "Your name");
  assert.equal(byVar.email.desc, "We send the transcript there.");
  assert.equal(byVar.question.type, "text-multi");
  assert.deepEqual(byVar.product.options, [{ label: "Invoices", value: "inv" }, { label: "Refunds", value: "ref" }]);
  assert.deepEqual(byVar.order.validate, { datatype: "xs:integer", min: "1", max: "99999", regex: null });
  assert.equal(byVar.code.type, "text-single", "no type means text-single");
  assert.equal(byVar.mystery.type, "text-single", "unknown types are treated as text-single");
  assert.equal(f.fields.find((x) => x.type === "fixed").values[0], "Calls are recorded.");
});

test("forms: initial values from defaults, then prefill (never for hidden fields)", () => {
  const v = initialValues(form(), { name: "Ann", page: "evil", terms: "true", topics: "a, b" });
  assert.equal(v.name, "Ann");
  assert.equal(v.page, "");
  assert.equal(v.terms, true);
  assert.deepEqual(v.topics, ["a", "b"]);
  assert.equal(v.FORM_TYPE, "urn:mucdesk:request-chat");
});

test("forms: validation of required, email, options, integer range, regex, boolean", () => {
  const f = form();
  const ok = { name: "Ann", email: "ann@example.org", question: "Why?", product: "inv", topics: ["a"], order: "42", code: "AB-12", terms: true, mystery: "" };
  assert.deepEqual(validateForm(f, ok), {});
  const errors = validateForm(f, { ...ok, name: "  ", email: "ann@", product: "zzz", topics: ["c"], order: "0", code: "ab-1", terms: false });
  assert.deepEqual(
    Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, e.key])),
    { name: "errorRequired", email: "errorEmail", product: "errorOption", topics: "errorOption", order: "errorRange", code: "errorPattern", terms: "errorRequired" },
  );
  assert.deepEqual(errors.order.vars, { min: "1", max: "99999" });
  assert.equal(validateForm(f, { ...ok, order: "4x" }).order.key, "errorInteger");
  // Optional fields may stay empty.
  assert.deepEqual(validateForm(f, { ...ok, product: "", order: "", code: "" }), {});
});

test("forms: email check accepts real addresses and refuses obvious mistakes", () => {
  const email = { var: "email", type: "text-single", required: true, options: [] };
  for (const good of ["a@b.co", "first.last+tag@sub.example.org", "ünï@例え.jp"]) assert.equal(validateField(email, good), null, good);
  for (const bad of ["a", "a@b", "a b@c.org", "a@b.c", "<a@b.org>", "a@@b.org"]) assert.deepEqual(validateField(email, bad), { key: "errorEmail" }, bad);
});

test("forms: a broken server regex does not block the customer", () => {
  assert.equal(validateField({ var: "x", type: "text-single", options: [], validate: { datatype: "xs:string", min: null, max: null, regex: "([" } }, "anything"), null);
});

test("forms: submit form echoes hidden fields, skips fixed, encodes each type", () => {
  const f = form();
  const x = buildSubmit(
    f,
    { name: "Ann", email: " ann@example.org ", question: "line 1\nline 2", product: "inv", topics: ["a", "b"], order: "", code: "", terms: true, mystery: "m" },
    { page: "https://shop.example/cart" },
  );
  assert.equal(x.attrs.type, "submit");
  const vals = Object.fromEntries(x.getChildren("field").map((fl) => [fl.attrs.var, fl.getChildren("value").map((v) => v.text())]));
  assert.deepEqual(vals, {
    FORM_TYPE: ["urn:mucdesk:request-chat"],
    name: ["Ann"],
    email: ["ann@example.org"],
    question: ["line 1", "line 2"],
    product: ["inv"],
    topics: ["a", "b"],
    order: [],
    code: [],
    terms: ["1"],
    mystery: ["m"],
    page: ["https://shop.example/cart"],
  });
  assert.equal(x.getChildren("field").find((fl) => fl.attrs.var === "FORM_TYPE").attrs.type, "hidden");
  assert.ok(!x.toString().includes("Calls are recorded"));
});

test("forms: a text-single answered in a textarea is sent as one line", () => {
  const f = parseForm(parse("<x xmlns='jabber:x:data' type='form'><field var='question' type='text-single'/></x>"));
  const x = buildSubmit(f, { question: "  two\n lines  " });
  assert.deepEqual(x.getChild("field").getChildren("value").map((v) => v.text()), ["two lines"]);
});

test("forms: special characters are escaped on the wire, not interpreted", () => {
  const f = parseForm(parse("<x xmlns='jabber:x:data' type='form'><field var='name' type='text-single'/></x>"));
  const s = buildSubmit(f, { name: "</value><evil/> & 'q'" }).toString();
  assert.ok(!s.includes("<evil/>"));
  const back = parse(s);
  assert.equal(back.getChild("field").getChildText("value"), "</value><evil/> & 'q'");
});

test("forms: submit from an object fills the form's fields and keeps hidden defaults", () => {
  const f = parseForm(parse("<x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE' type='hidden'><value>urn:x</value></field><field var='token' type='text-private'/><field type='fixed'><value>hi</value></field></x>"));
  const x = buildSubmitFromObject({ token: "abc", extra: ["1", "2"] }, f);
  const vals = Object.fromEntries(x.getChildren("field").map((fl) => [fl.attrs.var, fl.getChildren("value").map((v) => v.text())]));
  assert.deepEqual(vals, { FORM_TYPE: ["urn:x"], token: ["abc"], extra: ["1", "2"] });
});

test("forms: result values by var", () => {
  const r = parseForm(parse("<x xmlns='jabber:x:data' type='result'><field var='room' type='jid-single'><value>t-1@s</value></field><field var='position'><value>3</value></field><field var='m' type='list-multi'><value>a</value><value>b</value></field></x>"));
  assert.deepEqual(resultValues(r), { room: "t-1@s", position: "3", m: ["a", "b"] });
});
