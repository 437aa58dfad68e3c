/* Unit tests: transcripts as PDF (render/pdf.c), read back with pdftotext
 * (poppler-utils): every script comes out as text (Latin, Cyrillic, CJK,
 * Arabic right to left), pages are numbered "Page N of M", a line longer
 * than a page goes on to the next instead of being cut, text that is not
 * UTF-8 does not stop the document. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/pdf.h"

/* The text pdftotext reads from the PDF in out (caller frees). */
static char *pdf_text(const struct buf *pdf)
{
    char path[] = "/tmp/mucdesk-test-pdf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pdf->data, pdf->len), (ssize_t)pdf->len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "pdftotext %s - 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct buf text = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(&text, chunk, n);
    assert_int_equal(pclose(p), 0);
    unlink(path);
    return buf_steal(&text);
}

static const struct render_field fields[] = {
    {"Queue", "billing"}, {"Status", "RESOLVED"}, {"Impact", NULL},
    {"Customer", "Ann <ann@example.org>"},
};

static void test_scripts(void **state)
{
    (void)state;
    const struct render_line lines[] = {
        {"2026-12-07 10:00:01", "Ann", "Bonjour, ma facture est fausse", false},
        {"2026-12-07 10:00:02", "Борис", "Здравствуйте, счёт неверный", false},
        {"2026-12-07 10:00:03", "李", "请帮我检查发票", false},
        {"2026-12-07 10:00:04", "أمل", "مرحبا الفاتورة خاطئة", false},
        {"2026-12-07 10:00:05", NULL, "* Alex joined", true},
    };
    struct render_doc doc = {.title = "Ticket #7: Invoice", .fields = fields,
                             .field_count = 4, .lines = lines, .line_count = 5};
    struct buf pdf = BUF_INIT;
    char err[128];
    assert_int_equal(render_pdf_buf(&doc, &pdf, err, sizeof err), 0);
    assert_memory_equal(pdf.data, "%PDF-", 5);
    char *text = pdf_text(&pdf);
    const char *want[] = {"Ticket #7: Invoice", "billing", "Ann <ann@example.org>",
                          "Bonjour, ma facture est fausse",
                          "Здравствуйте, счёт неверный", "Борис",
                          "请帮我检查发票", "مرحبا الفاتورة خاطئة", "أمل",
                          "* Alex joined", "2026-12-07 10:00:05",
                          "Page 1 of 1", NULL};
    for (const char **w = want; *w; w++)
        if (!strstr(text, *w))
            fail_msg("'%s' not in the PDF's text:\n%s", *w, text);
    assert_null(strstr(text, "Impact"));   /* a field without a value */
    free(text);
    buf_free(&pdf);
}

static void test_pages_and_long_lines(void **state)
{
    (void)state;
    enum { N = 150 };
    struct render_line lines[N];
    char texts[N][48];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "line number %d", i);
        lines[i] = (struct render_line){"10:00:00", "Alex", texts[i], false};
    }
    /* One event longer than a page: words up to "lastword". */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 3000; i++)
        buf_printf(&big, "word%d ", i);
    buf_append_str(&big, "lastword");
    lines[N / 2].text = buf_cstr(&big);
    /* Not UTF-8. */
    lines[3].text = "bad \xff\xfe bytes";
    struct render_doc doc = {.title = "Long", .lines = lines, .line_count = N};
    struct buf pdf = BUF_INIT;
    char err[128];
    assert_int_equal(render_pdf_buf(&doc, &pdf, err, sizeof err), 0);
    char *text = pdf_text(&pdf);
    /* Counts the pages: "Page N of M" on each, the same M. */
    int pages = 0;
    for (const char *p = text; (p = strstr(p, "Page ")) != NULL; p++)
        pages++;
    assert_true(pages >= 5);
    char last[32];
    snprintf(last, sizeof last, "Page %d of %d", pages, pages);
    assert_non_null(strstr(text, "Page 1 of "));
    assert_non_null(strstr(text, last));
    assert_non_null(strstr(text, "word2999 lastword"));
    assert_non_null(strstr(text, "line number 149"));
    assert_non_null(strstr(text, "bad"));
    free(text);
    buf_free(&pdf);
    buf_free(&big);
}

static void test_file(void **state)
{
    (void)state;
    const struct render_line line = {NULL, NULL, NULL, false};
    struct render_doc doc = {.lines = &line, .line_count = 1};
    char err[128];
    assert_int_equal(render_pdf_file(&doc, "/tmp/mucdesk-test-render.pdf", err,
                                     sizeof err), 0);
    assert_int_equal(access("/tmp/mucdesk-test-render.pdf", R_OK), 0);
    unlink("/tmp/mucdesk-test-render.pdf");
    assert_int_equal(render_pdf_file(&doc, "/nonexistent/dir/x.pdf", err,
                                     sizeof err), -1);
    assert_non_null(strstr(err, "PDF"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_pages_and_long_lines),
        cmocka_unit_test(test_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    render_pdf_shutdown();
    return rc;
}
