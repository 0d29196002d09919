// Validates an OpenAPI description (a JSON file given as the only argument) with two independent
// validators: @seriousme/openapi-schema-validator (the document against the official OpenAPI 3.1
// JSON Schema, strictly) and @readme/openapi-parser (the schema plus semantic rules: unique
// operationIds, declared path parameters, resolvable $refs). Prints one JSON line:
// {"seriousme": {"valid", "version", "errors"}, "readme": {"valid", "errors"}}.
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import { validate } from "@readme/openapi-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs openapi.json");
  process.exit(2);
}
const text = await readFile(file, "utf8");
const out = {};

const v = new Validator({ strict: true });
const res = await v.validate(JSON.parse(text));
out.seriousme = { valid: res.valid, version: v.version, errors: res.valid ? [] : res.errors };

try {
  const r = await validate(JSON.parse(text), { validate: { errors: { colorize: false } } });
  out.readme = { valid: r.valid, errors: r.valid ? [] : r.errors, warnings: r.warnings ?? [] };
} catch (e) {
  out.readme = { valid: false, errors: [String(e && e.message ? e.message : e)] };
}
console.log(JSON.stringify(out));
