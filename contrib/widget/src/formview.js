// Renders a parsed XEP-0004 form (forms.js) as an accessible HTML form:
// every control has a <label>, descriptions and errors are tied to it with
// aria-describedby, required fields carry aria-required, invalid ones
// aria-invalid, and a summary with role=alert says what to fix.  Server
// text (labels, descriptions, instructions) is only ever set as text.

import { isEmailField } from "./forms.js";

function el(doc, tag, attrs = {}, text = null) {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : String(v));
  if (text !== null) e.textContent = text;
  return e;
}

function humanise(name) {
  const s = String(name || "").replace(/[-_]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const AUTOCOMPLETE = { name: "name", email: "email", phone: "tel", tel: "tel", company: "organization", organisation: "organization", organization: "organization" };

export class FormView {
  /**
   * form: parsed form; options: { t (translator), labels ({var: label}:
   * the widget's own words for fields it knows, over the form's), idPrefix,
   * values, submitLabel, intro (text or null) }
   */
  constructor(doc, form, { t, labels = {}, idPrefix = "md", values = {}, submitLabel, intro = null }) {
    this.doc = doc;
    this.form = form;
    this.t = t;
    this.labels = labels;
    this.controls = new Map(); // var -> { field, inputs: [], wrap, error }
    const f = el(doc, "form", { class: "md-form", novalidate: true });
    this.el = f;

    // The server's words may be in another direction than the widget's.
    if (form.title) f.appendChild(el(doc, "h3", { class: "md-form-title", dir: "auto" }, form.title));
    const texts = form.instructions.length ? form.instructions : intro ? [intro] : [];
    for (const line of texts) f.appendChild(el(doc, "p", { class: "md-instructions", dir: "auto" }, line));

    this.summary = el(doc, "div", { class: "md-form-error", role: "alert", "aria-live": "assertive" });
    this.summary.hidden = true;
    f.appendChild(this.summary);

    form.fields.forEach((field, i) => {
      const id = `${idPrefix}-f${i}`;
      if (field.type === "hidden") return;
      if (field.type === "fixed") {
        for (const v of field.values) f.appendChild(el(doc, "p", { class: "md-fixed" }, v));
        return;
      }
      f.appendChild(this.renderField(field, id, values[field.var]));
    });

    this.button = el(doc, "button", { type: "submit", class: "md-primary" }, submitLabel);
    f.appendChild(this.button);
  }

  renderField(field, id, value) {
    const { doc, t } = this;
    const wrap = el(doc, "div", { class: `md-field md-field-${field.type}` });
    const label = this.labels[field.var] || field.label || humanise(field.var);
    const descId = `${id}-desc`;
    const errId = `${id}-err`;
    const error = el(doc, "p", { class: "md-error", id: errId });
    error.hidden = true;
    const desc = field.desc ? el(doc, "p", { class: "md-desc", id: descId, dir: "auto" }, field.desc) : null;
    const describedBy = [desc ? descId : null, errId].filter(Boolean).join(" ");
    const inputs = [];
    const star = () => {
      const s = el(doc, "span", { class: "md-req", "aria-hidden": "true" }, " *");
      return s;
    };

    if (field.type === "boolean") {
      const input = el(doc, "input", { type: "checkbox", id, name: field.var, "aria-describedby": describedBy, "aria-required": field.required ? "true" : null });
      input.checked = value === true;
      const lab = el(doc, "label", { for: id, class: "md-check" });
      lab.appendChild(input);
      lab.appendChild(doc.createTextNode(" " + label));
      if (field.required) lab.appendChild(star());
      wrap.appendChild(lab);
      inputs.push(input);
    } else if (field.type === "list-multi") {
      const fs = el(doc, "fieldset", { class: "md-fieldset", "aria-describedby": describedBy });
      const legend = el(doc, "legend", {}, label);
      if (field.required) legend.appendChild(star());
      fs.appendChild(legend);
      const chosen = new Set(Array.isArray(value) ? value : []);
      field.options.forEach((o, j) => {
        const oid = `${id}-o${j}`;
        const input = el(doc, "input", { type: "checkbox", id: oid, name: field.var, value: o.value });
        input.checked = chosen.has(o.value);
        const lab = el(doc, "label", { for: oid, class: "md-check" });
        lab.appendChild(input);
        lab.appendChild(doc.createTextNode(" " + o.label));
        fs.appendChild(lab);
        inputs.push(input);
      });
      wrap.appendChild(fs);
    } else {
      const lab = el(doc, "label", { for: id }, label);
      if (field.required) lab.appendChild(star());
      wrap.appendChild(lab);
      let input;
      const common = { id, name: field.var, "aria-describedby": describedBy, "aria-required": field.required ? "true" : null };
      if (field.type === "list-single") {
        input = el(doc, "select", common);
        const current = typeof value === "string" ? value : "";
        if (!current || !field.options.some((o) => o.value === current)) input.appendChild(el(doc, "option", { value: "" }, t("chooseOption")));
        for (const o of field.options) {
          const opt = el(doc, "option", { value: o.value }, o.label);
          if (o.value === current) opt.selected = true;
          input.appendChild(opt);
        }
      } else if (field.type === "text-multi" || field.type === "jid-multi" || field.var === "question") {
        input = el(doc, "textarea", { ...common, rows: field.var === "question" ? 4 : 3 });
        input.value = Array.isArray(value) ? value.join("\n") : value ?? "";
      } else {
        const type = field.type === "text-private" ? "password" : isEmailField(field) ? "email" : "text";
        input = el(doc, "input", {
          ...common,
          type,
          autocomplete: field.type === "text-private" ? "off" : AUTOCOMPLETE[field.var] || null,
          inputmode: field.validate && /integer|int|long|short/.test(field.validate.datatype) ? "numeric" : null,
          spellcheck: type === "email" ? "false" : null,
        });
        input.value = value ?? "";
      }
      wrap.appendChild(input);
      inputs.push(input);
    }
    if (desc) wrap.appendChild(desc);
    wrap.appendChild(error);
    this.controls.set(field.var, { field, inputs, wrap, error });
    return wrap;
  }

  /** The values as forms.js expects them. */
  read() {
    const values = {};
    for (const [name, { field, inputs }] of this.controls) {
      if (field.type === "boolean") values[name] = inputs[0].checked;
      else if (field.type === "list-multi") values[name] = inputs.filter((i) => i.checked).map((i) => i.value);
      else if (field.type === "jid-multi") values[name] = inputs[0].value.split(/\r\n|\r|\n/).map((s) => s.trim()).filter(Boolean);
      else values[name] = inputs[0].value;
    }
    return values;
  }

  /** errors: { var: {key, vars} | {text} }; formError: {key} | {text} | null. */
  setErrors(errors = {}, formError = null) {
    for (const [name, { inputs, error, wrap }] of this.controls) {
      const e = errors[name];
      const msg = e ? (e.text ? e.text : this.t(e.key, e.vars)) : "";
      error.textContent = msg;
      error.hidden = !msg;
      wrap.classList.toggle("md-invalid", !!msg);
      for (const i of inputs) {
        if (msg) i.setAttribute("aria-invalid", "true");
        else i.removeAttribute("aria-invalid");
      }
    }
    const summary = formError ? (formError.text ? formError.text : this.t(formError.key, formError.vars)) : "";
    this.summary.textContent = summary;
    this.summary.hidden = !summary;
  }

  setBusy(busy, busyLabel, label) {
    this.button.disabled = !!busy;
    this.button.textContent = busy ? busyLabel : label;
    this.el.setAttribute("aria-busy", busy ? "true" : "false");
  }

  focusFirstInvalid() {
    for (const { inputs, error } of this.controls.values()) {
      if (!error.hidden && inputs[0]) {
        inputs[0].focus();
        return true;
      }
    }
    return false;
  }

  focusFirst() {
    for (const { inputs } of this.controls.values()) {
      if (inputs[0] && !inputs[0].value) {
        inputs[0].focus();
        return;
      }
    }
    const first = this.controls.values().next().value;
    if (first && first.inputs[0]) first.inputs[0].focus();
    else this.button.focus();
  }
}
