/** A random hex id (stanza ids, origin-ids, MAM query ids). */
export function randomId() {
  const c = globalThis.crypto;
  const bytes = new Uint8Array(12);
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
