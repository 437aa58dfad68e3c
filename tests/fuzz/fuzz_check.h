/* What every fuzz target checks, and how it reports.
 *
 * A broken invariant aborts (libFuzzer keeps the input as a crash).  A
 * *known finding* (a class of defect found before its fix landed,
 * doc/fuzzing.md) aborts too, since the fixes are in; with
 * MUCDESK_FUZZ_STRICT=0 it is only counted and reported once per process,
 * and the input kept in $MUCDESK_FUZZ_KNOWN_DIR if that is set. */
#ifndef MUCDESK_FUZZ_CHECK_H
#define MUCDESK_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Known findings (doc/fuzzing.md, "Known findings"). */
enum fuzz_known {
    FUZZ_KNOWN_INVALID_UTF8,   /* output that is not UTF-8 (h11-utf8) */
    FUZZ_KNOWN_XML_CHAR,       /* a character XML 1.0 forbids (h11-utf8) */
    FUZZ_KNOWN_DEEP_NESTING,   /* recursion per nesting level (h11-utf8) */
    FUZZ_KNOWN_COUNT
};

/* The input being run, for the report of a known finding. */
void fuzz_set_input(const uint8_t *data, size_t size);
/* Records a known finding (aborts in strict mode).  detail: for the log. */
void fuzz_known(enum fuzz_known what, const char *detail);
/* For a known defect that would crash the target itself (deep nesting):
 * true if the input (or the part of it) must be skipped, reported once;
 * in strict mode false (run it: a crash then says the fix has not
 * landed). */
bool fuzz_known_avoid(enum fuzz_known what, const char *detail);
/* How many times each was seen in this process. */
unsigned long fuzz_known_count(enum fuzz_known what);

/* NULL if s[0..n) is UTF-8 holding only characters XML 1.0 allows (when
 * xml is true: no C0 controls but tab, LF, CR; no U+FFFE, U+FFFF); else
 * what is wrong: "invalid UTF-8" or "character XML 1.0 forbids". */
const char *fuzz_utf8_problem(const char *s, size_t n, bool xml);

/* Copies s[0..n) into out replacing every invalid UTF-8 sequence and
 * forbidden character by '?'.  out must hold n bytes. */
void fuzz_utf8_scrub(const char *s, size_t n, char *out);

/* One top-level element (a stanza) of a stream. */
struct fuzz_stanza {
    const char *text;      /* its bytes within the stream */
    size_t len;
    char to[1024];         /* its `to` attribute ("" if none) */
    char from[1024];
    char type[32];
    const char *qname;     /* in element(): "namespace\1local" */
};
/* Called for every element in a stanza (top-level included) with its
 * attributes (name, value pairs, NULL-terminated) and for character
 * data (attrs NULL, text set). */
struct fuzz_xml_visitor {
    void *ud;
    void (*element)(void *ud, const struct fuzz_stanza *st, const char *name,
                    const char **attrs);
    void (*text)(void *ud, const struct fuzz_stanza *st, const char *s,
                 int len);
    void (*element_end)(void *ud, const struct fuzz_stanza *st);
    void (*stanza_end)(void *ud, const struct fuzz_stanza *st);
};

/* Parses s[0..n) as the content of a jabber:component:accept stream (what
 * the server reads from us) with expat, namespaces on.  0 if it is
 * well-formed XML 1.0 in UTF-8, else -1 with expat's reason in
 * err[errlen].  The visitor (may be NULL) sees every stanza. */
int fuzz_xml_stream_check(const char *s, size_t n,
                          const struct fuzz_xml_visitor *v, char *err,
                          size_t errlen);

/* The output check of every target that writes XML: well-formed, or a
 * known finding (invalid UTF-8, forbidden character: the check goes on
 * with those bytes scrubbed); anything else aborts with `what` and the
 * output.  Returns 0 if the visitor saw the stanzas. */
int fuzz_check_output(const char *what, const char *s, size_t n,
                      const struct fuzz_xml_visitor *v);

/* A canonical form of well-formed XML (expanded names, attributes
 * sorted, text as is) into out: two texts that are the same XML up to
 * attribute order and namespace prefixes give the same form.  -1 if s is
 * not well-formed. */
int fuzz_xml_canonical(const char *s, size_t n, struct buf *out);

/* Aborts with a message (libFuzzer saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Nesting depth of a parsed stanza (the stanza itself: 1), found without
 * recursion. */
#define FUZZ_KNOWN_DEPTH 2000     /* deeper: the known finding */
struct _xmpp_stanza_t;
size_t fuzz_stanza_depth(struct _xmpp_stanza_t *st);

/* Case-insensitive search. */
bool fuzz_contains(const void *hay, size_t n, const char *needle);

#endif
