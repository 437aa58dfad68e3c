#include "build-config.h"

#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_trim(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t back = 0; /* continuation bytes at the end */
    while (back < 3 && back < n && (s[n - 1 - back] & 0xC0) == 0x80)
        back++;
    if (back == n)
        return n;
    size_t lead = n - 1 - back;
    return utf8_lead_len(s[lead]) > back + 1 ? lead : n;
}

size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n < max || s[max] == '\0')
        return n; /* it fits */
    return utf8_trim(s, max);
}

int utf8_vsnprintf(char *out, size_t size, const char *fmt, va_list ap)
{
    if (size == 0)
        return 0;
    int n = vsnprintf(out, size, fmt, ap);
    if (n < 0) {
        out[0] = '\0';
        return -1;
    }
    if ((size_t)n < size)
        return n;
    size_t kept = utf8_trim(out, size - 1);
    out[kept] = '\0';
    return (int)kept;
}

int utf8_snprintf(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = utf8_vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n;
}

char *utf8_strndup(const char *s, size_t max)
{
    size_t n = utf8_cut(s, max);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* Eight bytes at once while they are all ASCII: most text is. */
static size_t ascii_len(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080u)
            break;
    }
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

size_t utf8_valid_len(const char *s, size_t n)
{
    size_t i = 0;
    while ((i += ascii_len(s + i, n - i)) < n) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (cp == UTF8_INVALID)
            return i;
        i += len;
    }
    return n;
}

void utf8_sanitize(struct buf *out, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL then (an empty GByteArray's data) */
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        size_t len = 1;
        if (c >= 0x80)
            len = utf8_decode(s + i, n - i, &cp);
        if (c != 0 && cp != UTF8_INVALID) {
            i += len;
            continue;
        }
        buf_append(out, s + start, i - start);
        buf_append(out, UTF8_REPLACEMENT, 3);
        i += len;
        start = i;
    }
    buf_append(out, s + start, n - start);
}
