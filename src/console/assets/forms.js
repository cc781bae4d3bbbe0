// Forms built from the request schemas: a field per property with its guidance, immediate
// checks with the page's validator, and the server's answer shown at its field.

const FORMS = {
  offer: {
    primary: ["seller_node_id", "dataset_fingerprint", "title", "modality", "sample_count", "quality_score", "allowed_tasks", "price_per_round"],
    submit: "Create the offer",
    followsRole: ["seller_node_id", "provider"],
    example: { dataset_fingerprint: "sha256:9f86d081884c7d65", title: "Clinic vitals", modality: "tabular", sample_count: "1200", quality_score: "0.92", allowed_tasks: "classification", price_per_round: "12.5" },
  },
  intent: {
    primary: ["model_owner_id", "task_type", "required_modalities", "min_quality_score", "budget_total", "round_id"],
    submit: "Post the intent",
    followsRole: ["model_owner_id", "owner"],
    example: { task_type: "classification", required_modalities: ["tabular"], min_quality_score: "0.8", budget_total: "40", round_id: "spring-cohort" },
  },
  // The preview form offers no inline `intent`, so here an intent is named by its id or not at
  // all: the form needs the id (the match's schema requires it anyway); each says what to do.
  preview: { primary: ["round_intent_id", "max_offers", "policy_overrides"], skip: ["intent"], submit: "Preview", requires: { round_intent_id: nameAnIntent("preview") } },
  match: { primary: ["round_intent_id", "max_offers"], submit: "Match into a contract", requires: { round_intent_id: nameAnIntent("match") } },
  round: { primary: ["contract_ids"], submit: "Run a training round" },
};

function nameAnIntent(verb) {
  return "Name the intent to " + verb + ": post one in step 2 (its id is then filled in here), or copy an id from the round intents list.";
}

const forms = {};

// A text that may run past a long line (a kibibyte) gets a text area.
const TEXTAREA_FROM = 1024;

function inputKind(schema, root, choices) {
  if (choices) return "choice";
  if (schema.anyOf) return "time";
  if (schema.type === "boolean") return "boolean";
  if (schema.enum) return "select";
  if (schema.type === "array") return schema.items && resolve(schema.items, root).enum ? "multi" : "list";
  if (schema.type === "number" || schema.type === "integer") return "number";
  if (schema.type === "object") return "group";
  if (schema.type === "string" && schema.maxLength >= TEXTAREA_FROM) return "textarea";
  return "text";
}

function buildForm(element) {
  const key = element.dataset.form;
  const spec = FORMS[key];
  const opId = element.dataset.op;
  // A rule the page adds (`schema`) comes with the reason the server answers its breach with.
  const op = spec.fieldReasons
    ? Object.assign({}, C.operations[opId], { field_reasons: Object.assign({}, C.operations[opId].field_reasons, spec.fieldReasons()) })
    : C.operations[opId];
  // A form may check more than the request schema states, where a rule of the server's is
  // given to the page in a schema of its own (the trainer's hyperparameter ranges).
  const root = spec.schema ? spec.schema(C.schemas[op.request_schema]) : C.schemas[op.request_schema];
  const form = { key, opId, op, root, element, fields: [], spec };
  const primary = document.createElement("div");
  primary.className = "fields";
  primary.style.display = "contents";
  const more = document.createElement("details");
  more.className = "more";
  more.innerHTML = "<summary>More fields (optional)</summary>";
  const moreFields = document.createElement("div");
  moreFields.className = "fields";
  more.append(moreFields);

  const properties = Object.keys(root.properties || {}).filter((name) => !(spec.skip || []).includes(name));
  const ordered = (spec.primary || []).filter((name) => properties.includes(name)).concat(properties.filter((name) => !(spec.primary || []).includes(name)));
  for (const name of ordered) {
    const target = (spec.primary || []).includes(name) ? primary : moreFields;
    addField(form, target, root, root, "", name);
  }
  element.append(primary);
  if (moreFields.children.length) element.append(more);

  const actions = document.createElement("div");
  actions.className = "actions";
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.id = key + "-submit";
  submit.textContent = spec.submit;
  actions.append(submit);
  if (spec.example) {
    const fill = document.createElement("button");
    fill.type = "button";
    fill.className = "secondary";
    fill.id = key + "-example";
    fill.textContent = "Fill in the guide's example";
    fill.addEventListener("click", () => fillForm(form, exampleOf(spec)));
    actions.append(fill);
  }
  const summary = document.createElement("p");
  summary.className = "field-error";
  summary.id = key + "-summary";
  summary.setAttribute("aria-live", "polite");
  actions.append(summary);
  element.append(actions);
  forms[key] = form;
  return form;
}

function addField(form, container, root, parentSchema, parentPointer, name) {
  const schema = resolve(parentSchema.properties[name], root);
  const pointer = pointerJoin(parentPointer, name);
  const dotted = fieldName(pointer);
  const id = form.key + "-" + dotted.replace(/\./g, "-");
  const required = (parentSchema.required || []).includes(name) || (parentPointer === "" && name in (form.spec.requires || {}));
  const kind = inputKind(schema, root, (form.spec.choices || {})[dotted]);
  if (kind === "group") {
    const group = document.createElement("fieldset");
    group.className = "group";
    group.innerHTML = "<legend>" + esc(label(name)) + ' <span class="name">(<code>' + esc(dotted) + "</code>)</span></legend>" +
      (schema.description ? '<p class="hint">' + prose(schema.description) + "</p>" : "");
    for (const sub of Object.keys(schema.properties || {})) addField(form, group, root, schema, pointer, sub);
    container.append(group);
    return;
  }
  const wrapper = document.createElement(kind === "multi" ? "fieldset" : "div");
  wrapper.className = "field";
  wrapper.dataset.field = dotted;
  const hintId = id + "-hint";
  const errorId = id + "-error";
  const title = esc(label(name)) + ' <span class="name">(<code>' + esc(dotted) + "</code>)</span>";
  const guidance = [];
  if (schema.description) guidance.push(prose(schema.description));
  const range = rangeWords(schema);
  if (range) guidance.push("<b>Range:</b> " + range + ".");
  const fallback = defaultWords(schema);
  guidance.push(required ? "<b>Required.</b>" : "<b>Default:</b> " + (fallback ? prose(fallback) : "none (left out)") + ".");
  const hint = '<p class="hint" id="' + hintId + '">' + guidance.join(" ") + "</p>";
  const error = '<p class="field-error" id="' + errorId + '" data-error-for="' + esc(dotted) + '"></p>';
  const describedBy = hintId + " " + errorId;
  let control;
  if (kind === "multi") {
    const options = resolve(schema.items, root).enum;
    wrapper.innerHTML = "<legend>" + title + "</legend>" + '<div class="choices">' +
      options.map((option) => '<label><input type="checkbox" name="' + esc(id) + '" value="' + esc(option) + '" id="' + esc(id + "-" + option) + '" aria-describedby="' + describedBy + '"> ' + esc(option) + "</label>").join("") +
      "</div>" + hint + error;
  } else {
    if (kind === "choice") {
      // Its options come from the API (filled in by setChoices), not from the schema.
      control = '<select id="' + id + '" aria-describedby="' + describedBy + '"></select>';
    } else if (kind === "boolean") {
      control = '<label class="check"><input type="checkbox" id="' + id + '" aria-describedby="' + describedBy + '"> ' + esc(label(name)) + "</label>";
    } else if (kind === "select") {
      control = '<select id="' + id + '" aria-describedby="' + describedBy + '">' +
        '<option value="">' + (required ? "Choose…" : "(default)") + "</option>" +
        schema.enum.map((option) => '<option value="' + esc(option) + '">' + esc(option) + "</option>").join("") + "</select>";
    } else if (kind === "textarea") {
      control = '<textarea id="' + id + '" aria-describedby="' + describedBy + '"></textarea>';
    } else {
      const inputmode = kind === "number" ? (schema.type === "integer" ? "numeric" : "decimal") : "text";
      const placeholder = kind === "time" ? "2030-01-01T00:00:00Z or Unix seconds" : kind === "list" ? "comma-separated" : "";
      control = '<input id="' + id + '" inputmode="' + inputmode + '" autocomplete="off" spellcheck="false"' +
        (placeholder ? ' placeholder="' + esc(placeholder) + '"' : "") + (required ? ' aria-required="true"' : "") +
        ' aria-describedby="' + describedBy + '">';
    }
    wrapper.innerHTML = (kind === "boolean" ? "<span class=\"label\">" + title + "</span>" : '<label for="' + id + '">' + title + "</label>") + control + hint + error;
  }
  container.append(wrapper);
  const field = { name, dotted, pointer, schema, kind, id, required, wrapper, errorEl: wrapper.querySelector(".field-error"), touched: false };
  field.inputs = Array.from(wrapper.querySelectorAll("input, select, textarea"));
  if (form.spec.followsRole && form.spec.followsRole[0] === name) {
    field.inputs[0].dataset.followsRole = form.spec.followsRole[1];
    field.inputs[0].value = ROLES[form.spec.followsRole[1]].id;
  }
  for (const input of field.inputs) {
    input.addEventListener("input", () => { field.touched = true; clearServerError(field); liveCheck(form); });
    input.addEventListener("change", () => { field.touched = true; liveCheck(form); });
  }
  form.fields.push(field);
}

function readField(field) {
  if (field.kind === "multi") {
    const picked = field.inputs.filter((input) => input.checked).map((input) => input.value);
    return picked.length ? picked : undefined;
  }
  if (field.kind === "boolean") return field.inputs[0].checked ? true : undefined;
  const raw = field.inputs[0].value;
  const text = raw.trim();
  if (text === "") return undefined;
  if (field.kind === "list") {
    const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
    return items.length ? items : undefined;
  }
  if (field.kind === "number") {
    // Only a JSON number becomes a number; anything else is sent as written, and refused
    // as the server would refuse it (never coerced).
    if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
    return text;
  }
  if (field.kind === "time") return /^\d+$/.test(text) ? Number(text) : text;
  return field.kind === "textarea" ? raw : text;
}

function readForm(form) {
  const body = {};
  for (const field of form.fields) {
    const value = readField(field);
    if (value === undefined) continue;
    const path = field.pointer.split("/").slice(1);
    let into = body;
    for (const token of path.slice(0, -1)) into = into[token] = into[token] || {};
    into[path[path.length - 1]] = value;
  }
  return body;
}

// The guide's example, with the own-id field as the id its role starts with.
function exampleOf(spec) {
  const example = Object.assign({}, spec.example);
  if (spec.followsRole) example[spec.followsRole[0]] = ROLES[spec.followsRole[1]].id;
  return example;
}

function fillForm(form, values) {
  for (const field of form.fields) {
    if (!(field.dotted in values)) continue;
    const value = values[field.dotted];
    if (field.kind === "multi") {
      for (const input of field.inputs) input.checked = value.includes(input.value);
    } else if (field.kind === "boolean") {
      field.inputs[0].checked = Boolean(value);
    } else {
      field.inputs[0].value = value;
    }
    field.touched = true;
    clearServerError(field);
  }
  liveCheck(form);
}

function fieldFor(form, dotted) {
  let best = null;
  for (const field of form.fields) {
    if ((dotted === field.dotted || dotted.startsWith(field.dotted + ".")) && (!best || field.dotted.length > best.dotted.length)) best = field;
  }
  return best;
}

function setFieldError(field, html, source) {
  field.errorEl.innerHTML = html;
  field.errorEl.dataset.source = source;
  for (const input of field.inputs) input.setAttribute("aria-invalid", "true");
}

function clearFieldError(field) {
  field.errorEl.innerHTML = "";
  delete field.errorEl.dataset.source;
  for (const input of field.inputs) input.removeAttribute("aria-invalid");
}

function clearServerError(field) {
  if (field.errorEl.dataset.source === "server") clearFieldError(field);
}

function pageErrorHtml(error) {
  return esc(ruleWords(error.keyword, error.schema)) + (error.help ? " " + esc(error.help) : "") +
    ' <span class="muted">(' + "rule <code>" + esc(error.keyword) + "</code>, reason <code>" + esc(error.reason_code) + "</code>)</span>";
}

// The page's findings for a form's body: the request schema's, and the top-level fields the
// form needs because of what it leaves out (its `requires`), each saying what to do.
function formErrors(form, body) {
  const errors = validateWith(form.op, form.root, body);
  for (const [name, help] of Object.entries(form.spec.requires || {})) {
    const pointer = pointerJoin("", name);
    const missing = errors.find((e) => e.instance_path === pointer && e.keyword === "required");
    if (missing) {
      missing.help = help;
    } else if (body[name] === undefined) {
      const field = form.fields.find((f) => f.pointer === pointer);
      errors.push({ instance_path: pointer, keyword: "required", schema: field.schema, field: field.dotted, rule: "required", reason_code: reasonFor(form.op, pointer, "required"), help });
    }
  }
  return errors.sort(byPlace);
}

// Shows the page's own findings at the touched fields (or at every field on submit).
function showPageErrors(form, errors, all) {
  const byField = new Map();
  for (const error of errors) {
    const field = fieldFor(form, error.field);
    if (field && !byField.has(field)) byField.set(field, error);
  }
  for (const field of form.fields) {
    if (field.errorEl.dataset.source === "server") continue;
    const error = byField.get(field);
    if (error && (all || field.touched)) setFieldError(field, pageErrorHtml(error), "page");
    else clearFieldError(field);
  }
  return byField;
}

function liveCheck(form) {
  const body = readForm(form);
  const errors = formErrors(form, body);
  showPageErrors(form, errors, false);
  const summary = document.getElementById(form.key + "-summary");
  if (!errors.length) summary.textContent = "";
  if (form.spec.onChange) form.spec.onChange(body);
}

// The options of a `choice` field, from the API: [[value, words], ...], the first chosen
// unless the field still holds one of them.
function setChoices(form, dotted, options) {
  const field = form.fields.find((f) => f.dotted === dotted);
  const select = field.inputs[0];
  const kept = select.value;
  select.innerHTML = options.length
    ? options.map(([value, words]) => '<option value="' + esc(value) + '">' + esc(words) + "</option>").join("")
    : '<option value="">' + esc(form.spec.choices[dotted]) + "</option>";
  if (options.some(([value]) => value === kept)) select.value = kept;
}

function showServerFieldError(form, res) {
  const details = (res.body.error && res.body.error.details) || {};
  if (!details.field) return null;
  // Some operations name the field by its JSON pointer (`/provider`), others dotted.
  const field = fieldFor(form, details.field.startsWith("/") ? fieldName(details.field) : details.field);
  if (!field) return null;
  const schema = field.schema;
  const message = (res.body.error || {}).message || "";
  const what = details.rule ? esc(ruleWords(details.rule, schema)) : esc(message);
  setFieldError(field,
    "Server answered " + res.status + ": " + what + ' <span class="muted">(' + (details.rule ? "rule <code>" + esc(details.rule) + "</code>, " : "") +
    "reason <code>" + esc(reasonOf(res)) + "</code>" + (details.rule ? ": " + esc(message) : "") + ")</span>", "server");
  return field;
}

// Wires a form: immediate checks, submit blocked while the page finds a broken rule, the
// server's answer at its field, then `done` with the answer.
function onSubmit(form, done) {
  form.element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const summary = document.getElementById(form.key + "-summary");
    // A new attempt: the answer to the previous one must not pass for this one's.
    document.getElementById(form.key + "-result").innerHTML = "";
    for (const field of form.fields) clearServerError(field);
    const body = readForm(form);
    const errors = formErrors(form, body);
    const shown = showPageErrors(form, errors, true);
    if (errors.length) {
      summary.textContent = errors.length === 1 ? "1 field needs attention; nothing was sent." : shown.size + " fields need attention; nothing was sent.";
      const first = shown.keys().next().value;
      if (first) first.inputs[0].focus();
      return;
    }
    summary.textContent = "";
    const submit = form.element.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      const spec = form.spec;
      const res = await call(form.opId, { body, params: spec.params && spec.params(), as: spec.as && spec.as(), key: spec.key && spec.key() });
      const field = res.ok ? null : showServerFieldError(form, res);
      if (field) field.inputs[0].focus();
      await done(res, field);
    } finally {
      submit.disabled = false;
      await (form.spec.refresh || refreshAll)(form.opId);
    }
  });
}
