// The widget's HTTP, for files only (transport.js is the XMPP): the PUT of
// an upload with its progress (XMLHttpRequest: fetch reports no upload
// progress), and a HEAD asking whether a file can be shown yet (423 while
// the service's scan holds it, 404 once deleted).  Both go to the upload
// service's own origin, which answers CORS for any page
// (doc/protocol.md); no cookie, no referrer is sent.  The tests replace
// `win` (XMLHttpRequest, fetch) with fakes.

/**
 * http.put(url, file, type, headers, onProgress(fraction)) -> Promise of the
 * HTTP status (0: the network failed or the upload was aborted).
 * http.head(url) -> Promise of { status, size } (status 0: no answer).
 */
export function createHttp(win) {
  return {
    put(url, file, type, headers = [], onProgress = () => {}) {
      return new Promise((resolve) => {
        const xhr = new win.XMLHttpRequest();
        xhr.open("PUT", url);
        xhr.setRequestHeader("Content-Type", type);
        for (const h of headers) xhr.setRequestHeader(h.name, h.value);
        if (xhr.upload) {
          xhr.upload.onprogress = (e) => {
            if (e.lengthComputable && e.total > 0) onProgress(Math.min(1, e.loaded / e.total));
          };
        }
        xhr.onload = () => resolve(xhr.status);
        xhr.onerror = () => resolve(0);
        xhr.onabort = () => resolve(0);
        xhr.ontimeout = () => resolve(0);
        xhr.send(file);
      });
    },
    async head(url) {
      try {
        const r = await win.fetch(url, { method: "HEAD", cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
        const n = Number(r.headers.get("content-length"));
        return { status: r.status, size: Number.isFinite(n) && n > 0 ? n : null };
      } catch {
        return { status: 0, size: null };
      }
    },
  };
}
