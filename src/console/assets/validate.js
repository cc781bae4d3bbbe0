// Validation: the subset of JSON Schema 2020-12 the request schemas use, reporting each
// failure as the runtime does (instance path of the field, keyword, the reason the runtime
// would answer), sorted the same way.

// The JSON Schema keywords this page checks or reads (a Rust test keeps the schemas inside
// this list, so no rule of theirs is silently skipped here).
const SCHEMA_KEYWORDS = ["$schema", "$defs", "$ref", "title", "description", "default", "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format", "items", "minItems", "maxItems", "uniqueItems", "properties", "required", "additionalProperties", "minProperties", "maxProperties", "propertyNames", "anyOf"];

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
    } else if (keyword === "items" || keyword === "additionalProperties" || keyword === "propertyNames") {
      checkKeywords(value, where + "/" + keyword);
    }
  }
}

try {
  for (const [name, schema] of Object.entries(C.schemas)) checkKeywords(schema, name);
} catch (error) {
  contractError(error.message);
}

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

// Day 0 of the next month is the last of this one; setUTCFullYear, unlike Date.UTC, keeps
// the years 0 to 99 as they are.
function daysIn(year, month) {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
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
    const count = Object.keys(value).length;
    if (schema.minProperties !== undefined && count < schema.minProperties) fail(path, "minProperties");
    if (schema.maxProperties !== undefined && count > schema.maxProperties) fail(path, "maxProperties");
    if (schema.propertyNames) {
      for (const name of Object.keys(value)) {
        const nameErrors = [];
        check(schema.propertyNames, name, root, path, nameErrors);
        if (nameErrors.length) fail(pointerJoin(path, name), "propertyNames");
      }
    }
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

// The runtime's order of failures: by instance path, then keyword.
function byPlace(a, b) {
  if (a.instance_path !== b.instance_path) return a.instance_path < b.instance_path ? -1 : 1;
  return a.keyword < b.keyword ? -1 : a.keyword > b.keyword ? 1 : 0;
}

// Every failure of `body` for operation `opId`, as the runtime would report them.
function validateBody(opId, body) {
  const op = C.operations[opId];
  return validateWith(op, C.schemas[op.request_schema], body);
}

// The same against `root`, the operation's schema with what the page adds to it.
function validateWith(op, root, body) {
  const errors = [];
  check(root, body, root, "", errors);
  errors.sort(byPlace);
  const seen = new Set();
  return errors.filter((e) => {
    const key = e.instance_path + " " + e.keyword;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).map((e) => Object.assign(e, { field: fieldName(e.instance_path), rule: e.keyword, reason_code: reasonFor(op, e.instance_path, e.keyword) }));
}
