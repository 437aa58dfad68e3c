/* mucdeskctl transcript N --pdf: the transcript of desk/transcript.c drawn
 * by render/pdf.c.  The header fields are those of the text transcript
 * (desk_transcript_text's header, split at "Label: value"), so the two
 * always show the same fields for the same view. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "render/pdf.h"

static void when_text(int64_t us, char out[32])
{
    time_t s = (time_t)(us / 1000000 - (us % 1000000 < 0));
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, 32, "?");
}

/* The header block of the text transcript: its first line is the title,
 * then "Label: value" lines up to the first blank line.  Splits text in
 * place. */
static size_t header_fields(char *text, const char **title,
                            struct render_field *fields, size_t max)
{
    size_t n = 0;
    char *line = text;
    *title = NULL;
    while (line && *line && *line != '\n') {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!*title) {
            *title = line;
        } else if (n < max) {
            char *colon = strstr(line, ": ");
            if (colon) {
                *colon = '\0';
                fields[n].label = line;
                fields[n].value = colon + 2;
            } else {
                fields[n].label = "";
                fields[n].value = line;
            }
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static void event_line(const struct desk_event_row *e, enum desk_view view,
                       struct render_line *l, char when[32], struct buf *text)
{
    when_text(e->at_us, when);
    l->when = when;
    l->muted = e->staff_only;
    const char *body = e->body ? e->body : "";
    const char *nick = e->actor_nick ? e->actor_nick
                       : view == DESK_VIEW_STAFF && e->actor_jid ? e->actor_jid
                                                                  : NULL;
    if (e->staff_only)
        buf_append_str(text, "[staff] ");
    if (strcmp(e->kind, "message") == 0) {
        l->who = nick ? nick : "?";
        buf_append_str(text, body);
    } else if (strcmp(e->kind, "note") == 0) {
        l->who = nick ? nick : "?";
        buf_printf(text, "Note: %s", body);
    } else if (strcmp(e->kind, "file") == 0) {
        l->who = nick ? nick : "?";
        buf_printf(text, "File: %s", body);
    } else {
        buf_append_str(text, "* ");
        desk_event_action(e, view, text);
    }
}

int ctl_transcript_pdf(const struct desk_transcript *t, enum desk_view view,
                       const char *path)
{
    struct buf head = BUF_INIT;
    desk_transcript_text(&(struct desk_transcript){.ticket = t->ticket}, view,
                         &head);
    struct render_field fields[64];
    struct render_doc doc = {.fields = fields};
    char *head_text = buf_failed(&head) ? NULL : buf_steal(&head);
    if (head_text)
        doc.field_count = header_fields(head_text, &doc.title, fields, 64);
    struct render_line *lines = calloc(t->count + 1, sizeof *lines);
    char (*whens)[32] = calloc(t->count + 1, sizeof *whens);
    struct buf *texts = calloc(t->count + 1, sizeof *texts);
    int rc = -1;
    char err[256] = "out of memory";
    if (head_text && lines && whens && texts) {
        for (size_t i = 0; i < t->count; i++) {
            if (view == DESK_VIEW_CUSTOMER && !desk_event_shown_to_customer(&t->events[i]))
                continue;
            struct render_line *l = &lines[doc.line_count];
            struct buf *text = &texts[doc.line_count];
            event_line(&t->events[i], view, l, whens[doc.line_count], text);
            l->text = buf_cstr(text);
            doc.line_count++;
        }
        doc.lines = lines;
        if (t->truncated)
            doc.footnote = "(more lines: export the whole transcript with "
                           "mucdeskctl transcript)";
        if (!path || strcmp(path, "-") == 0) {
            struct buf out = BUF_INIT;
            rc = render_pdf_buf(&doc, &out, err, sizeof err);
            if (rc == 0 && (fwrite(out.data, 1, out.len, stdout) != out.len ||
                            fflush(stdout) != 0)) {
                snprintf(err, sizeof err, "cannot write to standard output");
                rc = -1;
            }
            buf_free(&out);
        } else {
            rc = render_pdf_file(&doc, path, err, sizeof err);
        }
    }
    if (rc < 0)
        fprintf(stderr, "mucdeskctl: %s\n", err);
    for (size_t i = 0; texts && i < t->count; i++)
        buf_free(&texts[i]);
    free(texts);
    free(whens);
    free(lines);
    free(head_text);
    render_pdf_shutdown();
    return rc;
}
