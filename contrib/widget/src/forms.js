// XEP-0004 data forms: read a form the server sent, validate what the
// customer typed, and build the <x type='submit'/> back.  Pure logic: the
// DOM side is formview.js.
//
// Values are kept per field var as:
//   boolean                         -> true/false
//   list-multi, jid-multi           -> array of strings
//   text-multi                      -> one string, lines joined by "\n"
//   everything else                 -> string

import { xml } from "@xmpp/xml";
import { NS } from "./protocol.js";

const XDV = "http://jabber.org/protocol/xdata-validate";
const FIELD_TYPES = new Set([
  "boolean", "fixed", "hidden", "jid-multi", "jid-single", "list-multi",
  "list-single", "text-multi", "text-private", "text-single",
]);

function text(el, name) {
  const c = el.getChild(name);
  return c ? c.text() : "";
}

/** Reads a jabber:x:data element into { type, title, instructions[], fields[] }. */
export function parseForm(x) {
  if (!x) return null;
  const form = {
    type: x.attrs.type || "form",
    title: text(x, "title"),
    instructions: x.getChildren("instructions").map((i) => i.text()).filter(Boolean),
    fields: [],
  };
  for (const f of x.getChildren("field")) {
    let type = f.attrs.type || "text-single";
    if (!FIELD_TYPES.has(type)) type = "text-single"; // XEP-0004 §3.3: unknown types are text-single
    const field = {
      var: f.attrs.var || "",
      type,
      label: f.attrs.label || "",
      desc: text(f, "desc"),
      required: !!f.getChild("required"),
      values: f.getChildren("value").map((v) => v.text()),
      options: f.getChildren("option").map((o) => ({
        label: o.attrs.label || o.getChildText("value") || "",
        value: o.getChildText("value") || "",
      })),
      validate: null,
    };
    const v = f.getChild("validate", XDV);
    if (v) {
      const range = v.getChild("range");
      const regex = v.getChild("regex");
      field.validate = {
        datatype: v.attrs.datatype || "xs:string",
        min: range && range.attrs.min !== undefined ? range.attrs.min : null,
        max: range && range.attrs.max !== undefined ? range.attrs.max : null,
        regex: regex ? regex.text() : null,
      };
    }
    if (!field.var && type !== "fixed") continue; // XEP-0004: only fixed may lack a var
    form.fields.push(field);
  }
  return form;
}

/** The field with var `name`, or undefined. */
export function getField(form, name) {
  return form && form.fields.find((f) => f.var === name);
}

/** First value of field `name` of a (result) form, or null. */
export function formValue(form, name) {
  const f = getField(form, name);
  return f && f.values.length ? f.values[0] : null;
}

export function parseBoolean(s) {
  return s === "1" || s === "true";
}

/** Initial values from the form's defaults, then `prefill` (by var). */
export function initialValues(form, prefill = {}) {
  const values = {};
  for (const f of form.fields) {
    if (!f.var) continue;
    let v;
    switch (f.type) {
      case "boolean":
        v = f.values.length ? parseBoolean(f.values[0]) : false;
        break;
      case "list-multi":
      case "jid-multi":
        v = [...f.values];
        break;
      case "text-multi":
        v = f.values.join("\n");
        break;
      default:
        v = f.values.length ? f.values[0] : "";
    }
    if (Object.prototype.hasOwnProperty.call(prefill, f.var) && f.type !== "fixed" && f.type !== "hidden") {
      const p = prefill[f.var];
      if (f.type === "boolean") v = p === true || parseBoolean(String(p));
      else if (f.type === "list-multi" || f.type === "jid-multi") v = Array.isArray(p) ? p.map(String) : String(p).split(/\s*,\s*/).filter(Boolean);
      else v = String(p);
    }
    values[f.var] = v;
  }
  return values;
}

export const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]{2,}$/;
const JID = /^([^\s@/"&'<>:]+@)?[^\s@/"&'<>]+(\/.+)?$/;

/** Is this field an email address?  By var name, or XEP-0122 datatype. */
export function isEmailField(field) {
  return field.var === "email" || /(^|[-_])e-?mail$/i.test(field.var);
}

function isEmpty(field, value) {
  if (field.type === "boolean") return false; // unchecked is an answer
  if (Array.isArray(value)) return value.length === 0;
  return value === undefined || value === null || String(value).trim() === "";
}

/**
 * Checks one field.  Returns null when fine, else { key, vars } naming a
 * text of the texts table (the UI translates it).
 */
export function validateField(field, value) {
  if (field.type === "fixed" || field.type === "hidden") return null;
  if (isEmpty(field, value)) return field.required ? { key: "errorRequired" } : null;
  if (field.type === "boolean" && field.required && value !== true) return { key: "errorRequired" };
  const s = Array.isArray(value) ? null : String(value).trim();
  if (field.type === "list-single" && field.options.length && !field.options.some((o) => o.value === s))
    return { key: "errorOption" };
  if (field.type === "list-multi" && field.options.length && !value.every((v) => field.options.some((o) => o.value === v)))
    return { key: "errorOption" };
  if (field.type === "jid-single" && !JID.test(s)) return { key: "errorJid" };
  if (field.type === "jid-multi" && !value.every((v) => JID.test(v.trim()))) return { key: "errorJid" };
  if (s !== null && isEmailField(field) && !EMAIL.test(s)) return { key: "errorEmail" };
  const v = field.validate;
  if (v && s !== null) {
    if (/^xs:(integer|int|long|short|byte|nonNegativeInteger|positiveInteger)$/.test(v.datatype)) {
      if (!/^[+-]?\d+$/.test(s)) return { key: "errorInteger" };
      const n = Number(s);
      const min = v.min !== null ? Number(v.min) : -Infinity;
      const max = v.max !== null ? Number(v.max) : Infinity;
      if (n < min || n > max) return { key: "errorRange", vars: { min: v.min ?? "", max: v.max ?? "" } };
    }
    if (v.regex) {
      let re = null;
      try {
        re = new RegExp(`^(?:${v.regex})$`, "u");
      } catch {
        re = null; // a pattern we cannot read is the server's to check
      }
      if (re && !re.test(s)) return { key: "errorPattern" };
    }
  }
  return null;
}

/** Checks every field: { var: {key, vars} } for those that fail (empty = fine). */
export function validateForm(form, values) {
  const errors = {};
  for (const f of form.fields) {
    if (!f.var) continue;
    const e = validateField(f, values[f.var]);
    if (e) errors[f.var] = e;
  }
  return errors;
}

function toValueStrings(field, value) {
  switch (field.type) {
    case "boolean":
      return [value === true ? "1" : "0"];
    case "list-multi":
    case "jid-multi":
      return (value || []).map((v) => String(v).trim()).filter(Boolean);
    case "text-multi":
      return String(value ?? "").split(/\r\n|\r|\n/);
    case "hidden":
      return field.values; // echoed back unchanged (XEP-0004 §3.3)
    default: {
      const s = String(value ?? "");
      // text-single holds one line; a textarea may give several.
      return s === "" ? [] : [field.type === "text-single" ? s.replace(/\s*[\r\n]+\s*/g, " ").trim() : s.trim()];
    }
  }
}

/**
 * Builds <x xmlns='jabber:x:data' type='submit'/> from the form and values.
 * Fixed fields are left out; hidden fields are echoed; `overrides` (by var)
 * replace values of hidden fields the widget fills itself (page, browser).
 */
export function buildSubmit(form, values, overrides = {}) {
  const x = xml("x", { xmlns: NS.DATA, type: "submit" });
  for (const f of form.fields) {
    if (!f.var || f.type === "fixed") continue;
    const strs = Object.prototype.hasOwnProperty.call(overrides, f.var)
      ? [String(overrides[f.var])]
      : toValueStrings(f, values[f.var]);
    const field = xml("field", { var: f.var });
    if (f.type === "hidden" || f.var === "FORM_TYPE") field.attrs.type = f.type;
    for (const s of strs) field.append(xml("value", {}, s));
    x.append(field);
  }
  return x;
}

/** The same submit form from a plain object, for commands the widget fills itself. */
export function buildSubmitFromObject(obj, form = null) {
  const x = xml("x", { xmlns: NS.DATA, type: "submit" });
  const done = new Set();
  if (form) {
    for (const f of form.fields) {
      if (!f.var || f.type === "fixed") continue;
      done.add(f.var);
      let vals;
      if (Object.prototype.hasOwnProperty.call(obj, f.var)) vals = [].concat(obj[f.var]).map(String);
      else vals = f.values;
      const field = xml("field", { var: f.var });
      if (f.type === "hidden") field.attrs.type = "hidden";
      for (const s of vals) field.append(xml("value", {}, s));
      x.append(field);
    }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (done.has(k) || v === undefined || v === null) continue;
    x.append(xml("field", { var: k }, ...[].concat(v).map((s) => xml("value", {}, String(s)))));
  }
  return x;
}

/** All values of a result form as { var: string | string[] } (multi-valued fields as arrays). */
export function resultValues(form) {
  const out = {};
  if (!form) return out;
  for (const f of form.fields) {
    if (!f.var) continue;
    out[f.var] = f.type === "list-multi" || f.type === "jid-multi" ? f.values : f.type === "text-multi" ? f.values.join("\n") : (f.values[0] ?? "");
  }
  return out;
}
