/* Fuzz target: one incoming e-mail as mucdeskctl mail-in reads it from an
 * MTA (component/mailin/parse.c, GMime 3).  Mail comes from anyone on the
 * internet: whatever the bytes, the parser returns (no crash, no leak, no
 * runaway recursion) and what it hands the ticket is bounded and clean.
 *
 * Checks on MAILIN_OK: from_addr is set; body, subject, names and the
 * sender are UTF-8 (PostgreSQL refuses anything else; the characters XML
 * forbids are the serialiser's to replace, as for chat text); the body is at most MAILIN_BODY_MAX bytes
 * (and body_cut says when it was cut); header texts at most
 * MAILIN_HEADER_MAX; at most MAILIN_ATTACHMENTS_MAX attachments, each
 * with a name and type and the SHA-256 of its bytes; the ticket is the
 * one the subject or our Message-ID names (never negative).  The HTML to
 * text conversion runs on the same bytes: UTF-8 in, UTF-8 out. */
#include "build-config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "mailin/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *what, const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n > max)
        fuzz_fail("%s is %zu bytes, over %zu", what, n, max);
    const char *problem = fuzz_utf8_problem(s, n, false);
    if (problem)
        fuzz_fail("%s: %s", what, problem);
}

static void check_attachment(const struct mailin_attachment *a)
{
    if (!a->name || !a->type || !a->name[0] || !a->type[0])
        fuzz_fail("an attachment without a name or a type");
    check_text("attachment name", a->name, MAILIN_HEADER_MAX);
    check_text("attachment type", a->type, MAILIN_HEADER_MAX);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    char hex[65];
    EVP_Digest(a->size ? a->data : (const unsigned char *)"", a->size, md,
               &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(hex, a->sha256) != 0)
        fuzz_fail("attachment %s: sha256 %s is not that of its bytes", a->name,
                  a->sha256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_input(data, size);
    struct mailin_message m;
    char err[256];
    int rc = mailin_parse((const char *)data, size, "desk.example", &m, err,
                          sizeof err);
    if (rc == MAILIN_OK) {
        if (!m.from_addr || !m.from_addr[0])
            fuzz_fail("parsed without a sender");
        check_text("from_addr", m.from_addr, MAILIN_HEADER_MAX);
        check_text("from_name", m.from_name, MAILIN_HEADER_MAX);
        check_text("subject", m.subject, MAILIN_HEADER_MAX);
        check_text("message_id", m.message_id, MAILIN_HEADER_MAX);
        if (!m.body)
            fuzz_fail("parsed without a body");
        check_text("body", m.body, MAILIN_BODY_MAX);
        if (m.ticket < 0)
            fuzz_fail("ticket %lld", (long long)m.ticket);
        if (m.attachment_count > MAILIN_ATTACHMENTS_MAX)
            fuzz_fail("%zu attachments", m.attachment_count);
        for (size_t i = 0; i < m.attachment_count; i++)
            check_attachment(&m.attachments[i]);
        mailin_message_free(&m);
    } else if (rc != MAILIN_BAD && rc != MAILIN_TOO_BIG && rc != MAILIN_NOMEM) {
        fuzz_fail("mailin_parse returned %d", rc);
    } else if (!err[0]) {
        fuzz_fail("mailin_parse failed (%d) without saying why", rc);
    }

    /* HTML to text: UTF-8 input gives UTF-8 output. */
    if (!fuzz_utf8_problem((const char *)data, size, false)) {
        char *text = mailin_html_text((const char *)data, size);
        if (text) {
            const char *problem = fuzz_utf8_problem(text, strlen(text), false);
            if (problem)
                fuzz_fail("mailin_html_text of UTF-8 gave %s", problem);
            free(text);
        }
    }
    return 0;
}
