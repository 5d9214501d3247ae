import assert from "node:assert/strict";
import { it } from "node:test";
import { newId } from "./ids.js";

it("newId gives distinct UUID v7s that sort by creation", () => {
  const ids = Array.from({ length: 100 }, () => newId());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});
