/* UTF-8: shortening text without splitting a character, and well-formedness.
 *
 * Text is shortened to byte counts in many places (fixed buffers, "%.*s"
 * precisions, copies of at most N bytes).  A byte count alone can split a
 * multi-byte character, and the half left behind is ill-formed UTF-8: an
 * XMPP server closes the component stream on it, PostgreSQL refuses the row.
 * So every such cut goes through utf8_cut() or one of the wrappers below,
 * never through a bare byte count (doc/hacking.md).
 *
 * The cuts look only at the last bytes kept: the result never ends inside
 * a sequence that would be well-formed if complete.  Ill-formed input stays
 * ill-formed; the XML writer (xmpp/xml.c) and the store replace what is left
 * with U+FFFD using utf8_decode(). */
#ifndef MUCDESK_CORE_UTF8_H
#define MUCDESK_CORE_UTF8_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- cutting -------------------------------------------------------------- */

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 sequence: n, or up to 3 bytes less. */
size_t utf8_trim(const char *s, size_t n);

/* How many bytes of the NUL-terminated s to keep for at most max: strlen(s)
 * if it fits, else max or a little less, on a character boundary. */
size_t utf8_cut(const char *s, size_t max);

/* utf8_cut() for a "%.*s" precision:
 *     printf("%.*s", utf8_prec(s, 400), s);        (never "%.400s") */
static inline int utf8_prec(const char *s, int max)
{
    return (int)utf8_cut(s, max < 0 ? 0 : (size_t)max);
}

/* snprintf() that, if the result does not fit, cuts it on a character
 * boundary instead of at size - 1 bytes.  Returns the length written
 * (unlike snprintf, never more than size - 1), or -1 on an encoding error
 * (out is then ""). */
int utf8_snprintf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int utf8_vsnprintf(char *out, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* A copy of at most max bytes of s, cut on a character boundary (the
 * caller frees it); NULL if out of memory. */
char *utf8_strndup(const char *s, size_t max);

/* ---- well-formedness ------------------------------------------------------ */

#define UTF8_INVALID 0xFFFFFFFFu

/* The UTF-8 of U+FFFD REPLACEMENT CHARACTER. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Decodes the character at s (n > 0 bytes available): returns its length
 * in bytes and stores its code point in *cp.  For an ill-formed sequence
 * (a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate, beyond U+10FFFF) it returns the length of its maximal subpart
 * (Unicode 15, 3.9 D93b), at least 1, and stores UTF8_INVALID: replacing
 * each such part with one U+FFFD is the W3C/WHATWG practice. */
static inline size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* The length of the longest well-formed prefix of s[0..n). */
size_t utf8_valid_len(const char *s, size_t n);

/* Appends s[0..n) to out with every ill-formed part, and every NUL byte,
 * replaced by U+FFFD: text that PostgreSQL's text type accepts. */
void utf8_sanitize(struct buf *out, const char *s, size_t n);

/* The length of the sequence a lead byte starts; 1 for ASCII and for bytes
 * that cannot start a sequence (continuations, C0, C1, F5..FF). */
static inline size_t utf8_lead_len(unsigned char c)
{
    return c >= 0xC2 && c <= 0xDF   ? 2
           : c >= 0xE0 && c <= 0xEF ? 3
           : c >= 0xF0 && c <= 0xF4 ? 4
                                    : 1;
}

/* utf8_decode() is inline: the XML writer calls it for every non-ASCII
 * character it writes.  Table 3-7 of the Unicode standard: the second
 * byte's range depends on the lead (this is what excludes overlongs,
 * surrogates and > U+10FFFF); every later byte is 80..BF. */
static inline size_t utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len = utf8_lead_len(c);
    if (len == 1) {
        *cp = UTF8_INVALID;
        return 1;
    }
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    uint32_t v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = UTF8_INVALID;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return len;
}

#endif
