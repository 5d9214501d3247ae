import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createLogMasker, maskSecrets, SECRET_MASK } from "./log-mask.js";

const M = SECRET_MASK;

/** Pushes the pieces one by one, then ends: everything the masker let out, piece by piece. */
function stream(pieces: readonly string[], secrets: readonly string[]): string[] {
  const masker = createLogMasker(secrets);
  return [...pieces.map((piece) => masker.push(piece)), masker.end()];
}

/** `text` cut at these positions (any order, repeats allowed: empty pieces too). */
function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...cuts.map((c) => c % (text.length + 1))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let at = 0;
  for (const point of points) {
    pieces.push(text.slice(at, point));
    at = point;
  }
  pieces.push(text.slice(at));
  return pieces;
}

describe("maskSecrets", () => {
  const cases: [string, string, string[], string][] = [
    ["no secrets", "hello", [], "hello"],
    ["one occurrence", "token=s3cr3t;", ["s3cr3t"], `token=${M};`],
    ["every occurrence", "s3cr3t and s3cr3t", ["s3cr3t"], `${M} and ${M}`],
    ["an empty secret is ignored", "abc", [""], "abc"],
    ["several secrets", "user=alice pass=hunter2", ["alice", "hunter2"], `user=${M} pass=${M}`],
    ["overlapping occurrences are one mask", "xabcdefx", ["abcd", "cdef"], `x${M}x`],
    ["a secret inside another is one mask", "xabcx", ["abc", "b"], `x${M}x`],
    ["adjacent occurrences are two masks", "xyxy", ["xy"], `${M}${M}`],
    ["a self-overlapping secret", "aaaaa", ["aaa"], M],
    ["a one-character secret masks each such character", "a1b1", ["1"], `a${M}b${M}`],
    ["regex characters are plain text", "a.*b a+b", [".*", "a+b"], `a${M}b ${M}`],
    ["a multi-line secret as a whole", "key:\nline one\nline two\n", ["line one\nline two"], `key:\n${M}\n`],
    ["a multi-line secret's lines on their own", "+ line one\n+ line two\n", ["line one\nline two"], `+ ${M}\n+ ${M}\n`],
    ["short lines of a multi-line secret are not masked alone", "{ }", ['{\n  "k": "v1"\n}'], "{ }"],
    ["a line of a multi-line secret, trimmed", 'got "k": "v1"', ['{\n  "k": "v1"\n}'], `got ${M}`],
    ["unicode", "pw=pässwörd✓", ["pässwörd✓"], `pw=${M}`],
  ];
  for (const [name, text, secrets, expected] of cases) {
    it(name, () => assert.equal(maskSecrets(text, secrets), expected));
  }
});

describe("createLogMasker", () => {
  const cases: [string, string[], string[], string[]][] = [
    // name, secrets, pieces pushed, what each push (and the final end()) returns
    ["nothing to mask passes straight through", [], ["abc", "def"], ["abc", "def", ""]],
    ["a secret split across pieces", ["s3cr3t"], ["id s3c", "r3t!"], ["id ", `${M}!`, ""]],
    ["a secret split into single characters", ["abc"], ["a", "b", "c", "\n"], ["", "", M, "\n", ""]],
    ["a held prefix that is not a secret after all", ["s3cr3t"], ["s3c", "x"], ["", "s3cx", ""]],
    ["a held tail comes out at the end", ["s3cr3t"], ["done s3c"], ["done ", "s3c"]],
    ["a whole secret is masked at once", ["s3cr3t"], ["s3cr3t"], [M, ""]],
    ["a longer secret may still follow a shorter one", ["ab", "abcd"], ["ab", "cd"], ["", M, ""]],
    ["it does not", ["ab", "abcd"], ["ab", "x"], ["", `${M}x`, ""]],
    ["an occurrence that an unfinished one overlaps waits", ["abcd", "cdxyz"], ["abcd", "xyz!"], ["", `${M}!`, ""]],
    ["and is masked alone if the other never comes", ["abcd", "cdxyz"], ["abcd", "!"], ["", `${M}!`, ""]],
    ["empty pieces", ["abc"], ["", "ab", "", "c", ""], ["", "", "", M, "", ""]],
  ];
  for (const [name, secrets, pieces, expected] of cases) {
    it(name, () => assert.deepEqual(stream(pieces, secrets), expected));
  }

  it("masks secrets added on the way, in what it has not let out", () => {
    const masker = createLogMasker(["first"]);
    assert.equal(masker.push("first "), `${M} `);
    masker.add(["second"]);
    assert.equal(masker.push("sec"), "");
    assert.equal(masker.push("ond first\n"), `${M} ${M}\n`);
    assert.equal(masker.end(), "");
  });

  it("goes on after end()", () => {
    const masker = createLogMasker(["abc"]);
    assert.equal(masker.push("ab"), "");
    assert.equal(masker.end(), "ab");
    assert.equal(masker.push("abc!"), `${M}!`);
  });
});

describe("log masking properties", () => {
  // Few letters, so that secrets, their prefixes and overlaps turn up often.
  const letter = fc.constantFrom("a", "b", "c", "\n", "*");
  const text = fc.string({ unit: letter, maxLength: 60 });
  const secretLetter = fc.constantFrom("a", "b", "c", "\n");
  const secrets = fc.array(fc.string({ unit: secretLetter, maxLength: 6 }), { maxLength: 4 });
  const cuts = fc.array(fc.nat(), { maxLength: 8 });

  it("any split of any text comes out as the whole text masked at once", () => {
    fc.assert(
      fc.property(text, secrets, cuts, (t, s, c) => {
        assert.equal(stream(splitAt(t, c), s).join(""), maskSecrets(t, s));
      }),
      { numRuns: 2000 },
    );
  });

  it("no secret is left in the output, however the text was split", () => {
    // Secrets without the mask's "*": "****" itself could otherwise spell one.
    fc.assert(
      fc.property(text, secrets, cuts, (t, s, c) => {
        const out = stream(splitAt(t, c), s).join("");
        for (const secret of s) if (secret !== "") assert.ok(!out.includes(secret), `${JSON.stringify(secret)} in ${JSON.stringify(out)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it("text around the secrets comes out unchanged", () => {
    // Fillers share no character with the secrets, so the only occurrences are the ones put in.
    const filler = fc.string({ unit: fc.constantFrom("x", "y", " ", "\n", "*"), minLength: 1, maxLength: 8 });
    const secret = fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, secret), { maxLength: 6 }), filler, cuts, (pairs, last, c) => {
        const whole = pairs.map(([f, s]) => f + s).join("") + last;
        const expected = pairs.map(([f]) => f + SECRET_MASK).join("") + last;
        const out = stream(splitAt(whole, c), pairs.map(([, s]) => s)).join("");
        assert.equal(out, expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("holds nothing back once the text ends in a character no secret has", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "c", " "), maxLength: 40 }), fc.array(fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 5 })), (t, s) => {
        const masker = createLogMasker(s);
        assert.equal(masker.push(`${t}\n`), maskSecrets(`${t}\n`, s));
        assert.equal(masker.end(), "");
      }),
    );
  });
});
