"use strict";
// The marketref console. Plain script, no build step, no network but the API it drives.
//
// Everything the page knows of the contract comes from the document the server writes into
// #marketref-contract (see src/domain/console/page.rs): the operations with their paths, auth
// rules and field reasons, their request schemas, the reason-code messages, the intent status
// table and the release blockers. Forms, field guidance and in-page checks are built from it;
// the API is called by operation id.
(function () {
  // ---------------------------------------------------------------------------------------
  // The contract

  let C;
  try {
    C = JSON.parse(document.getElementById("marketref-contract").textContent);
  } catch (error) {
    contractError("The page's contract document does not parse: " + error.message);
    return;
  }

  function contractError(text) {
    const banner = document.getElementById("contract-error");
    banner.textContent = "Console contract error: " + text;
    banner.hidden = false;
  }

  // The JSON Schema keywords this page checks or reads (a Rust test keeps the schemas inside
  // this list, so no rule of theirs is silently skipped here).
  const SCHEMA_KEYWORDS = ["$schema", "$defs", "$ref", "title", "description", "default", "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format", "items", "minItems", "maxItems", "uniqueItems", "properties", "required", "additionalProperties", "anyOf"];

  function checkKeywords(schema, where) {
    if (!schema || typeof schema !== "object") return;
    for (const [keyword, value] of Object.entries(schema)) {
      if (!SCHEMA_KEYWORDS.includes(keyword)) {
        throw new Error(where + " uses the keyword `" + keyword + "`, which the page does not check");
      }
      if (keyword === "properties" || keyword === "$defs") {
        for (const [name, sub] of Object.entries(value)) checkKeywords(sub, where + "/" + name);
      } else if (keyword === "anyOf") {
        value.forEach((sub, i) => checkKeywords(sub, where + "/anyOf/" + i));
      } else if (keyword === "items" || keyword === "additionalProperties") {
        checkKeywords(value, where + "/" + keyword);
      }
    }
  }

  try {
    for (const [name, schema] of Object.entries(C.schemas)) checkKeywords(schema, name);
  } catch (error) {
    contractError(error.message);
  }

  // ---------------------------------------------------------------------------------------
  // Validation: the subset of JSON Schema 2020-12 the request schemas use, reporting each
  // failure as the runtime does (instance path of the field, keyword), sorted the same way.

  function resolve(schema, root) {
    let current = schema;
    for (let depth = 0; current && current.$ref; depth++) {
      const match = /^#\/\$defs\/(.+)$/.exec(current.$ref);
      const target = match && root.$defs && root.$defs[match[1]];
      if (!target || depth > 16) throw new Error("cannot resolve " + current.$ref);
      const siblings = Object.assign({}, current);
      delete siblings.$ref;
      current = Object.assign({}, target, siblings);
    }
    return current;
  }

  function kindOf(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
  }

  function typeMatches(type, value) {
    const kind = kindOf(value);
    return type === kind || (type === "number" && kind === "integer");
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function daysIn(year, month) {
    return [31, (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  }

  function isDateTime(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(text);
    if (!m) return false;
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
    if (hour > 23 || minute > 59 || second > 60) return false;
    return !m[9] || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  }

  function pointerJoin(pointer, token) {
    return pointer + "/" + String(token).replace(/~/g, "~0").replace(/\//g, "~1");
  }

  function check(schemaIn, value, root, path, errors) {
    const schema = resolve(schemaIn, root);
    const fail = (at, keyword) => errors.push({ instance_path: at, keyword, schema });
    const kind = kindOf(value);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((type) => typeMatches(type, value))) fail(path, "type");
    }
    if (schema.enum && !schema.enum.some((option) => same(option, value))) fail(path, "enum");
    if ("const" in schema && !same(schema.const, value)) fail(path, "const");
    if (kind === "number" || kind === "integer") {
      if (schema.minimum !== undefined && value < schema.minimum) fail(path, "minimum");
      if (schema.maximum !== undefined && value > schema.maximum) fail(path, "maximum");
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(path, "exclusiveMinimum");
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(path, "exclusiveMaximum");
    }
    if (kind === "string") {
      const length = Array.from(value).length;
      if (schema.minLength !== undefined && length < schema.minLength) fail(path, "minLength");
      if (schema.maxLength !== undefined && length > schema.maxLength) fail(path, "maxLength");
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) fail(path, "pattern");
      if (schema.format === "date-time" && !isDateTime(value)) fail(path, "format");
    }
    if (kind === "array") {
      if (schema.minItems !== undefined && value.length < schema.minItems) fail(path, "minItems");
      if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(path, "maxItems");
      if (schema.uniqueItems && new Set(value.map((item) => JSON.stringify(item))).size !== value.length) fail(path, "uniqueItems");
      if (schema.items) value.forEach((item, i) => check(schema.items, item, root, pointerJoin(path, i), errors));
    }
    if (kind === "object") {
      const properties = schema.properties || {};
      for (const name of schema.required || []) {
        if (!(name in value)) fail(pointerJoin(path, name), "required");
      }
      for (const [name, item] of Object.entries(value)) {
        if (name in properties) {
          check(properties[name], item, root, pointerJoin(path, name), errors);
        } else if (schema.additionalProperties === false) {
          fail(pointerJoin(path, name), "additionalProperties");
        } else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
          check(schema.additionalProperties, item, root, pointerJoin(path, name), errors);
        }
      }
    }
    if (schema.anyOf) {
      const fits = schema.anyOf.some((branch) => {
        const branchErrors = [];
        check(branch, value, root, path, branchErrors);
        return branchErrors.length === 0;
      });
      if (!fits) fail(path, "anyOf");
    }
  }

  function fieldName(pointer) {
    return pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~")).join(".");
  }

  // The reason the runtime answers for a failure of `rule` at `pointer`: the field's reason for
  // that rule, else the longest field reason that is the pointer or a parent of it, else the
  // operation's invalid-request reason.
  function reasonFor(op, pointer, rule) {
    const byRule = (op.field_rule_reasons || {})[pointer];
    if (byRule && byRule[rule]) return byRule[rule];
    let best = null;
    for (const [prefix, code] of Object.entries(op.field_reasons || {})) {
      if ((pointer === prefix || pointer.startsWith(prefix + "/")) && (!best || prefix.length > best[0].length)) best = [prefix, code];
    }
    return best ? best[1] : op.invalid_request_reason;
  }

  // Every failure of `body` for operation `opId`, as the runtime would report them.
  function validateBody(opId, body) {
    const op = C.operations[opId];
    const root = C.schemas[op.request_schema];
    const errors = [];
    check(root, body, root, "", errors);
    errors.sort((a, b) => (a.instance_path < b.instance_path ? -1 : a.instance_path > b.instance_path ? 1 : a.keyword < b.keyword ? -1 : a.keyword > b.keyword ? 1 : 0));
    const seen = new Set();
    return errors.filter((e) => {
      const key = e.instance_path + " " + e.keyword;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }).map((e) => Object.assign(e, { field: fieldName(e.instance_path), rule: e.keyword, reason_code: reasonFor(op, e.instance_path, e.keyword) }));
  }

  // ---------------------------------------------------------------------------------------
  // Words

  function esc(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // Markdown-ish code spans of the schema descriptions.
  function prose(text) {
    return esc(text).replace(/`([^`]+)`/g, "<code>$1</code>");
  }

  function label(name) {
    const words = name.replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function typeWords(schema) {
    if (schema.anyOf) return "an RFC 3339 date-time or Unix seconds";
    return { number: "a number", integer: "a whole number", string: "text", array: "a list", object: "an object", boolean: "true or false" }[schema.type] || "a value";
  }

  function ruleWords(keyword, schema) {
    switch (keyword) {
      case "required": return "Required.";
      case "type": return "Must be " + typeWords(schema) + ".";
      case "enum": return "Must be one of: " + schema.enum.join(", ") + ".";
      case "minimum": return "Must be at least " + schema.minimum + ".";
      case "maximum": return "Must be at most " + schema.maximum + ".";
      case "exclusiveMinimum": return "Must be more than " + schema.exclusiveMinimum + ".";
      case "exclusiveMaximum": return "Must be less than " + schema.exclusiveMaximum + ".";
      case "minLength": return schema.minLength === 1 ? "Must not be empty." : "Must have at least " + schema.minLength + " characters.";
      case "maxLength": return "Must have at most " + schema.maxLength + " characters.";
      case "pattern": return "Must match " + schema.pattern + ".";
      case "format": return "Must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z.";
      case "anyOf": return "Must be an RFC 3339 date-time (e.g. 2030-01-01T00:00:00Z) or Unix seconds.";
      case "uniqueItems": return "Must not list an item twice.";
      case "minItems": return "Must list at least " + schema.minItems + ".";
      case "maxItems": return "Must list at most " + schema.maxItems + ".";
      case "additionalProperties": return "Is not a field of this request.";
      // Rules only the server can check; it names them in details.rule.
      case "max_6_decimals": return "Must have at most 6 decimals.";
      case "future": return "Must be in the future.";
      case "caller": return "Must be the caller's own id unless the operator acts.";
      case "finite_number": return "Must be a finite number.";
      case "operator_only": return "Only the operator may set this value.";
      case "initial_status": return "Cannot be the status of a new record.";
      default: return "Breaks the rule " + keyword + ".";
    }
  }

  function rangeWords(schema) {
    const parts = [];
    if (schema.enum) parts.push("one of " + schema.enum.map((v) => "<code>" + esc(v) + "</code>").join(", "));
    if (schema.anyOf) parts.push("an RFC 3339 date-time or Unix seconds");
    if (schema.type === "number" || schema.type === "integer") {
      const low = schema.exclusiveMinimum !== undefined ? "more than " + schema.exclusiveMinimum : schema.minimum !== undefined ? "from " + schema.minimum : null;
      const high = schema.maximum !== undefined ? (low && low.startsWith("from") ? "to " : "up to ") + schema.maximum : null;
      parts.push(typeWords(schema) + (low ? " " + low : "") + (high ? " " + high : ""));
    }
    if (schema.type === "string" && !schema.enum) {
      const min = schema.minLength || 0;
      const max = schema.maxLength;
      if (max !== undefined) parts.push("text, " + (min ? min + " to " + max : "at most " + max) + " characters");
      else if (min === 1) parts.push("text, not empty");
      else if (min > 1) parts.push("text, at least " + min + " characters");
      if (schema.pattern) parts.push("pattern <code>" + esc(schema.pattern) + "</code>");
    }
    if (schema.type === "array") {
      parts.push("a list" + (schema.uniqueItems ? " of distinct items" : "") + (schema.minItems ? ", at least " + schema.minItems : "") + (schema.maxItems ? ", at most " + schema.maxItems : ""));
    }
    return parts.join("; ");
  }

  // A default is taken from the schema's `default`, else from its description ("default 3").
  function defaultWords(schema) {
    if (schema.default !== undefined) return JSON.stringify(schema.default);
    const m = /\b[Dd]efault:?\s+([^;)]+?)\s*(?:[;)]|\.?$)/.exec(schema.description || "");
    return m ? m[1] : null;
  }

  // ---------------------------------------------------------------------------------------
  // Who is calling

  const ROLES = {
    provider: { label: "Data provider", type: "agent", id: "node_alpha", scopes: "offers:write marketplace:read" },
    owner: { label: "Model owner", type: "user", id: "owner_ada", scopes: "round_intents:write marketplace:read" },
    operator: { label: "Operator", type: "partner", id: "operator_main", scopes: "marketplace:operate marketplace:read" },
  };
  const roleSelect = document.getElementById("actor-role");
  const actorIdInput = document.getElementById("actor-id");
  for (const [key, role] of Object.entries(ROLES)) {
    const option = document.createElement("option");
    option.value = key;
    option.textContent = role.label + " (" + role.type + ")";
    roleSelect.append(option);
  }

  function actor() {
    const role = ROLES[roleSelect.value];
    return { role: roleSelect.value, type: role.type, id: actorIdInput.value.trim(), scopes: role.scopes };
  }

  function permits(op, who) {
    const rule = op.auth;
    if (!rule.required) return { ok: true, missing: [] };
    const held = who.scopes.split(/[\s,]+/);
    const missing = rule.required_scopes.filter((scope) => !held.includes(scope));
    const typeOk = rule.allowed_actor_types.includes(who.type);
    return { ok: typeOk && missing.length === 0, missing, typeOk };
  }

  function setRole(key) {
    roleSelect.value = key;
    actorIdInput.value = ROLES[key].id;
    renderActor();
  }

  // A form's own-id field (seller_node_id, model_owner_id) starts as its role's id and follows
  // the actor id while that role acts and the field still holds the id it had.
  let lastActorId = null;
  function followActorId() {
    const who = actor();
    for (const input of document.querySelectorAll("[data-follows-role]")) {
      if (input.dataset.followsRole !== who.role) continue;
      if (!input.value || input.value === lastActorId) input.value = who.id;
    }
    lastActorId = who.id;
  }

  function renderActor() {
    const who = actor();
    document.getElementById("actor-summary").innerHTML =
      "Requests carry <code>x-actor-type: " + esc(who.type) + "</code>, <code>x-actor-id: " + esc(who.id) +
      "</code>, <code>x-auth-scopes: " + esc(who.scopes) + "</code>.";
    for (const box of document.querySelectorAll(".needs[data-op]")) renderNeeds(box);
  }

  function renderNeeds(box) {
    const op = C.operations[box.dataset.op];
    const who = actor();
    const verdict = permits(op, who);
    const rule = op.auth;
    let html = "<span>Needs " + rule.allowed_actor_types.map((t) => "<code>" + esc(t) + "</code>").join(" or ") +
      " with " + rule.required_scopes.map((s) => "<code>" + esc(s) + "</code>").join(" ") + ".</span>";
    if (verdict.ok) {
      html += '<span class="ok">You may, as ' + esc(ROLES[who.role].label.toLowerCase()) + ".</span>";
    } else {
      const lack = verdict.missing.length ? "lack " + verdict.missing.join(" ") : "are a " + who.type;
      html += '<span class="no">As ' + esc(ROLES[who.role].label.toLowerCase()) + " you " + esc(lack) + ": the server will answer 403.</span>";
      const fit = Object.keys(ROLES).find((key) => permits(op, ROLES[key]).ok);
      if (fit) html += '<button type="button" class="secondary small" data-act-as="' + fit + '">Act as the ' + esc(ROLES[fit].label.toLowerCase()) + "</button>";
    }
    box.innerHTML = html;
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-act-as]");
    if (target) setRole(target.dataset.actAs);
  });
  // Enter in the actor id must not submit (and so reload) the page.
  document.getElementById("acting-as").addEventListener("submit", (event) => event.preventDefault());
  roleSelect.addEventListener("change", () => { setRole(roleSelect.value); lastActorId = actor().id; });
  actorIdInput.addEventListener("input", () => { followActorId(); renderActor(); });

  // ---------------------------------------------------------------------------------------
  // Calling the API

  function freshKey() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "console-" + Date.now().toString(36) + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function call(opId, options) {
    const { params = {}, body, query } = options || {};
    const op = C.operations[opId];
    let path = op.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name]));
    if (query) path += "?" + new URLSearchParams(query).toString();
    const who = actor();
    const headers = { "x-actor-type": who.type, "x-actor-id": who.id, "x-auth-scopes": who.scopes };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (op.idempotency_required) headers["Idempotency-Key"] = freshKey();
    let response;
    try {
      response = await fetch(path, { method: op.method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      return { opId, status: 0, ok: false, body: { error: { code: "NETWORK", message: "The server could not be reached (" + error.message + ").", details: {} } } };
    }
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch (error) {
      json = { error: { code: "NOT_JSON", message: text.slice(0, 300), details: {} } };
    }
    return { opId, status: response.status, ok: response.ok, body: json };
  }

  function reasonOf(res) {
    const error = res.body.error || {};
    return (error.details && error.details.reason_code) || error.code || "";
  }

  function detailsWords(details) {
    const shown = Object.entries(details || {}).filter(([key]) => !["reason_code", "errors", "top_ranked_offers", "rejection_reasons"].includes(key));
    if (!shown.length) return "";
    return "<p>" + shown.map(([key, value]) => "<code>" + esc(key) + "</code>: " + esc(typeof value === "string" ? value : JSON.stringify(value))).join(" · ") + "</p>";
  }

  function errorBanner(res, heading) {
    const error = res.body.error || {};
    return '<div class="banner error" data-status="' + res.status + '">' +
      "<h4>" + esc(heading || "The server refused") + ": " + res.status + ' <span class="error-code">' + esc(reasonOf(res)) + "</span></h4>" +
      "<p>" + esc(error.message || "") + "</p>" + detailsWords(error.details) +
      (res.body.correlation_id ? '<p class="muted">correlation id <code>' + esc(res.body.correlation_id) + "</code></p>" : "") +
      "</div>";
  }

  function okBanner(html) {
    return '<div class="banner ok">' + html + "</div>";
  }

  // ---------------------------------------------------------------------------------------
  // Forms built from the request schemas

  const FORMS = {
    offer: {
      primary: ["seller_node_id", "dataset_fingerprint", "title", "modality", "sample_count", "quality_score", "allowed_tasks", "price_per_round"],
      submit: "Create the offer",
      followsRole: ["seller_node_id", "provider"],
      example: { seller_node_id: "node_alpha", dataset_fingerprint: "sha256:9f86d081884c7d65", title: "Clinic vitals", modality: "tabular", sample_count: "1200", quality_score: "0.92", allowed_tasks: "classification", price_per_round: "12.5" },
    },
    intent: {
      primary: ["model_owner_id", "task_type", "required_modalities", "min_quality_score", "budget_total", "round_id"],
      submit: "Post the intent",
      followsRole: ["model_owner_id", "owner"],
      example: { model_owner_id: "owner_ada", task_type: "classification", required_modalities: ["tabular"], min_quality_score: "0.8", budget_total: "40", round_id: "spring-cohort" },
    },
    preview: { primary: ["round_intent_id", "max_offers", "policy_overrides"], skip: ["intent"], submit: "Preview" },
    match: { primary: ["round_intent_id", "max_offers"], submit: "Match into a contract" },
    round: { primary: ["contract_ids"], submit: "Run a training round" },
  };

  const forms = {};

  function inputKind(schema, root) {
    if (schema.anyOf) return "time";
    if (schema.enum) return "select";
    if (schema.type === "array") return schema.items && resolve(schema.items, root).enum ? "multi" : "list";
    if (schema.type === "number" || schema.type === "integer") return "number";
    if (schema.type === "object") return "group";
    if (schema.type === "string" && schema.maxLength > 200) return "textarea";
    return "text";
  }

  function buildForm(element) {
    const key = element.dataset.form;
    const spec = FORMS[key];
    const opId = element.dataset.op;
    const op = C.operations[opId];
    const root = C.schemas[op.request_schema];
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
      fill.addEventListener("click", () => fillForm(form, spec.example));
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
    const required = (parentSchema.required || []).includes(name);
    const kind = inputKind(schema, root);
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
      if (kind === "select") {
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
      wrapper.innerHTML = '<label for="' + id + '">' + title + "</label>" + control + hint + error;
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

  function fillForm(form, values) {
    for (const field of form.fields) {
      if (!(field.dotted in values)) continue;
      const value = values[field.dotted];
      if (field.kind === "multi") {
        for (const input of field.inputs) input.checked = value.includes(input.value);
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
    return esc(ruleWords(error.keyword, error.schema)) + ' <span class="muted">(' + "rule <code>" + esc(error.keyword) + "</code>, reason <code>" + esc(error.reason_code) + "</code>)</span>";
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
    const errors = validateBody(form.opId, readForm(form));
    showPageErrors(form, errors, false);
    const summary = document.getElementById(form.key + "-summary");
    if (!errors.length) summary.textContent = "";
  }

  function showServerFieldError(form, res) {
    const details = (res.body.error && res.body.error.details) || {};
    if (!details.field) return null;
    const field = fieldFor(form, details.field);
    if (!field) return null;
    const schema = field.schema;
    setFieldError(field,
      "Server answered " + res.status + ": " + esc(ruleWords(details.rule, schema)) + ' <span class="muted">(rule <code>' + esc(details.rule) +
      "</code>, reason <code>" + esc(reasonOf(res)) + "</code>: " + esc((res.body.error || {}).message || "") + ")</span>", "server");
    return field;
  }

  // Wires a form: immediate checks, submit blocked while the page finds a broken rule, the
  // server's answer at its field, then `done` with the answer.
  function onSubmit(form, done) {
    form.element.addEventListener("submit", async (event) => {
      event.preventDefault();
      const summary = document.getElementById(form.key + "-summary");
      for (const field of form.fields) clearServerError(field);
      const body = readForm(form);
      const errors = validateBody(form.opId, body);
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
        const res = await call(form.opId, { body });
        const field = res.ok ? null : showServerFieldError(form, res);
        if (field) field.inputs[0].focus();
        await done(res, field);
      } finally {
        submit.disabled = false;
        await refreshAll(form.opId);
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Rendering the marketplace

  const state = { offers: [], intents: [], contracts: [], rounds: [], openContract: null, intentErrors: {}, contractErrors: {} };

  function money(value) {
    return esc(value) + " USD";
  }

  function badge(text) {
    return '<span class="state state-' + esc(text) + '">' + esc(text) + "</span>";
  }

  function scoreBars(breakdown) {
    const parts = ["quality", "cost", "trust", "total"];
    return '<div class="bars">' + parts.map((part) => {
      const value = Number(breakdown[part]);
      const width = Math.max(0, Math.min(100, value * 100));
      return '<span class="part">' + part + '</span><span class="bar" aria-hidden="true"><span class="' + part + '" style="width:' + width.toFixed(2) + '%"></span></span>' +
        '<span class="value" data-part="' + part + '">' + esc(breakdown[part]) + "</span>";
    }).join("") + "</div>";
  }

  function scoreCard(title, breakdown, extra, tags) {
    return '<article class="score-card"><h4>' + title + (tags || []).map((tag) => '<span class="tag">' + esc(tag) + "</span>").join("") + "</h4>" +
      (extra ? '<p class="muted">' + extra + "</p>" : "") + scoreBars(breakdown) + "</article>";
  }

  function rejectionWords(code) {
    const entry = C.rejection_reasons.find((r) => r.code === code);
    return entry && entry.words ? entry.words : code;
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  // Why offers were and were not selected: counts, each rule in words, the budget, the ranking.
  function diagnosticsView(d, failed) {
    let html = '<dl class="counts">' +
      "<div><dt>offers evaluated</dt><dd data-count=\"offers_evaluated\">" + esc(d.offers_evaluated) + "</dd></div>" +
      "<div><dt>compatible</dt><dd data-count=\"compatible_offers\">" + esc(d.compatible_offers) + "</dd></div>" +
      "<div><dt>skipped for budget</dt><dd data-count=\"budget_rejected\">" + esc(d.budget_rejected) + "</dd></div></dl>";
    const reasons = Object.entries(d.rejection_reasons || {});
    const failing = reasons.filter(([, count]) => count > 0);
    if (failed) {
      const why = [];
      if (d.offers_evaluated === 0) why.push("There is no offer in the marketplace yet.");
      for (const [code, count] of failing) why.push(plural(count, "offer was", "offers were") + " left out because " + rejectionWords(code) + " (<code>" + esc(code) + "</code>).");
      if (d.budget_rejected > 0) why.push(plural(d.budget_rejected, "compatible offer was", "compatible offers were") + " skipped because its price would have pushed the total over the intent's budget (<code>budget_rejected</code>).");
      html += '<ul class="why">' + why.map((line) => "<li>" + line + "</li>").join("") + "</ul>";
    }
    html += "<h4>Eligibility rules</h4><ul class=\"reasons\">" + reasons.map(([code, count]) =>
      '<li class="' + (count ? "" : "zero") + '" data-reason="' + esc(code) + '"><span class="count">' + esc(count) + "</span> × <code>" + esc(code) + "</code>: " + esc(rejectionWords(code)) + "</li>").join("") + "</ul>";
    if ((d.top_ranked_offers || []).length) {
      html += "<h4>Best-ranked compatible offers</h4><div class=\"offer-scores\">" + d.top_ranked_offers.map((ranked) =>
        scoreCard(esc(ranked.offer_id), ranked.score_breakdown, null, [ranked.selected ? "selected" : ranked.skipped_for_budget ? "skipped for budget" : "not selected"])).join("") + "</div>";
    }
    return html;
  }

  function renderOffers() {
    const box = document.getElementById("offers-list");
    if (!state.offers.length) {
      box.innerHTML = '<p class="muted">No offer yet.</p>';
      return;
    }
    box.innerHTML = "<table><thead><tr><th>offer</th><th>title</th><th>seller</th><th>modality</th><th>quality</th><th>price</th><th>tasks</th><th>status</th></tr></thead><tbody>" +
      state.offers.map((o) => '<tr id="offer-row-' + esc(o.offer_id) + '"><td><code>' + esc(o.offer_id) + "</code></td><td>" + esc(o.title) + "</td><td>" + esc(o.seller_node_id) +
        "</td><td>" + esc(o.modality) + "</td><td>" + esc(o.quality_score) + "</td><td>" + money(o.price_per_round) + "</td><td>" + esc(o.allowed_tasks.join(", ") || "any") +
        "</td><td>" + badge(o.status) + "</td></tr>").join("") + "</tbody></table>";
  }

  const STATUS_VERBS = { cancelled: "Cancel", closed: "Close", open: "Reopen", matched: "Mark matched" };

  function renderIntents() {
    const box = document.getElementById("intents-list");
    if (!state.intents.length) {
      box.innerHTML = '<p class="muted">No round intent yet.</p>';
      return;
    }
    box.innerHTML = "<table><thead><tr><th>intent</th><th>owner</th><th>task</th><th>modalities</th><th>min quality</th><th>budget</th><th>deadline</th><th>status</th><th>status moves</th></tr></thead><tbody>" +
      state.intents.map((intent) => {
        const moves = C.intent_transitions.filter((t) => t.from === intent.status).map((t) => {
          const buttonId = "intent-" + intent.intent_id + "-to-" + t.to;
          let blocked = "";
          if (t.when === "contract_released") {
            const contract = state.contracts.find((c) => c.contract_id === intent.contract_id);
            if (!contract || contract.state !== "escrow_released") {
              blocked = "only once the escrow of " + (intent.contract_id || "its contract") + " is released";
            }
          }
          return '<button type="button" class="secondary small" id="' + esc(buttonId) + '" data-intent="' + esc(intent.intent_id) + '" data-to="' + esc(t.to) + '"' +
            (blocked ? ' disabled aria-describedby="' + esc(buttonId) + '-why"' : "") + ">" + esc(STATUS_VERBS[t.to] || "Move to " + t.to) + "</button>" +
            (blocked ? ' <span class="muted" id="' + esc(buttonId) + '-why">' + esc(label(t.to)) + " " + esc(blocked) + ".</span>" : "");
        });
        const error = state.intentErrors[intent.intent_id];
        return '<tr id="intent-row-' + esc(intent.intent_id) + '"><td><code>' + esc(intent.intent_id) + "</code>" + (intent.round_id ? "<br><span class=\"muted\">" + esc(intent.round_id) + "</span>" : "") +
          "</td><td>" + esc(intent.model_owner_id) + "</td><td>" + esc(intent.task_type) + "</td><td>" + esc(intent.required_modalities.join(", ") || "any") +
          "</td><td>" + esc(intent.min_quality_score) + "</td><td>" + money(intent.budget_total) + "</td><td>" + esc(intent.deadline_ts) + "</td><td>" + badge(intent.status) +
          (intent.contract_id ? "<br><code>" + esc(intent.contract_id) + "</code>" : "") + "</td><td>" + (moves.join(" ") || '<span class="muted">none: the status table allows no move</span>') +
          (error ? '<div class="row-error" id="intent-' + esc(intent.intent_id) + '-error">' + error + "</div>" : "") + "</td></tr>";
      }).join("") + "</tbody></table>";
  }

  document.getElementById("intents-list").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-intent]");
    if (!button) return;
    const id = button.dataset.intent;
    button.disabled = true;
    const res = await call("roundIntents.update", { params: { intent_id: id }, body: { status: button.dataset.to } });
    if (res.ok) delete state.intentErrors[id];
    else state.intentErrors[id] = '<p class="row-error">' + res.status + " <span class=\"error-code\">" + esc(reasonOf(res)) + "</span>: " + esc(res.body.error.message) + "</p>" + detailsWords(res.body.error.details);
    await refreshAll("roundIntents.update");
  });

  function renderContracts() {
    const box = document.getElementById("contracts-list");
    if (!state.contracts.length) {
      box.innerHTML = '<p class="muted">No contract yet: a match makes one.</p>';
      return;
    }
    box.innerHTML = "<table><thead><tr><th>contract</th><th>intent</th><th>state</th><th>offers</th><th>agreed per round</th><th>round</th><th></th></tr></thead><tbody>" +
      state.contracts.map((c) => '<tr id="contract-row-' + esc(c.contract_id) + '"><td><code>' + esc(c.contract_id) + "</code></td><td><code>" + esc(c.round_intent_id) + "</code></td><td>" + badge(c.state) +
        "</td><td>" + esc(c.offer_count) + "</td><td>" + money(c.agreed_price_per_round_total) + "</td><td>" + esc(c.bound_round || "–") +
        '</td><td><button type="button" class="secondary small" data-open-contract="' + esc(c.contract_id) + '" id="open-' + esc(c.contract_id) + '">Open</button></td></tr>').join("") + "</tbody></table>";
  }

  document.getElementById("contracts-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-open-contract]");
    if (button) openContract(button.dataset.openContract, true);
  });

  async function openContract(id, focus) {
    state.openContract = id;
    const res = await call("dataContracts.get", { params: { contract_id: id } });
    const box = document.getElementById("contract-detail");
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "Could not read " + id);
      return;
    }
    renderContract(res.body.contract);
    if (focus) document.getElementById("contract-title").focus();
  }

  function timelineData(event) {
    const data = event.data || {};
    switch (event.event) {
      case "contract_created": return "offers " + (data.offer_ids || []).join(", ") + "; agreed " + money(data.agreed_price_per_round_total) + " per round";
      case "bound_to_round": return "round " + esc(data.round_id) + "; accuracy " + esc(data.accuracy) + ", loss " + esc(data.loss);
      case "escrow_released": return "paid " + money(data.payout_total) + " to " + (data.payouts || []).map((p) => esc(p.seller_node_id) + " (" + money(p.amount) + ")").join(", ");
      default: return esc(JSON.stringify(data));
    }
  }

  function renderContract(contract) {
    const box = document.getElementById("contract-detail");
    const blocker = C.release_blockers[contract.state];
    const blockerText = blocker ? C.reasons[blocker].message : null;
    const sellers = contract.selected_offers.map((o) => o.seller_node_id).join(", ");
    const error = state.contractErrors[contract.contract_id];
    box.innerHTML =
      '<h3 id="contract-title" tabindex="-1">Contract <code>' + esc(contract.contract_id) + "</code> " + badge(contract.state) + "</h3>" +
      '<dl class="counts">' +
      "<div><dt>intent</dt><dd>" + esc(contract.round_intent_id) + "</dd></div>" +
      "<div><dt>model owner</dt><dd>" + esc(contract.model_owner_id) + "</dd></div>" +
      "<div><dt>round label</dt><dd>" + esc(contract.round_id || "–") + "</dd></div>" +
      "<div><dt>bound round</dt><dd>" + esc(contract.bound_round || "–") + "</dd></div>" +
      "<div><dt>agreed per round</dt><dd>" + money(contract.agreed_price_per_round_total) + "</dd></div>" +
      '<div><dt>escrow</dt><dd id="contract-escrow">' + esc(contract.escrow_status) + "</dd></div>" +
      '<div><dt>payout</dt><dd id="contract-payout">' + esc(contract.payout_status) + "</dd></div></dl>" +
      "<h4>Timeline</h4><ol class=\"timeline\" id=\"contract-timeline\">" + contract.timeline.map((event) =>
        '<li data-event="' + esc(event.event) + '"><span class="event">' + esc(event.event) + '</span> <span class="meta">#' + esc(event.seq) + " at " + esc(event.at) + " by " + esc(event.actor.type) + " " + esc(event.actor.id) +
        "</span><br>" + timelineData(event) + "</li>").join("") + "</ol>" +
      "<h4>Selected offers and their scores</h4><div class=\"offer-scores\">" + contract.selected_offers.map((offer) =>
        scoreCard("<code>" + esc(offer.offer_id) + "</code>", offer.score_breakdown, esc(offer.seller_node_id) + " · " + money(offer.price_per_round) + " · quality " + esc(offer.quality_score))).join("") + "</div>" +
      '<div class="release-box"><div class="needs" data-op="escrow.release"></div>' +
      '<button type="button" id="release-button"' + (blocker ? ' disabled aria-describedby="release-reason"' : "") + ">Release the escrow</button>" +
      '<p id="release-reason">' + (blocker
        ? "Release is not possible now: " + esc(blockerText) + " (<code>" + esc(blocker) + "</code>, contract state <code>" + esc(contract.state) + "</code>)." +
          (contract.released_at ? " Released at " + esc(contract.released_at) + "." : "")
        : "Pays " + esc(sellers) + " " + money(contract.agreed_price_per_round_total) + " in all, each its price.") + "</p>" +
      (error ? '<div id="release-error">' + error + "</div>" : "") + "</div>";
    renderNeeds(box.querySelector(".needs"));
    const button = document.getElementById("release-button");
    button.addEventListener("click", () => releaseEscrow(contract));
  }

  function confirmRelease(text) {
    const dialog = document.getElementById("release-dialog");
    document.getElementById("release-dialog-text").textContent = text;
    return new Promise((resolve) => {
      const finish = (answer) => {
        dialog.removeEventListener("cancel", onCancel);
        confirmButton.onclick = null;
        cancelButton.onclick = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      const onCancel = (event) => { event.preventDefault(); finish(false); };
      const confirmButton = document.getElementById("release-confirm");
      const cancelButton = document.getElementById("release-cancel");
      confirmButton.onclick = () => finish(true);
      cancelButton.onclick = () => finish(false);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      cancelButton.focus();
    });
  }

  async function releaseEscrow(contract) {
    const sellers = contract.selected_offers.map((o) => o.seller_node_id).join(", ");
    const yes = await confirmRelease("Release " + contract.agreed_price_per_round_total + " USD of escrow for " + contract.contract_id + " to " + sellers + "? The payout cannot be taken back.");
    if (!yes) return;
    const res = await call("escrow.release", { body: { contract_id: contract.contract_id } });
    if (res.ok) delete state.contractErrors[contract.contract_id];
    else state.contractErrors[contract.contract_id] = errorBanner(res, "Release refused");
    await refreshAll("escrow.release");
    const title = document.getElementById("contract-title");
    if (title) title.focus();
  }

  function renderChart() {
    const box = document.getElementById("accuracy-chart");
    const rounds = state.rounds.slice().sort((a, b) => a.round_number - b.round_number);
    if (!rounds.length) {
      box.innerHTML = '<p class="muted">No round has run yet.</p>';
      return;
    }
    const width = 360, height = 170, left = 34, right = 12, top = 10, bottom = 28;
    const span = width - left - right;
    const x = (i) => left + (rounds.length === 1 ? span / 2 : (i * span) / (rounds.length - 1));
    const y = (v) => top + (1 - v) * (height - top - bottom);
    let svg = '<svg viewBox="0 0 ' + width + " " + height + '" role="img" aria-labelledby="accuracy-caption accuracy-values" class="chart">';
    for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
      svg += '<line class="grid" x1="' + left + '" x2="' + (width - right) + '" y1="' + y(tick) + '" y2="' + y(tick) + '"></line>' +
        '<text x="' + (left - 4) + '" y="' + (y(tick) + 4) + '" text-anchor="end">' + tick + "</text>";
    }
    svg += '<line class="axis" x1="' + left + '" x2="' + left + '" y1="' + top + '" y2="' + y(0) + '"></line>';
    svg += '<polyline class="line" points="' + rounds.map((r, i) => x(i) + "," + y(Number(r.accuracy))).join(" ") + '"></polyline>';
    rounds.forEach((r, i) => {
      svg += '<circle class="point" cx="' + x(i) + '" cy="' + y(Number(r.accuracy)) + '" r="4"></circle>' +
        '<text x="' + x(i) + '" y="' + (height - 10) + '" text-anchor="middle">' + esc(r.round_number) + "</text>";
    });
    svg += "</svg>";
    box.innerHTML = '<div class="chart">' + svg + '</div><p class="chart-values" id="accuracy-values">' +
      rounds.map((r) => "round " + esc(r.round_number) + ": accuracy " + esc(r.accuracy) + ", loss " + esc(r.loss)).join("; ") + "</p>";
  }

  function renderDashboard(status, summary, label) {
    const statusBox = document.getElementById("dash-status");
    const summaryBox = document.getElementById("dash-summary");
    const opsBox = document.getElementById("dash-operations");
    if (!status.ok) statusBox.innerHTML = errorBanner(status, "Cannot read the training status");
    else {
      const s = status.body;
      const pending = s.marketplace_pending_contracts;
      const oldest = pending.oldest;
      statusBox.innerHTML = '<dl class="counts">' +
        '<div><dt>pending contracts</dt><dd id="dash-pending-count">' + esc(pending.count) + "</dd></div>" +
        '<div><dt>locked escrow</dt><dd id="dash-locked">' + money(pending.locked_escrow_total) + "</dd></div>" +
        '<div><dt>rounds completed</dt><dd id="dash-rounds">' + esc(s.rounds_completed) + "</dd></div>" +
        "<div><dt>current round</dt><dd>" + esc(s.current_round || "–") + "</dd></div>" +
        (s.last_round_metrics ? "<div><dt>last accuracy</dt><dd>" + esc(s.last_round_metrics.accuracy) + "</dd></div><div><dt>last loss</dt><dd>" + esc(s.last_round_metrics.loss) + "</dd></div>" : "") +
        "</dl>" + (oldest ? '<p id="dash-oldest">Oldest pending: <code>' + esc(oldest.contract_id) + "</code> (" + plural(oldest.offer_count, "offer", "offers") + ", " + money(oldest.agreed_price_per_round_total) + ")</p>" : '<p id="dash-oldest" class="muted">No contract waits for a release.</p>');
    }
    if (!summary.ok) {
      summaryBox.innerHTML = errorBanner(summary, "Cannot read the marketplace summary");
      opsBox.innerHTML = "";
    } else {
      const m = summary.body.marketplace;
      const reasons = Object.entries(m.rejection_reasons_total).filter(([, n]) => n > 0);
      summaryBox.innerHTML = '<dl class="counts" id="dash-counts">' +
        [["offers", m.offers_total, "offers_total"], ["active offers", m.offers_active, "offers_active"], ["open intents", m.open_intents, "open_intents"], ["contracts", m.contracts_total, "contracts_total"],
          ["created", m.contracts_by_state.created, "created"], ["bound to round", m.contracts_by_state.bound_to_round, "bound_to_round"], ["released", m.contracts_by_state.escrow_released, "escrow_released"],
          ["match attempts", m.match_attempts, "match_attempts"], ["match failures", m.match_failures, "match_failures"]]
          .map(([name, value, key]) => '<div><dt>' + esc(name) + '</dt><dd data-metric="' + key + '">' + esc(value) + "</dd></div>").join("") +
        '<div><dt>locked escrow</dt><dd data-metric="locked_escrow_total">' + money(m.locked_escrow_total) + "</dd></div>" +
        '<div><dt>paid out</dt><dd data-metric="released_payout_total">' + money(m.released_payout_total) + "</dd></div></dl>" +
        (reasons.length ? "<p>Offers left out, over every match: " + reasons.map(([code, n]) => "<code>" + esc(code) + "</code> " + esc(n)).join(", ") + "</p>" : "");
      opsBox.innerHTML = summary.body.operations.map((op) =>
        '<li><span class="' + (op.status < 400 ? "status-ok" : "status-bad") + '">' + esc(op.status) + "</span> <code>" + esc(op.operation_id) + "</code>" +
        (op.reason_code ? ' <span class="error-code">' + esc(op.reason_code) + "</span>" : "") + ' <span class="muted">#' + esc(op.seq) + " by " + esc(op.actor ? op.actor.type + " " + op.actor.id : "anonymous") + " at " + esc(op.at) + "</span></li>").join("") ||
        '<li class="muted">No operation yet.</li>';
    }
    const updated = document.getElementById("dash-updated");
    refreshSeq += 1;
    updated.dataset.seq = String(refreshSeq);
    updated.textContent = "Refreshed after " + label + " at " + new Date().toLocaleTimeString() + ".";
  }

  let refreshSeq = 0;

  async function list(opId, key) {
    const res = await call(opId, { query: { limit: 200 } });
    return res.ok ? res.body[key] : null;
  }

  // After every action: the dashboard, the lists, the chart and the open contract.
  async function refreshAll(label) {
    const [status, summary, offers, intents, contracts, rounds] = await Promise.all([
      call("training.status"), call("metrics.summary"),
      list("dataOffers.list", "offers"), list("roundIntents.list", "intents"),
      list("dataContracts.list", "contracts"), list("trainingRounds.list", "rounds"),
    ]);
    if (offers) state.offers = offers;
    if (intents) state.intents = intents;
    if (contracts) state.contracts = contracts;
    if (rounds) state.rounds = rounds;
    renderOffers();
    renderIntents();
    renderContracts();
    renderChart();
    if (state.openContract) await openContract(state.openContract, false);
    renderDashboard(status, summary, label);
  }

  document.getElementById("refresh").addEventListener("click", () => refreshAll("a manual refresh"));

  // ---------------------------------------------------------------------------------------
  // The steps

  for (const element of document.querySelectorAll("form.api-form")) buildForm(element);

  function setIntentTargets(intentId) {
    for (const key of ["preview", "match"]) {
      const field = forms[key].fields.find((f) => f.dotted === "round_intent_id");
      if (field) field.inputs[0].value = intentId;
    }
  }

  onSubmit(forms.offer, (res, field) => {
    const box = document.getElementById("offer-result");
    if (res.ok) {
      const o = res.body.offer;
      box.innerHTML = okBanner("<h4>Offer <code>" + esc(o.offer_id) + "</code> created</h4><p>Status " + badge(o.status) + ", " + esc(o.title) + ", " + money(o.price_per_round) +
        " per round. Defaults filled in: label_schema <code>" + esc(o.label_schema) + "</code>, privacy_profile <code>" + esc(o.privacy_profile) + "</code>, min_rounds " + esc(o.min_rounds) + ".</p>");
    } else {
      box.innerHTML = errorBanner(res, field ? "The offer was refused at " + field.dotted : "The offer was refused");
    }
  });

  onSubmit(forms.intent, (res, field) => {
    const box = document.getElementById("intent-result");
    if (res.ok) {
      const i = res.body.intent;
      setIntentTargets(i.intent_id);
      box.innerHTML = okBanner("<h4>Intent <code>" + esc(i.intent_id) + "</code> posted</h4><p>Status " + badge(i.status) + ", budget " + money(i.budget_total) + ", deadline " + esc(i.deadline_ts) +
        ". The preview and match forms below now name it.</p>");
    } else {
      box.innerHTML = errorBanner(res, field ? "The intent was refused at " + field.dotted : "The intent was refused");
    }
  });

  onSubmit(forms.preview, (res) => {
    const box = document.getElementById("preview-result");
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "The preview was refused");
      return;
    }
    const p = res.body.preview;
    const policy = p.policy;
    box.innerHTML = okBanner("<h4>A match would select " + plural(p.selected_offers.length, "offer", "offers") + " for " + money(p.agreed_price_per_round_total) + " of a " + money(policy.budget_total) + " budget</h4>" +
      "<p>Policy: task <code>" + esc(policy.task_type) + "</code>, modalities " + esc(policy.required_modalities.join(", ") || "any") + ", min quality " + esc(policy.min_quality_score) +
      ", at most " + esc(policy.max_offers) + " offers, evaluated at " + esc(policy.evaluated_at) + ". Nothing changed.</p>") +
      "<h4>Would-be selection</h4>" + (p.selected_offers.length ? '<div class="offer-scores" id="preview-selected">' + p.selected_offers.map((offer) =>
        scoreCard("<code>" + esc(offer.offer_id) + "</code>", offer.score_breakdown, esc(offer.seller_node_id) + " · " + money(offer.price_per_round) + " · quality " + esc(offer.quality_score))).join("") + "</div>"
        : '<p class="muted">Nothing would be selected: a match would answer 422 no_compatible_offers_found.</p>') +
      "<h4>Diagnostics</h4>" + diagnosticsView(p.diagnostics, p.selected_offers.length === 0);
  });

  onSubmit(forms.match, async (res) => {
    const box = document.getElementById("match-result");
    if (res.ok) {
      const c = res.body.contract;
      box.innerHTML = okBanner("<h4>Contract <code>" + esc(c.contract_id) + "</code> created</h4><p>State " + badge(c.state) + ", escrow " + esc(c.escrow_status) + " (" + money(c.agreed_price_per_round_total) +
        "), " + plural(c.offer_count, "offer", "offers") + ". Intent <code>" + esc(c.round_intent_id) + "</code> is now matched.</p>" +
        '<button type="button" class="secondary" data-open-contract="' + esc(c.contract_id) + '" id="match-open-contract">Open the contract</button>');
      box.querySelector("button").addEventListener("click", () => {
        openContract(c.contract_id, true);
      });
    } else if (reasonOf(res) === "no_compatible_offers_found") {
      const d = res.body.error.details;
      box.innerHTML = '<div class="banner error" id="no-match" data-status="422"><h4>No contract: no offer matched <code>' + esc(d.round_intent_id) + "</code> (422 <span class=\"error-code\">no_compatible_offers_found</span>)</h4>" +
        "<p>" + esc(res.body.error.message) + " Nothing changed. Change what the reasons below point at (a preview with overrides shows what would work), then match again.</p>" +
        diagnosticsView(d, true) + "</div>";
    } else {
      box.innerHTML = errorBanner(res, "The match was refused");
    }
  });

  onSubmit(forms.round, (res) => {
    const box = document.getElementById("round-result");
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "No round ran");
      return;
    }
    const r = res.body.round;
    box.innerHTML = okBanner("<h4>Round <code>" + esc(r.round_id) + "</code> (number " + esc(r.round_number) + ") completed</h4>" +
      '<dl class="counts"><div><dt>accuracy</dt><dd id="round-accuracy">' + esc(r.accuracy) + '</dd></div><div><dt>loss</dt><dd id="round-loss">' + esc(r.loss) + "</dd></div>" +
      "<div><dt>bound contracts</dt><dd>" + esc(r.bound_contract_ids.length) + "</dd></div></dl>" +
      '<p>Bound: <span id="round-bound">' + r.bound_contract_ids.map((id) => "<code>" + esc(id) + "</code>").join(", ") + "</span></p>" +
      '<div class="scroll"><table><thead><tr><th>contract</th><th>offer</th><th>seller</th><th>shard samples</th><th>weight</th></tr></thead><tbody>' +
      r.participants.map((p) => "<tr><td><code>" + esc(p.contract_id) + "</code></td><td><code>" + esc(p.offer_id) + "</code></td><td>" + esc(p.seller_node_id) + "</td><td>" + esc(p.shard_samples) + "</td><td>" + esc(p.weight) + "</td></tr>").join("") +
      "</tbody></table></div>");
  });

  // The page's validator, for tests that hold it against the server's.
  window.marketrefConsole = { validate: validateBody, contract: C };

  setRole("provider");
  refreshAll("page load");
})();
