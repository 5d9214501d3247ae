import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_JSON_DEPTH, decodeBody, formPayload } from "./body.js";
import type { DecodeResult } from "./body.js";

const json = '{"ref":"refs/heads/main","n":[1,2,{"é":"✓"}]}';
const payload: unknown = JSON.parse(json);
const form = (value: string): Buffer => Buffer.from(`payload=${encodeURIComponent(value)}`);

describe("decodeBody", () => {
  const cases: { name: string; contentType: string | undefined; raw: Buffer; expected: DecodeResult | DecodeResult["ok"] | string }[] = [
    { name: "application/json", contentType: "application/json", raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "charset param", contentType: "application/json; charset=UTF-8", raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "quoted charset", contentType: 'Application/JSON;charset="utf-8"', raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "+json type", contentType: "application/vnd.github+json", raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "no content type: JSON", contentType: undefined, raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "empty content type: JSON", contentType: "", raw: Buffer.from(json), expected: { ok: true, payload } },
    { name: "UTF-8 BOM", contentType: "application/json", raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), expected: { ok: true, payload } },
    { name: "form payload", contentType: "application/x-www-form-urlencoded", raw: form(json), expected: { ok: true, payload } },
    {
      name: "form payload among other fields, + as space",
      contentType: "application/x-www-form-urlencoded; charset=utf-8",
      raw: Buffer.from(`a=1&payload=${encodeURIComponent('{"msg": "a b"}').replaceAll("%20", "+")}&b=2`),
      expected: { ok: true, payload: { msg: "a b" } },
    },
    { name: "form without payload", contentType: "application/x-www-form-urlencoded", raw: Buffer.from("a=1"), expected: "bad_request" },
    { name: "form with bad escape", contentType: "application/x-www-form-urlencoded", raw: Buffer.from("payload=%E0%A4%A"), expected: "bad_request" },
    { name: "form escape of invalid UTF-8", contentType: "application/x-www-form-urlencoded", raw: Buffer.from("payload=%FF"), expected: "bad_request" },
    { name: "form payload not JSON", contentType: "application/x-www-form-urlencoded", raw: form("{nope"), expected: "invalid_json" },
    { name: "truncated JSON", contentType: "application/json", raw: Buffer.from(json.slice(0, -3)), expected: "invalid_json" },
    { name: "empty body", contentType: "application/json", raw: Buffer.alloc(0), expected: "invalid_json" },
    { name: "whitespace body", contentType: undefined, raw: Buffer.from(" \n"), expected: "invalid_json" },
    { name: "100k-deep arrays", contentType: "application/json", raw: Buffer.from("[".repeat(100_000)), expected: "invalid_json" },
    { name: "100k-deep balanced arrays", contentType: "application/json", raw: Buffer.from("[".repeat(100_000) + "]".repeat(100_000)), expected: "invalid_json" },
    { name: "100k-deep arrays in a form", contentType: "application/x-www-form-urlencoded", raw: form("[".repeat(100_000)), expected: "invalid_json" },
    { name: "100k-deep objects", contentType: "application/json", raw: Buffer.from('{"a":'.repeat(100_000)), expected: "invalid_json" },
    { name: "non-UTF-8 bytes", contentType: "application/json", raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), expected: "bad_request" },
    { name: "overlong UTF-8", contentType: "application/json", raw: Buffer.from([0x22, 0xc0, 0xaf, 0x22]), expected: "bad_request" },
    { name: "text/plain", contentType: "text/plain", raw: Buffer.from(json), expected: "unsupported_media_type" },
    { name: "multipart", contentType: "multipart/form-data; boundary=x", raw: Buffer.from(json), expected: "unsupported_media_type" },
    { name: "application/jsonx", contentType: "application/jsonx", raw: Buffer.from(json), expected: "unsupported_media_type" },
    { name: "latin-1 charset", contentType: "application/json; charset=iso-8859-1", raw: Buffer.from(json), expected: "unsupported_media_type" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = decodeBody(c.contentType, c.raw);
      if (typeof c.expected === "string") {
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.equal(result.code, c.expected);
          assert.ok(result.message.length > 0);
        }
      } else {
        assert.deepEqual(result, c.expected);
      }
    });
  }

  it(`nesting up to ${MAX_JSON_DEPTH} levels parses, and the payload can be stored again`, () => {
    const deep = (depth: number): Buffer => Buffer.from("[".repeat(depth) + "]".repeat(depth));
    const result = decodeBody("application/json", deep(MAX_JSON_DEPTH));
    assert.equal(result.ok, true);
    if (result.ok) {
      assert.equal(JSON.stringify(result.payload).length, 2 * MAX_JSON_DEPTH);
      structuredClone(result.payload);
    }
    assert.equal(decodeBody("application/json", deep(MAX_JSON_DEPTH + 1)).ok, false);
  });

  it("many brackets side by side are not nesting", () => {
    const wide = JSON.stringify({ a: Array.from({ length: 2 * MAX_JSON_DEPTH }, () => [{}]) });
    assert.deepEqual(decodeBody("application/json", Buffer.from(wide)), { ok: true, payload: JSON.parse(wide) });
    const deepMixed = '{"a":['.repeat(MAX_JSON_DEPTH / 2) + "1" + "]}".repeat(MAX_JSON_DEPTH / 2);
    assert.equal(decodeBody("application/json", Buffer.from(deepMixed)).ok, true);
    assert.equal(decodeBody("application/json", Buffer.from(`[${deepMixed}]`)).ok, false);
  });

  it("brackets inside strings, escaped quotes included, do not count as nesting", () => {
    const text = JSON.stringify({ s: "[".repeat(10_000) + '\\"' + "{".repeat(10_000), t: ["\\", "]"] });
    assert.deepEqual(decodeBody("application/json", Buffer.from(text)), { ok: true, payload: JSON.parse(text) });
  });
});

describe("decodeBody properties", () => {
  const contentTypes = fc.constantFrom(
    undefined,
    "",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
  );

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(contentTypes, fc.uint8Array({ maxLength: 512 }), (contentType, bytes) => {
        const result = decodeBody(contentType, Buffer.from(bytes));
        assert.equal(typeof result.ok, "boolean");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws on arbitrary strings, content types included", () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.string({ unit: "binary" }), (contentType, text) => {
        decodeBody(contentType, Buffer.from(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it("decodes whatever JSON it is given, as JSON or as a form payload", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        assert.deepEqual(decodeBody("application/json", Buffer.from(text)), { ok: true, payload: JSON.parse(text) });
        assert.deepEqual(decodeBody("application/x-www-form-urlencoded", form(text)), { ok: true, payload: JSON.parse(text) });
      }),
      { numRuns: 500 },
    );
  });
});

describe("formPayload", () => {
  const formType = "application/x-www-form-urlencoded; charset=utf-8";
  const cases: [string, string | undefined, Buffer, string | undefined][] = [
    ["the payload field's text, exactly", formType, form(json), json],
    ["+ decodes to a space", formType, Buffer.from("payload=%7B%22a%22%3A+1%7D"), '{"a": 1}'],
    ["a JSON body is not a form", "application/json", Buffer.from(json), undefined],
    ["no content type is not a form", undefined, form(json), undefined],
    ["a form without payload", formType, Buffer.from("a=1"), undefined],
    ["a bad escape", formType, Buffer.from("payload=%E0%A4%A"), undefined],
    ["bytes that are not UTF-8", formType, Buffer.from([0x70, 0x3d, 0xff]), undefined],
  ];
  for (const [name, contentType, raw, expected] of cases) {
    it(name, () => assert.equal(formPayload(contentType, raw), expected));
  }

  it("gives back any text a form carries", () => {
    fc.assert(
      fc.property(fc.string(), (text) => assert.equal(formPayload(formType, form(text)), text)),
      { numRuns: 500 },
    );
  });
});
