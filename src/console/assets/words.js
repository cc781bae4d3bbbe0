// Words: how the page says what a schema asks of a field, and what a rule a field broke means.

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
    case "minProperties": return "Must have at least " + schema.minProperties + " entries.";
    case "maxProperties": return "Must have at most " + schema.maxProperties + " entries.";
    case "propertyNames": return "Has a name the schema does not allow.";
    // The ML trainer's rules, named by the server in details.rule.
    case "range": return "Is outside the range the trainer takes.";
    case "unknown": return "Is not a hyperparameter the trainer knows.";
    case "known_round": return "Is not a published round.";
    case "supported_by_local": return "Is not a task the platform's trainer trains; choose another provider.";
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
