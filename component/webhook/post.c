#include "build-config.h"

#include "webhook/post.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/utf8.h"
#include "webhook/sign.h"

/* What is kept of a refusal's answer, for the error text. */
#define ANSWER_KEEP 160

struct webhook_http {
    CURL *curl;
    int timeout_s;
    const atomic_bool *stop;
    char answer[ANSWER_KEEP + 1];
    size_t answer_len;
};

struct webhook_http *webhook_http_new(int timeout_s, const atomic_bool *stop)
{
    struct webhook_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    h->timeout_s = timeout_s;
    h->stop = stop;
    return h;
}

void webhook_http_free(struct webhook_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

static size_t on_answer(char *data, size_t size, size_t n, void *ud)
{
    struct webhook_http *h = ud;
    size_t len = size * n;
    size_t room = ANSWER_KEEP - h->answer_len;
    size_t take = len < room ? len : room;
    memcpy(h->answer + h->answer_len, data, take);
    h->answer_len += take;
    h->answer[h->answer_len] = '\0';
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct webhook_http *h = ud;
    return atomic_load(h->stop) ? 1 : 0;
}

/* The answer's start on one line, valid UTF-8, for last_error. */
static void answer_line(struct webhook_http *h, char *out, size_t size)
{
    size_t n = utf8_valid_len(h->answer, h->answer_len);
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < size; i++) {
        char c = h->answer[i];
        out[j++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    out[j] = '\0';
    size_t cut = utf8_valid_len(out, j);
    out[cut] = '\0';
}

static struct curl_slist *headers(const struct webhook_request *req,
                                  const char *signature, int64_t ts)
{
    char line[256];
    struct curl_slist *list = NULL, *next;
    const char *fixed[] = {"Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!(next = curl_slist_append(list, fixed[i])))
            goto fail;
        list = next;
    }
    const char *name[] = {"X-Mucdesk-Event", "X-Mucdesk-Delivery",
                          "Idempotency-Key", "X-Mucdesk-Signature"};
    const char *val[] = {req->type, req->delivery_id, req->delivery_id,
                         signature};
    for (size_t i = 0; i < sizeof name / sizeof name[0]; i++) {
        snprintf(line, sizeof line, "%s: %s", name[i], val[i]);
        if (!(next = curl_slist_append(list, line)))
            goto fail;
        list = next;
    }
    snprintf(line, sizeof line, "X-Mucdesk-Timestamp: %" PRId64, ts);
    if (!(next = curl_slist_append(list, line)))
        goto fail;
    return next;
fail:
    curl_slist_free_all(list);
    return NULL;
}

void webhook_post(struct webhook_http *h, const struct webhook_request *req,
                  struct webhook_result *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = WEBHOOK_RECEIVER_DOWN;
    int64_t ts = (int64_t)time(NULL);
    char signature[WEBHOOK_SIGNATURE_SIZE];
    if (webhook_sign(req->secret, ts, req->body, req->body_len, signature) < 0) {
        snprintf(out->error, sizeof out->error, "cannot sign the request");
        return;
    }
    struct curl_slist *hdrs = headers(req, signature, ts);
    if (!hdrs) {
        snprintf(out->error, sizeof out->error, "out of memory");
        return;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *c = h->curl;
    h->answer_len = 0;
    h->answer[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mucdesk/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_s * 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(h->timeout_s < 10 ? h->timeout_s : 10) * 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);

    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        out->outcome = WEBHOOK_ABORTED;
        snprintf(out->error, sizeof out->error, "stopping");
        return;
    }
    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s%s%s",
                 curl_easy_strerror(rc), curl_err[0] ? ": " : "", curl_err);
        size_t cut = utf8_valid_len(out->error, strlen(out->error));
        out->error[cut] = '\0';
        return;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    if (status >= 200 && status < 300) {
        out->outcome = WEBHOOK_DELIVERED;
        return;
    }
    out->outcome = (status >= 500 || status == 408 || status == 429)
                       ? WEBHOOK_RECEIVER_DOWN
                       : WEBHOOK_REFUSED;
    char answer[ANSWER_KEEP + 1];
    answer_line(h, answer, sizeof answer);
    snprintf(out->error, sizeof out->error, "HTTP %ld%s%s", status,
             answer[0] ? ": " : "", answer);
}
