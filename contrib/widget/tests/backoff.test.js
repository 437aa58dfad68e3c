import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../src/backoff.js";

test("backoff: grows exponentially from 1 s, capped at 30 s, with the lower half fixed", () => {
  const lo = new Backoff({}, () => 0);
  const hi = new Backoff({}, () => 1);
  const low = Array.from({ length: 8 }, () => lo.next());
  const high = Array.from({ length: 8 }, () => hi.next());
  assert.deepEqual(low, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.deepEqual(high, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(lo.attempt, 8);
});

test("backoff: jitter spreads clients between the bounds; reset starts over", () => {
  const seq = [0.25, 0.5, 0.75];
  const b = new Backoff({}, () => seq.shift());
  assert.equal(b.next(), 625);
  assert.equal(b.next(), 1500);
  assert.equal(b.next(), 3500);
  b.reset();
  assert.equal(b.attempt, 0);
  const c = new Backoff({ base: 200, factor: 3, max: 1000, jitter: 0 });
  assert.deepEqual([c.next(), c.next(), c.next()], [200, 600, 1000]);
});

test("backoff: a random source out of range is clamped", () => {
  const b = new Backoff({}, () => 7);
  assert.equal(b.next(), 1000);
  const c = new Backoff({}, () => -1);
  assert.equal(c.next(), 500);
});
