#include "build-config.h"

#include "xmpp/strophe_render.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <strophe.h>

/* Read by whichever thread libstrophe runs on (the XMPP thread), written by
 * the link on the same thread; atomic only so that a test or a future
 * second thread cannot make it a data race. */
static atomic_bool skip_rendering;

typedef int (*to_text_fn)(xmpp_stanza_t *, char **, size_t *);

void strophe_render_skip(bool skip)
{
    atomic_store(&skip_rendering, skip);
}

int xmpp_stanza_to_text(xmpp_stanza_t *stanza, char **buf, size_t *buflen)
{
    static to_text_fn real;

    if (atomic_load(&skip_rendering)) {
        *buf = NULL;
        *buflen = 0;
        return XMPP_EINT;
    }
    if (!real)
        real = (to_text_fn)dlsym(RTLD_NEXT, "xmpp_stanza_to_text");
    if (!real) {
        *buf = NULL;
        *buflen = 0;
        return XMPP_EINT;
    }
    return real(stanza, buf, buflen);
}

bool strophe_render_interposed(void)
{
    return dlsym(RTLD_DEFAULT, "xmpp_stanza_to_text") ==
           (void *)xmpp_stanza_to_text;
}
