/* Feature plugin "ratings": /rate asks the customer to rate the chat.
 *
 * The request is a room status message with
 *  - <desk event='rate'/>: the widget shows its rating form (it answers
 *    with the rate-chat ad-hoc command);
 *  - a XEP-0004 form (FORM_TYPE urn:mucdesk:rate-chat) for clients that
 *    render forms in messages;
 *  - a plain-text body asking for a number from 1 to 5: the customer's
 *    next message that starts with one (optionally "/5", then a comment)
 *    is taken as the rating, for clients that do neither.
 * The customer's reply stays in the conversation; the rating goes on the
 * ticket through the desk (host->rate).  Waiting for a reply ends with
 * the rating (by whatever path: rate-chat, the form submitted back to the
 * room, which the desk itself takes) or the chat. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "plugin.h"

struct ratings {
    const struct mucdesk_host *host;
    int64_t *waiting;             /* tickets asked and not rated yet */
    size_t count, cap;
};

static int init(void **state)
{
    *state = calloc(1, sizeof(struct ratings));
    return *state ? 0 : -1;
}

static void fini(void *state)
{
    struct ratings *r = state;
    if (r)
        free(r->waiting);
    free(r);
}

static void attach(void *state, const struct mucdesk_host *host)
{
    ((struct ratings *)state)->host = host;
}

static size_t find(const struct ratings *r, int64_t ticket)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->waiting[i] == ticket)
            return i;
    return (size_t)-1;
}

static void forget(struct ratings *r, int64_t ticket)
{
    size_t i = find(r, ticket);
    if (i != (size_t)-1)
        r->waiting[i] = r->waiting[--r->count];
}

static int remember(struct ratings *r, int64_t ticket)
{
    if (find(r, ticket) != (size_t)-1)
        return 0;
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        int64_t *w = realloc(r->waiting, cap * sizeof *w);
        if (!w)
            return -1;
        r->waiting = w;
        r->cap = cap;
    }
    r->waiting[r->count++] = ticket;
    return 0;
}

/* "4", "4/5", "4 - great", "5: thanks!" -> 4 or 5 and the comment (where
 * it starts in text and its length, 0 if none); 0 if the text does not
 * start with a rating ("10 minutes", "4.5", "3pm").  The comment is not
 * shortened here: the desk keeps what fits, on a character boundary. */
static int ratings_parse(const char *text, const char **comment, size_t *len)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (*p < '1' || *p > '5')
        return 0;
    int rating = *p++ - '0';
    if (p[0] == '/' && p[1] == '5')
        p += 2;
    if (*p && !strchr(" \t\n:,.-!)", *p))
        return 0; /* "10", "3pm", "4x" */
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
        return 0; /* "4.5" */
    while (*p && strchr(" \t\n:,.-!)", *p))
        p++;
    size_t n = strlen(p);
    while (n && strchr(" \t\n", p[n - 1]))
        n--;
    *comment = p;
    *len = n;
    return rating;
}

static const struct mucdesk_command_info commands[] = {
    {"rate", "/rate", MUCDESK_IN_SESSION, "Ask the customer for a rating"},
    {NULL, NULL, MUCDESK_IN_SESSION, NULL},
};

static int command(void *state, struct mucdesk_command_call *call)
{
    struct ratings *r = state;
    if (strcmp(call->name, "rate") != 0 || !r->host)
        return MUCDESK_COMMAND_FAILED;
    char form[1024];
    snprintf(form, sizeof form,
             "<desk xmlns='urn:mucdesk:0' event='rate'/>"
             "<x xmlns='jabber:x:data' type='form'><title>Rate this chat"
             "</title><field var='FORM_TYPE' type='hidden'><value>"
             "urn:mucdesk:rate-chat</value></field>"
             "<field var='ticket' type='hidden'><value>%lld</value></field>"
             "<field var='rating' type='list-single' label='Rating'>"
             "<required/>"
             "<option label='5 (excellent)'><value>5</value></option>"
             "<option label='4'><value>4</value></option>"
             "<option label='3'><value>3</value></option>"
             "<option label='2'><value>2</value></option>"
             "<option label='1 (poor)'><value>1</value></option></field>"
             "<field var='comment' type='text-multi' label='Comment'/></x>",
             (long long)call->ticket);
    if (r->host->post(r->host->ctx, call->ticket,
                      "How did we do? Please rate this chat: reply with a "
                      "number from 1 (poor) to 5 (excellent), and a comment "
                      "if you like.",
                      form) < 0) {
        snprintf(call->reply, sizeof call->reply, "This chat is not open");
        return MUCDESK_COMMAND_FAILED;
    }
    if (remember(r, call->ticket) < 0) {
        snprintf(call->reply, sizeof call->reply, "Try again");
        return MUCDESK_COMMAND_FAILED;
    }
    snprintf(call->reply, sizeof call->reply,
             "The customer was asked for a rating.");
    return MUCDESK_COMMAND_DONE;
}

static int message(void *state, const struct mucdesk_message *msg)
{
    struct ratings *r = state;
    if (!msg->from_customer || !r->host || find(r, msg->ticket) == (size_t)-1)
        return MUCDESK_MESSAGE_PASS;
    const char *at;
    size_t len;
    int rating = ratings_parse(msg->body, &at, &len);
    if (!rating)
        return MUCDESK_MESSAGE_PASS;
    char *comment = NULL;
    if (len) {
        if (!(comment = malloc(len + 1)))
            return MUCDESK_MESSAGE_PASS;
        memcpy(comment, at, len);
        comment[len] = '\0';
    }
    if (r->host->rate(r->host->ctx, msg->ticket, rating, comment) == 0) {
        forget(r, msg->ticket);
        r->host->tell_customer(r->host->ctx, msg->ticket,
                               "Thank you for your rating!");
    }
    free(comment);
    return MUCDESK_MESSAGE_PASS;
}

static void event(void *state, const struct mucdesk_event *ev)
{
    /* Rated by any path (the widget's rate-chat, the form in the /rate
     * message): a later "2 more questions" is no rating. */
    if (ev->kind == MUCDESK_EVENT_CLOSED || ev->kind == MUCDESK_EVENT_RATED)
        forget(state, ev->ticket);
}

const struct mucdesk_plugin mucdesk_plugin = {
    .abi = MUCDESK_PLUGIN_ABI,
    .name = "ratings",
    .description = "/rate: the customer rates the chat (form or 1-5 reply)",
    .init = init,
    .fini = fini,
    .event = event,
    .command = command,
    .commands = commands,
    .attach = attach,
    .message = message,
};
