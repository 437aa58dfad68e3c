// Reconnection delays: exponential with "equal jitter" (half fixed, half
// random), capped, and reset only once a connection has proved stable, so
// a server that accepts and immediately drops us is not hammered.
//
//   attempt:   1     2     3     4      5      6+
//   delay:   0.5-1  1-2   2-4   4-8   8-16  15-30 s   (defaults)

export const BACKOFF_DEFAULTS = Object.freeze({
  base: 1000, // ms, the upper bound of the first delay
  factor: 2,
  max: 30000, // ms, the upper bound of any delay
  jitter: 0.5, // the random share of each delay
  stableAfter: 10000, // ms online before the attempt counter resets
});

export class Backoff {
  constructor(options = {}, random = Math.random) {
    this.o = { ...BACKOFF_DEFAULTS, ...options };
    this.random = random;
    this.attempt = 0;
  }

  /** The delay before the next attempt, in ms; counts the attempt. */
  next() {
    const { base, factor, max, jitter } = this.o;
    const ceiling = Math.min(max, base * Math.pow(factor, this.attempt));
    this.attempt += 1;
    const r = Math.min(1, Math.max(0, this.random()));
    return Math.round(ceiling * (1 - jitter) + ceiling * jitter * r);
  }

  reset() {
    this.attempt = 0;
  }
}
