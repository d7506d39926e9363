/** Unit tests of the core's building blocks (the whole engine is compared with the Python one
 * scenario by scenario by the repository's test suite). */

import assert from "node:assert/strict";
import { test } from "node:test";
import { murmur3_32 } from "../src/core/campaigns/buckets";
import { compare, parseVersion, toNumber, toText } from "../src/core/campaigns/values";
import { IdFactory, uuid7Ms } from "../src/core/ids";
import { PyFloat, floatJson, floatRepr, parseJson, writeJson } from "../src/core/json";
import { MersenneTwister } from "../src/core/mt19937";
import { CustomProperties } from "../src/core/properties";
import { charLength, compareText, formatG, pyRepr, roundHalfEven } from "../src/core/text";
import { parseInstant, parseOffsetText } from "../src/core/timeparse";

test("MurmurHash3 x86 32 matches the reference values", () => {
  const cases: Array<[string, number]> = [
    ["", 0],
    ["a", 1009084850],
    ["ab", 2613040991],
    ["abc", 3017643002],
    ["abcd", 1139631978],
    ["c1/d-1", 2733365452],
    ["campaign/treatment/user \u00e9", 2116969231],
    ["\u{1f600}\u{1f600}x", 4010838067],
    ["The quick brown fox jumps over the lazy dog", 776992547],
  ];
  for (const [text, want] of cases) assert.equal(murmur3_32(text), want, text);
});

test("JSON keeps int/float, key order and 64-bit ints", () => {
  const v = parseJson('{"2":1,"1":1.0,"big":9223372036854775807,"f":1e16,"x":-0.0,"u":18446744073709551616}');
  assert.ok(v instanceof Map);
  assert.deepEqual([...v.keys()], ["2", "1", "big", "f", "x", "u"]);
  assert.ok(v.get("1") instanceof PyFloat);
  assert.equal(v.get("big"), 9223372036854775807n);
  assert.equal(writeJson(v), '{"2":1,"1":1.0,"big":9223372036854775807,"f":1e+16,"x":-0.0,"u":1.8446744073709552e+19}');
  assert.throws(() => parseJson('"\\ud800"'));
  assert.throws(() => parseJson("1e400"));
  assert.throws(() => parseJson("[1,]"));
  assert.throws(() => parseJson("\ufeff{}"));
});

test("floats are spelled as the Python side spells them", () => {
  assert.equal(floatJson(1e-5), "0.00001");
  assert.equal(floatJson(1e-7), "1e-7");
  assert.equal(floatJson(1e15), "1000000000000000.0");
  assert.equal(floatJson(1.5e16), "1.5e+16");
  assert.equal(floatRepr(1e-5), "1e-05");
  assert.equal(floatRepr(0.0001), "0.0001");
  assert.equal(floatRepr(1e16), "1e+16");
  assert.equal(floatRepr(2.5), "2.5");
  assert.equal(formatG(123456.5), "123456");
  assert.equal(formatG(123457.5), "123458");
  assert.equal(formatG(1234567), "1.23457e+06");
  assert.equal(formatG(100.00000001), "100");
  assert.equal(formatG(0.00001), "1e-05");
});

test("text rules: code points, order, repr, rounding", () => {
  assert.equal(charLength("\u{1f600}a"), 2);
  assert.ok(compareText("\uff01", "\u{1f600}") < 0);
  assert.equal(pyRepr("it's"), '"it\'s"');
  assert.equal(pyRepr("a\nb\u0000\u00e9\u200b"), "'a\\nb\\x00\u00e9\\u200b'");
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  assert.equal(roundHalfEven(-0.5), 0);
  assert.equal(roundHalfEven(-1.5), -2);
});

test("values convert and compare like the Python engine", () => {
  assert.equal(toNumber(" 7 "), 7);
  assert.ok(toNumber("1_000") instanceof PyFloat);
  assert.equal(toNumber("inf"), null);
  assert.equal(toNumber(true), null);
  assert.equal(toText(new PyFloat(1)), "1.0");
  assert.deepEqual(parseVersion("2.3.0-beta"), [2, 3]);
  assert.ok(compare("gt", parseVersion("1.10"), parseVersion("1.9")));
  assert.ok(compare("eq", 1, new PyFloat(1)));
  assert.ok(compare("ne", null, "x"));
  assert.ok(!compare("gt", null, 1));
});

test("instants and offsets", () => {
  assert.equal(parseInstant("2026-11-28T10:00:00Z"), 1795860000000);
  assert.equal(parseInstant("2026-11-28T11:00:00+01:00"), 1795860000000);
  assert.equal(parseInstant("2026-11-28T10:00:00"), null);
  assert.equal(parseInstant("2026-02-30T10:00:00Z"), null);
  assert.equal(parseOffsetText("+1.5s"), 1500);
  assert.equal(parseOffsetText("+0.0005s"), 0);
  assert.equal(parseOffsetText("+0.0015s"), 2);
  assert.equal(parseOffsetText("5s"), null);
});

test("ids strictly increase, within a millisecond and when the clock steps back", () => {
  const ids = new IdFactory((n) => new Uint8Array(n).fill(255));
  const made = [ids.newId(1000), ids.newId(1000), ids.newId(999), ids.newId(1001)];
  assert.deepEqual([...made].sort(), made);
  assert.equal(new Set(made).size, 4);
  assert.equal(uuid7Ms(made[0] as string), 1000);
  assert.match(made[0] as string, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("the seeded stream is Python's random.Random(0)", () => {
  const rng = new MersenneTwister(0);
  // random.Random(0).getrandbits(32) == 3626764237; randbytes(10) follows.
  assert.equal(rng.next32(), 3626764237);
});

test("custom properties report effective changes only", () => {
  const props = new CustomProperties();
  assert.equal(props.set("n", 1).length, 1);
  assert.equal(props.set("n", 1).length, 0);
  assert.equal(props.set("n", new PyFloat(1)).length, 1);
  assert.equal(props.set("n", true).length, 1);
  assert.deepEqual(
    props.clear().map((c) => c.key),
    ["n"],
  );
  assert.throws(() => props.set("", 1), /key must not be empty/);
  assert.throws(() => props.set("k", null), /must not be null/);
});
