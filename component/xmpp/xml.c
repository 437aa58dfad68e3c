#include "build-config.h"

#include "xmpp/xml.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/utf8.h"

/* What escape() does with each byte value. */
enum byte_class {
    B_PLAIN = 0, /* copied: printable ASCII, TAB, LF, CR */
    B_MARKUP,    /* & < > */
    B_QUOTE,     /* ' and ": escaped in attribute values only */
    B_CONTROL,   /* other C0 controls: XML 1.0 forbids them (and NUL) */
    B_MULTI,     /* >= 0x80: decoded and checked */
};

#define P B_PLAIN
#define M B_MARKUP
#define Q B_QUOTE
#define C B_CONTROL
#define X B_MULTI
static const unsigned char byte_class[256] = {
    C, C, C, C, C, C, C, C, C, P, P, C, C, P, C, C,  /* 0x00 */
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,  /* 0x10 */
    P, P, Q, P, P, P, M, Q, P, P, P, P, P, P, P, P,  /* 0x20 */
    P, P, P, P, P, P, P, P, P, P, P, P, M, P, M, P,  /* 0x30 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,  /* 0x40 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,  /* 0x50 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,  /* 0x60 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,  /* 0x70 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0x80 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0x90 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xA0 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xB0 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xC0 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xD0 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xE0 */
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,  /* 0xF0 */
};
#undef P
#undef M
#undef Q
#undef C
#undef X

/* A decoded character XML 1.0 allows (production [2] Char); utf8_decode()
 * already refused surrogates, overlongs and anything above U+10FFFF. */
static inline bool xml_char(uint32_t cp)
{
    return cp != UTF8_INVALID && cp != 0xFFFE && cp != 0xFFFF;
}

/* Are the next bytes all copied as they are (printable ASCII without
 * & < > and, in an attribute value, without ' ")?  Sixteen at once with
 * SSE2 (every x86-64 has it): a signed compare with 0x20 catches the C0
 * controls and every byte >= 0x80 at once.  Otherwise eight at once,
 * word-at-a-time.  TAB, LF and CR fail the test and take the byte path,
 * which copies them too. */
#ifdef __SSE2__
#define PLAIN_RUN 16
static inline bool plain_run(const char *s, bool in_attr)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    __m128i odd = _mm_or_si128(
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('&')),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('>')))));
    if (in_attr)
        odd = _mm_or_si128(odd,
                           _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\'')),
                                        _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
    return _mm_movemask_epi8(odd) == 0;
}
#else
#define PLAIN_RUN 8
#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u
/* Non-zero if a byte of w is c (has_zero(w ^ c...c), before "& HIGHS"). */
static inline uint64_t eq(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x;
}

static inline bool plain_run(const char *s, bool in_attr)
{
    uint64_t w;
    memcpy(&w, s, 8);
    /* < 0x20 borrows into the high bit; >= 0x80 has it */
    uint64_t odd = (w - ONES * 0x20) | w | eq(w, '&') | eq(w, '<') | eq(w, '>');
    if (in_attr)
        odd |= eq(w, '\'') | eq(w, '"');
    return (odd & HIGHS) == 0;
}
#endif

/* The one place text becomes XML.  Whatever the bytes (a cut that split a
 * character, text from a file or the database), the output is well-formed:
 * ill-formed UTF-8 and characters XML forbids become U+FFFD, since an XMPP
 * server closes the stream, for every user of the service, on the first
 * one it sees.  Valid text is copied unchanged, in runs; plain ASCII is
 * checked a run (16 or 8 bytes) at a time, anything else byte by byte for
 * a run's length, then runs again. */
static void escape(struct buf *b, const char *s, size_t n, bool in_attr)
{
    size_t start = 0, i = 0;
    while (i < n) {
        if (n - i >= PLAIN_RUN) {
            if (plain_run(s + i, in_attr)) {
                i += PLAIN_RUN;
                continue;
            }
        } else if (n >= PLAIN_RUN && plain_run(s + n - PLAIN_RUN, in_attr)) {
            i = n; /* the last run, overlapping what was checked: all plain */
            continue;
        }
        size_t stop = n - i > PLAIN_RUN ? i + PLAIN_RUN : n;
        while (i < stop) {
            unsigned char k = byte_class[(unsigned char)s[i]];
            if (k == B_PLAIN || (k == B_QUOTE && !in_attr)) {
                i++;
                continue;
            }
            const char *rep = UTF8_REPLACEMENT;
            size_t len = 1;
            if (k == B_MULTI) {
                uint32_t cp;
                len = utf8_decode(s + i, n - i, &cp);
                if (xml_char(cp)) {
                    i += len;
                    continue;
                }
            } else if (k != B_CONTROL) {
                switch (s[i]) {
                case '&': rep = "&amp;"; break;
                case '<': rep = "&lt;"; break;
                case '>': rep = "&gt;"; break;
                case '\'': rep = "&apos;"; break;
                default: rep = "&quot;"; break;
                }
            }
            buf_append(b, s + start, i - start);
            buf_append_str(b, rep);
            i += len;
            start = i;
        }
    }
    buf_append(b, s + start, n - start);
}

void xml_text_n(struct buf *b, const char *s, size_t n)
{
    escape(b, s, n, false);
}

void xml_text(struct buf *b, const char *s)
{
    escape(b, s, strlen(s), false);
}

void xml_attr_value(struct buf *b, const char *s)
{
    escape(b, s, strlen(s), true);
}

void xml_attr_n(struct buf *b, const char *name, const char *value, size_t n)
{
    if (n == 0)
        return;
    buf_append_char(b, ' ');
    buf_append_str(b, name);
    buf_append(b, "='", 2);
    escape(b, value, n, true);
    buf_append_char(b, '\'');
}

void xml_attr(struct buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    buf_append_char(b, ' ');
    buf_append_str(b, name);
    buf_append(b, "='", 2);
    escape(b, value, strlen(value), true);
    buf_append_char(b, '\'');
}

void xml_markup_n(struct buf *b, const char *xml, size_t n)
{
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char k = byte_class[(unsigned char)xml[i]];
        if (k != B_CONTROL && k != B_MULTI) {
            i++;
            continue;
        }
        size_t len = 1;
        if (k == B_MULTI) {
            uint32_t cp;
            len = utf8_decode(xml + i, n - i, &cp);
            if (xml_char(cp)) {
                i += len;
                continue;
            }
        }
        buf_append(b, xml + start, i - start);
        buf_append(b, UTF8_REPLACEMENT, 3);
        i += len;
        start = i;
    }
    buf_append(b, xml + start, n - start);
}

void xml_markup(struct buf *b, const char *xml)
{
    xml_markup_n(b, xml, strlen(xml));
}

static bool is_stream_ns(const char *ns)
{
    return ns && (strcmp(ns, XML_NS_COMPONENT) == 0 ||
                  strcmp(ns, XML_NS_CLIENT) == 0);
}

/* Writes the start tag of element `node` ("<name xmlns=... attrs", not
 * closed) and returns the default namespace its children are written in. */
static const char *open_tag(struct buf *b, xmpp_stanza_t *node,
                            const char *name, const char *parent_ns)
{
    const char *ns = xmpp_stanza_get_ns(node);
    if (is_stream_ns(ns) && is_stream_ns(parent_ns))
        ns = parent_ns;

    buf_append_char(b, '<');
    buf_append_str(b, name);
    if (ns && (!parent_ns || strcmp(ns, parent_ns) != 0))
        xml_attr(b, "xmlns", ns);

    int count = xmpp_stanza_get_attribute_count(node);
    if (count > 0) {
        const char *stack_attrs[2 * 16];
        const char **attrs = stack_attrs;
        if (count > 16 && !(attrs = malloc(2 * (size_t)count * sizeof *attrs))) {
            b->failed = true;
            return parent_ns;
        }
        int got = xmpp_stanza_get_attributes(node, attrs, 2 * count);
        for (int i = 0; i + 1 < got; i += 2) {
            if (strcmp(attrs[i], "xmlns") == 0)
                continue;
            /* libstrophe drops attribute namespaces, so xml:lang arrives as
             * "lang"; no XMPP element has an unqualified lang attribute. */
            xml_attr(b, strcmp(attrs[i], "lang") == 0 ? "xml:lang" : attrs[i],
                     attrs[i + 1]);
        }
        if (attrs != stack_attrs)
            free(attrs);
    }
    return ns ? ns : parent_ns;
}

/* An element being written: the next child to write, and what its end tag
 * and its children need. */
struct open_element {
    xmpp_stanza_t *next;
    const char *name;
    const char *ns;
};

/* Iterative, with the open elements on a stack of its own (on the heap
 * past a few levels): a received stanza may nest as deep as its size
 * allows, and recursing per level would run out of C stack. */
void xml_write_stanza(struct buf *b, const xmpp_stanza_t *st,
                      const char *parent_ns)
{
    struct open_element local[32], *stack = local;
    size_t depth = 0, cap = sizeof local / sizeof local[0];
    xmpp_stanza_t *node = (xmpp_stanza_t *)st; /* libstrophe lacks const */

    for (;;) {
        if (xmpp_stanza_is_text(node)) {
            const char *text = xmpp_stanza_get_text_ptr(node);
            if (text)
                xml_text(b, text);
        } else if (xmpp_stanza_get_name(node)) {
            const char *name = xmpp_stanza_get_name(node);
            const char *ns = open_tag(b, node, name, parent_ns);
            xmpp_stanza_t *child = xmpp_stanza_get_children(node);
            if (!child) {
                buf_append(b, "/>", 2);
            } else {
                buf_append_char(b, '>');
                if (depth == cap) {
                    struct open_element *bigger =
                        malloc(2 * cap * sizeof *bigger);
                    if (!bigger) {
                        b->failed = true;
                        break;
                    }
                    memcpy(bigger, stack, depth * sizeof *stack);
                    if (stack != local)
                        free(stack);
                    stack = bigger;
                    cap *= 2;
                }
                stack[depth++] = (struct open_element){child, name, ns};
            }
        }
        /* The next node: the next child of the innermost open element,
         * closing those that have none left. */
        node = NULL;
        while (depth > 0) {
            struct open_element *top = &stack[depth - 1];
            if (top->next) {
                node = top->next;
                top->next = xmpp_stanza_get_next(node);
                parent_ns = top->ns;
                break;
            }
            buf_append(b, "</", 2);
            buf_append_str(b, top->name);
            buf_append_char(b, '>');
            depth--;
        }
        if (!node || b->failed)
            break;
    }
    if (stack != local)
        free(stack);
}

void xml_write_children(struct buf *b, const xmpp_stanza_t *st,
                        const char *parent_ns)
{
    for (xmpp_stanza_t *child = xmpp_stanza_get_children((xmpp_stanza_t *)st);
         child; child = xmpp_stanza_get_next(child))
        xml_write_stanza(b, child, parent_ns);
}
