#include "build-config.h"

#include "xmpp/disco.h"

#include <stdlib.h>
#include <string.h>

#include "xmpp/xml.h"

struct node_provider {
    char *node; /* NULL for the service itself (items only) */
    disco_items_fn items;
    disco_info_fn info;
    void *ud;
};

struct disco {
    struct router *router;
    char *name;
    char **features;
    size_t feature_count;
    char *extensions;             /* XEP-0128 forms of the service, as XML */
    struct node_provider *nodes;
    size_t node_count;
};

static int on_disco_info(void *ud, const struct stanza_in *in,
                         xmpp_stanza_t *payload, struct xerr *err);
static int on_disco_items(void *ud, const struct stanza_in *in,
                          xmpp_stanza_t *payload, struct xerr *err);

struct disco *disco_new(struct router *router, const char *name)
{
    struct disco *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        return NULL;
    }
    d->router = router;
    if (router_on_iq(router, ROUTE_SERVICE, NS_DISCO_INFO, on_disco_info, d) ||
        router_on_iq(router, ROUTE_SERVICE, NS_DISCO_ITEMS, on_disco_items, d) ||
        disco_add_feature(d, NS_DISCO_INFO) ||
        disco_add_feature(d, NS_DISCO_ITEMS)) {
        disco_free(d);
        return NULL;
    }
    return d;
}

void disco_free(struct disco *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->feature_count; i++)
        free(d->features[i]);
    for (size_t i = 0; i < d->node_count; i++)
        free(d->nodes[i].node);
    free(d->features);
    free(d->extensions);
    free(d->nodes);
    free(d->name);
    free(d);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int disco_add_feature(struct disco *d, const char *var)
{
    char **f = realloc(d->features, (d->feature_count + 1) * sizeof *f);
    if (!f)
        return -1;
    d->features = f;
    if (!(f[d->feature_count] = strdup(var)))
        return -1;
    d->feature_count++;
    /* Sorted, so the answer (and any entity-capabilities hash a client
     * computes from it) is stable whatever order modules registered in. */
    qsort(d->features, d->feature_count, sizeof *f, compare_strings);
    return 0;
}

static struct node_provider *find_node(struct disco *d, const char *node)
{
    for (size_t i = 0; i < d->node_count; i++) {
        const char *n = d->nodes[i].node;
        if ((!n && !node) || (n && node && strcmp(n, node) == 0))
            return &d->nodes[i];
    }
    return NULL;
}

static struct node_provider *add_node(struct disco *d, const char *node)
{
    struct node_provider *p = find_node(d, node);
    if (p)
        return p;
    p = realloc(d->nodes, (d->node_count + 1) * sizeof *p);
    if (!p)
        return NULL;
    d->nodes = p;
    p = &d->nodes[d->node_count];
    memset(p, 0, sizeof *p);
    if (node && !(p->node = strdup(node)))
        return NULL;
    d->node_count++;
    return p;
}

int disco_add_items(struct disco *d, const char *node, disco_items_fn fn,
                    void *ud)
{
    struct node_provider *p = add_node(d, node);
    if (!p || p->items)
        return -1;
    p->items = fn;
    p->ud = ud;
    return 0;
}

int disco_add_node_info(struct disco *d, const char *node, disco_info_fn fn,
                        void *ud)
{
    struct node_provider *p = add_node(d, node);
    if (!node || !p || p->info)
        return -1;
    p->info = fn;
    p->ud = ud;
    return 0;
}

void disco_write_feature(struct buf *out, const char *var)
{
    buf_append_str(out, "<feature");
    xml_attr(out, "var", var);
    buf_append_str(out, "/>");
}

static void open_result(struct buf *out, const struct stanza_in *in,
                        const char *ns, const char *node)
{
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query");
    xml_attr(out, "xmlns", ns);
    xml_attr(out, "node", node);
    buf_append_char(out, '>');
}

static int on_disco_info(void *ud, const struct stanza_in *in,
                         xmpp_stanza_t *payload, struct xerr *err)
{
    struct disco *d = ud;
    struct buf *out = router_out(d->router);
    const char *node = stanza_attr(payload, "node");

    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "disco#info is read-only");
        return -1;
    }
    size_t mark = out->len;
    open_result(out, in, NS_DISCO_INFO, node);
    if (node) {
        struct node_provider *p = find_node(d, node);
        if (!p || !p->info) {
            buf_truncate(out, mark);
            xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
            return -1;
        }
        if (p->info(p->ud, in, node, out, err) < 0) {
            buf_truncate(out, mark); /* drop the half-written reply */
            return -1;
        }
    } else {
        buf_append_str(out, "<identity category='conference' type='text'");
        xml_attr(out, "name", d->name);
        buf_append_str(out, "/>");
        for (size_t i = 0; i < d->feature_count; i++)
            disco_write_feature(out, d->features[i]);
        if (d->extensions)
            buf_append_str(out, d->extensions);
    }
    buf_append_str(out, "</query></iq>");
    return 0;
}

static int on_disco_items(void *ud, const struct stanza_in *in,
                          xmpp_stanza_t *payload, struct xerr *err)
{
    struct disco *d = ud;
    struct buf *out = router_out(d->router);
    const char *node = stanza_attr(payload, "node");

    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "disco#items is read-only");
        return -1;
    }
    struct node_provider *p = find_node(d, node);
    if (node && (!p || !p->items)) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
        return -1;
    }
    size_t mark = out->len;
    open_result(out, in, NS_DISCO_ITEMS, node);
    if (p && p->items && p->items(p->ud, in, node, out, err) < 0) {
        buf_truncate(out, mark);
        return -1;
    }
    buf_append_str(out, "</query></iq>");
    return 0;
}

int disco_add_extension(struct disco *d, const char *xml)
{
    size_t had = d->extensions ? strlen(d->extensions) : 0;
    char *more = realloc(d->extensions, had + strlen(xml) + 1);
    if (!more)
        return -1;
    memcpy(more + had, xml, strlen(xml) + 1);
    d->extensions = more;
    return 0;
}
