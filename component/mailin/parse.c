/* One incoming e-mail, parsed with GMime 3 (see parse.h). */
#include "build-config.h"

#include "mailin/parse.h"

#include <gmime/gmime.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mailref.h"
#include "core/utf8.h"


static void init_once(void)
{
    static bool done;
    if (!done) {
        g_mime_init();
        done = true;
    }
}

/* The last of ours in a References or In-Reply-To header (the newest). */
static int64_t references_ticket(GMimeObject *msg, const char *header,
                                 const char *domain)
{
    const char *v = g_mime_object_get_header(msg, header);
    if (!v)
        return 0;
    GMimeReferences *refs = g_mime_references_parse(NULL, v);
    if (!refs)
        return 0;
    int64_t found = 0;
    int n = g_mime_references_length(refs);
    for (int i = n - 1; i >= 0 && !found; i--)
        found = mailref_message_id_ticket(g_mime_references_get_message_id(refs, i),
                                         domain);
    g_mime_references_free(refs);
    return found;
}

/* ---- HTML as text ------------------------------------------------------------ */

static bool tag_is(const char *tag, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k && strncasecmp(tag, name, k) == 0 &&
           (n == k || !isalnum((unsigned char)tag[k]));
}

static void entity(struct buf *out, const char **pp, const char *end)
{
    static const struct { const char *name; const char *text; } named[] = {
        {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""},
        {"apos;", "'"}, {"nbsp;", " "}, {"#39;", "'"},
    };
    const char *p = *pp + 1;
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        size_t k = strlen(named[i].name);
        if ((size_t)(end - p) >= k && strncasecmp(p, named[i].name, k) == 0) {
            buf_append_str(out, named[i].text);
            *pp = p + k;
            return;
        }
    }
    if (p < end && *p == '#') {
        bool hexa = p + 1 < end && (p[1] == 'x' || p[1] == 'X');
        const char *q = p + 1 + hexa;
        unsigned long cp = 0;
        int count = 0;
        while (q < end && count < 7 &&
               (hexa ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))) {
            cp = cp * (hexa ? 16 : 10) +
                 (unsigned long)(isdigit((unsigned char)*q) ? *q - '0'
                                                            : (tolower((unsigned char)*q) - 'a' + 10));
            q++;
            count++;
        }
        if (count && q < end && *q == ';') {
            if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0xfffd;
            char u[8];
            int n = g_unichar_to_utf8((gunichar)cp, u);
            buf_append(out, u, (size_t)n);
            *pp = q + 1;
            return;
        }
    }
    buf_append_char(out, '&');
    *pp = *pp + 1;
}

/* Collapses blanks: at most one space between words, at most one blank
 * line between paragraphs; trims both ends. */
static char *collapse(const char *s)
{
    struct buf out = BUF_INIT;
    int newlines = 0;
    bool space = false;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            newlines++;
            space = false;
        } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f') {
            space = true;
        } else {
            if (out.len && newlines)
                buf_append_str(&out, newlines > 1 ? "\n\n" : "\n");
            else if (out.len && space)
                buf_append_char(&out, ' ');
            newlines = 0;
            space = false;
            buf_append_char(&out, *p);
        }
    }
    if (buf_failed(&out)) {
        buf_free(&out);
        return NULL;
    }
    if (!out.len)
        buf_append_str(&out, "");
    return buf_steal(&out);
}

char *mailin_html_text(const char *html, size_t len)
{
    static const char *const blocks[] = {"br", "/p", "p", "/div", "div",
                                         "/tr", "/li", "li", "/h1", "/h2",
                                         "/h3", "/h4", "/table", "hr",
                                         "/blockquote", "/pre", NULL};
    if (len == 0)
        return strdup(""); /* html may be NULL then (an empty part) */
    struct buf out = BUF_INIT;
    const char *p = html, *end = html + len;
    while (p < end) {
        if (*p == '&') {
            entity(&out, &p, end);
            continue;
        }
        if (*p != '<') {
            buf_append_char(&out, *p == '\n' || *p == '\r' ? ' ' : *p);
            p++;
            continue;
        }
        const char *close = memchr(p, '>', (size_t)(end - p));
        if (!close)
            break;
        const char *tag = p + 1;
        size_t n = (size_t)(close - tag);
        p = close + 1;
        if (tag_is(tag, n, "script") || tag_is(tag, n, "style") ||
            tag_is(tag, n, "head")) {
            /* Skip to the matching end tag (or the end). */
            char endtag[10];
            snprintf(endtag, sizeof endtag, "</%s",
                     tag_is(tag, n, "script") ? "script"
                     : tag_is(tag, n, "style") ? "style" : "head");
            size_t k = strlen(endtag);
            while (p < end && !((size_t)(end - p) >= k &&
                                strncasecmp(p, endtag, k) == 0))
                p++;
            continue;
        }
        for (const char *const *b = blocks; *b; b++)
            if (tag_is(tag, n, *b)) {
                buf_append_char(&out, '\n');
                if (strcmp(*b, "/p") == 0 || strcmp(*b, "p") == 0)
                    buf_append_char(&out, '\n');
                break;
            }
    }
    if (buf_failed(&out)) {
        buf_free(&out);
        return NULL;
    }
    char *text = collapse(buf_cstr(&out));
    buf_free(&out);
    return text;
}

/* ---- parts ------------------------------------------------------------------- */

struct walk {
    struct mailin_message *m;
    GByteArray *plain, *html;     /* the first of each, UTF-8 */
    bool nomem;
};

/* A leaf part's content, transfer-decoded and, for text, converted to
 * UTF-8 from its charset.  A charset iconv does not know: taken as UTF-8
 * if it is, else as Windows-1252 (what mislabelled Western mail is). */
static GByteArray *content(GMimePart *part, bool text)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    if (!w)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    GMimeStream *target = mem;
    const char *charset = text ? g_mime_object_get_content_type_parameter(
                                     GMIME_OBJECT(part), "charset")
                               : NULL;
    GMimeFilter *conv = NULL;
    if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "us-ascii") != 0)
        conv = g_mime_filter_charset_new(charset, "UTF-8");
    if (conv) {
        target = g_mime_stream_filter_new(mem);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(target), conv);
        g_object_unref(conv);
    }
    g_mime_data_wrapper_write_to_stream(w, target);
    g_mime_stream_flush(target);
    if (target != mem)
        g_object_unref(target);
    g_object_unref(mem);
    if (text && !conv && !g_utf8_validate((const char *)bytes->data,
                                          (gssize)bytes->len, NULL)) {
        gsize got = 0;
        gchar *utf8 = g_convert((const char *)bytes->data, (gssize)bytes->len,
                                "UTF-8", "WINDOWS-1252", NULL, &got, NULL);
        if (utf8) {
            g_byte_array_set_size(bytes, 0);
            g_byte_array_append(bytes, (const guint8 *)utf8, (guint)got);
            g_free(utf8);
        }
    }
    return bytes;
}

static char *clip_dup(const char *s, size_t max)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n > max)
        n = utf8_trim(s, max);
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, s, n);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\r' || b.data[i] == '\n' || b.data[i] == '\t')
            b.data[i] = ' ';
    if (!b.len)
        buf_append_str(&b, "");
    return buf_failed(&b) ? (buf_free(&b), NULL) : buf_steal(&b);
}

static void attachment(struct walk *w, GMimePart *part)
{
    struct mailin_message *m = w->m;
    if (m->attachment_count >= MAILIN_ATTACHMENTS_MAX) {
        m->attachments_dropped++;
        return;
    }
    if (!m->attachments) {
        m->attachments = calloc(MAILIN_ATTACHMENTS_MAX, sizeof *m->attachments);
        if (!m->attachments) {
            w->nomem = true;
            return;
        }
    }
    GByteArray *bytes = content(part, false);
    struct mailin_attachment *a = &m->attachments[m->attachment_count];
    const char *name = g_mime_part_get_filename(part);
    a->name = clip_dup(name && name[0] ? name : "attachment", 255);
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    a->type = clip_dup(type ? type : "application/octet-stream", 127);
    g_free(type);
    a->size = bytes ? bytes->len : 0;
    a->data = malloc(a->size + 1);
    if (!a->name || !a->type || !a->data) {
        w->nomem = true;
    } else if (a->size) {
        memcpy(a->data, bytes->data, a->size);
    }
    gchar *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                             a->size ? bytes->data : (const guchar *)"",
                                             a->size);
    snprintf(a->sha256, sizeof a->sha256, "%s", sum ? sum : "");
    g_free(sum);
    if (bytes)
        g_byte_array_free(bytes, TRUE);
    m->attachment_count++;
}

static void leaf(struct walk *w, GMimePart *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    bool plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
    bool html = ct && g_mime_content_type_is_type(ct, "text", "html");
    bool named = g_mime_part_get_filename(part) != NULL;
    if ((plain || html) && !g_mime_part_is_attachment(part) && !named) {
        GByteArray **slot = plain ? &w->plain : &w->html;
        if (!*slot) {
            *slot = content(part, true);
            return;
        }
    }
    attachment(w, part);
}

static void walk(struct walk *w, GMimeObject *obj, int depth)
{
    if (!obj || depth > MAILIN_NESTING_MAX)
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        /* A forwarded message: kept whole as an attachment would be best;
         * its text parts are what a customer forwarding means, so walk it. */
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner)
            walk(w, g_mime_message_get_mime_part(inner), depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        leaf(w, GMIME_PART(obj));
    }
}

/* Counts what opens a nesting level (case-insensitive "multipart" and
 * "rfc822"/"global" message types) before GMime recurses over them. */
static bool nested_too_deep(const char *data, size_t len)
{
    static const char *const words[] = {"multipart", "message/rfc822",
                                        "message/global", NULL};
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)data[i]);
        if (c != 'm')
            continue;
        for (const char *const *wd = words; *wd; wd++) {
            size_t k = strlen(*wd);
            if (len - i >= k && strncasecmp(data + i, *wd, k) == 0) {
                count++;
                break;
            }
        }
        if (count > 2 * MAILIN_NESTING_MAX)
            return true;
    }
    return false;
}

static int fill_headers(struct mailin_message *m, GMimeMessage *msg,
                        const char *domain, char *err, size_t errlen)
{
    InternetAddressList *from = g_mime_message_get_from(msg);
    InternetAddress *ia = NULL;
    for (int i = 0; from && i < internet_address_list_length(from) && !ia; i++) {
        InternetAddress *a = internet_address_list_get_address(from, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a))
            ia = a;
    }
    const char *addr = ia ? internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(ia))
                          : NULL;
    if (!addr || !strchr(addr, '@') || strlen(addr) > 254) {
        snprintf(err, errlen, "no sender address (From)");
        return MAILIN_BAD;
    }
    m->from_addr = clip_dup(addr, 254);
    const char *name = internet_address_get_name(ia);
    m->from_name = name && name[0] ? clip_dup(name, 200) : NULL;
    m->subject = clip_dup(g_mime_message_get_subject(msg), MAILIN_HEADER_MAX);
    m->message_id = clip_dup(g_mime_message_get_message_id(msg), MAILIN_HEADER_MAX);
    if (!m->from_addr)
        return MAILIN_NOMEM;
    m->ticket = mailref_subject_ticket(m->subject);
    if (!m->ticket)
        m->ticket = references_ticket(GMIME_OBJECT(msg), "In-Reply-To", domain);
    if (!m->ticket)
        m->ticket = references_ticket(GMIME_OBJECT(msg), "References", domain);
    const char *auto_sub = g_mime_object_get_header(GMIME_OBJECT(msg),
                                                    "Auto-Submitted");
    if (auto_sub) {
        while (*auto_sub == ' ')
            auto_sub++;
        m->auto_submitted = strncasecmp(auto_sub, "no", 2) != 0 ||
                            isalnum((unsigned char)auto_sub[2]);
    }
    return MAILIN_OK;
}

/* The text: the text/plain part, else the HTML one as text; valid UTF-8,
 * line ends as \n, cut at MAILIN_BODY_MAX on a character boundary. */
static int fill_body(struct mailin_message *m, struct walk *w)
{
    GByteArray *src = w->plain ? w->plain : w->html;
    struct buf b = BUF_INIT;
    if (src) {
        const char *d = (const char *)src->data;
        size_t n = src->len;
        char *html = NULL;
        if (!w->plain) {
            html = mailin_html_text(d, n);
            if (!html)
                return MAILIN_NOMEM;
            d = html;
            n = strlen(html);
            m->body_from_html = true;
        }
        if (n > MAILIN_BODY_MAX) {
            n = utf8_trim(d, MAILIN_BODY_MAX);
            m->body_cut = true;
        }
        struct buf clean = BUF_INIT;
        utf8_sanitize(&clean, d, n);
        free(html);
        /* CRLF and lone CR as \n; NUL (valid UTF-8, not text) dropped. */
        for (size_t i = 0; i < clean.len; i++) {
            char c = clean.data[i];
            if (c == '\r') {
                buf_append_char(&b, '\n');
                if (i + 1 < clean.len && clean.data[i + 1] == '\n')
                    i++;
            } else if (c != '\0') {
                buf_append_char(&b, c);
            }
        }
        if (buf_failed(&clean))
            b.failed = true;
        buf_free(&clean);
    }
    /* Trailing blank lines off. */
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
        buf_truncate(&b, b.len - 1);
    if (!b.len)
        buf_append_str(&b, "");
    if (buf_failed(&b)) {
        buf_free(&b);
        return MAILIN_NOMEM;
    }
    m->body = buf_steal(&b);
    return MAILIN_OK;
}

int mailin_parse(const char *data, size_t len, const char *msgid_domain,
                 struct mailin_message *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len > MAILIN_MESSAGE_MAX) {
        snprintf(err, errlen, "message over %u bytes", MAILIN_MESSAGE_MAX);
        return MAILIN_TOO_BIG;
    }
    if (nested_too_deep(data, len)) {
        snprintf(err, errlen, "MIME parts nested too deep");
        return MAILIN_TOO_BIG;
    }
    init_once();
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_object_unref(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    if (!msg) {
        snprintf(err, errlen, "not an e-mail message");
        return MAILIN_BAD;
    }
    int rc = fill_headers(out, msg, msgid_domain, err, errlen);
    struct walk w = {.m = out};
    if (rc == MAILIN_OK) {
        walk(&w, g_mime_message_get_mime_part(msg), 0);
        rc = w.nomem ? MAILIN_NOMEM : fill_body(out, &w);
    }
    if (w.plain)
        g_byte_array_free(w.plain, TRUE);
    if (w.html)
        g_byte_array_free(w.html, TRUE);
    g_object_unref(msg);
    if (rc == MAILIN_NOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc != MAILIN_OK)
        mailin_message_free(out);
    return rc;
}

void mailin_message_free(struct mailin_message *m)
{
    if (!m)
        return;
    free(m->from_addr);
    free(m->from_name);
    free(m->subject);
    free(m->message_id);
    free(m->body);
    for (size_t i = 0; i < m->attachment_count; i++) {
        free(m->attachments[i].name);
        free(m->attachments[i].type);
        free(m->attachments[i].data);
    }
    free(m->attachments);
    memset(m, 0, sizeof *m);
}
