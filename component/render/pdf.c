/* Transcripts as PDF (see pdf.h).
 *
 * Two passes over the same layouts: the first only counts pages (for
 * "Page N of M"), the second draws.  Pagination goes by layout line, not
 * by event, so an event longer than a page continues on the next one
 * instead of being cut.  Each text is set with pango_layout_set_text, never
 * as markup, so what a customer typed is never interpreted.  A paragraph's
 * direction comes from its first strong character (pango's auto-dir), so
 * an Arabic line is laid out right to left and aligned to the right of its
 * column. */
#include "build-config.h"

#include "render/pdf.h"

#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

/* A4 in points, 2 cm margins. */
#define PAGE_W 595.0
#define PAGE_H 842.0
#define MARGIN 56.0
#define FOOT_H 24.0
#define GAP 3.0        /* between rows */
#define COL_GAP 8.0
#define WHO_MAX 130.0  /* the speaker's column at most; longer names ellipsized */
/* Noto covers Latin, Greek, Cyrillic, Arabic, Hebrew, CJK (Debian:
 * fonts-noto-core, fonts-noto-cjk); fontconfig falls back further for the
 * rest, per character. */
#define FONT "Noto Sans, Noto Sans CJK JP, Noto Sans Arabic, sans"

struct row {
    PangoLayout *when, *who, *text;
};

struct pdf {
    cairo_t *cr;
    PangoContext *context;        /* shared by every layout */
    PangoFontDescription *body, *bold, *title_font;
    struct row *rows;
    size_t nrows;
    PangoLayout *title;
    double when_w, who_w;
    int page, pages;              /* current, total (0 while counting) */
    double y;
    bool drawing;
};

static void set_text(PangoLayout *l, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    bool cut = n > RENDER_TEXT_MAX;
    if (cut)
        n = utf8_trim(s, RENDER_TEXT_MAX);
    struct buf clean = BUF_INIT;
    if (utf8_valid_len(s, n) != n)
        utf8_sanitize(&clean, s, n);
    else
        buf_append(&clean, s, n);
    if (cut)
        buf_append_str(&clean, " [...]");
    pango_layout_set_text(l, buf_failed(&clean) ? "" : buf_cstr(&clean), -1);
    buf_free(&clean);
}

static PangoLayout *layout(struct pdf *p, const char *text,
                           const PangoFontDescription *font)
{
    PangoLayout *l = pango_layout_new(p->context);
    pango_layout_set_font_description(l, font);
    set_text(l, text);
    return l;
}

static double width_of(PangoLayout *l)
{
    int w, h;
    pango_layout_get_size(l, &w, &h);
    return (double)w / PANGO_SCALE;
}

static int build_rows(struct pdf *p, const struct render_doc *doc)
{
    size_t n = doc->field_count + doc->line_count + 1;
    p->rows = calloc(n, sizeof *p->rows);
    if (!p->rows)
        return -1;
    for (size_t i = 0; i < doc->field_count; i++) {
        const struct render_field *f = &doc->fields[i];
        if (!f->value || !f->value[0] || !f->label)
            continue;
        struct row *r = &p->rows[p->nrows++];
        r->who = layout(p, f->label, p->bold);
        r->text = layout(p, f->value, p->body);
    }
    /* An empty row between the header and the conversation. */
    p->rows[p->nrows++].text = layout(p, " ", p->body);
    for (size_t i = 0; i < doc->line_count; i++) {
        const struct render_line *e = &doc->lines[i];
        struct row *r = &p->rows[p->nrows++];
        if (e->when)
            r->when = layout(p, e->when, p->body);
        if (e->who)
            r->who = layout(p, e->who, p->bold);
        r->text = layout(p, e->text, p->body);
        if (e->muted) {
            PangoAttrList *attrs = pango_attr_list_new();
            pango_attr_list_insert(attrs, pango_attr_foreground_new(0x7000, 0x7000, 0x7000));
            pango_attr_list_insert(attrs, pango_attr_style_new(PANGO_STYLE_ITALIC));
            pango_layout_set_attributes(r->text, attrs);
            pango_attr_list_unref(attrs);
        }
    }
    if (doc->footnote)
        p->rows[p->nrows++].text = layout(p, doc->footnote, p->body);
    return 0;
}

/* Column widths from the widest time and speaker (capped), then the text
 * column takes what is left, and every layout gets its width. */
static void set_columns(struct pdf *p)
{
    for (size_t i = 0; i < p->nrows; i++) {
        if (p->rows[i].when && width_of(p->rows[i].when) > p->when_w)
            p->when_w = width_of(p->rows[i].when);
        if (p->rows[i].who && width_of(p->rows[i].who) > p->who_w)
            p->who_w = width_of(p->rows[i].who);
    }
    if (p->who_w > WHO_MAX)
        p->who_w = WHO_MAX;
    double text_w = PAGE_W - 2 * MARGIN - p->when_w - p->who_w - 2 * COL_GAP;
    for (size_t i = 0; i < p->nrows; i++) {
        struct row *r = &p->rows[i];
        if (r->who) {
            pango_layout_set_width(r->who, (int)(p->who_w * PANGO_SCALE));
            pango_layout_set_ellipsize(r->who, PANGO_ELLIPSIZE_END);
        }
        pango_layout_set_width(r->text, (int)(text_w * PANGO_SCALE));
        pango_layout_set_wrap(r->text, PANGO_WRAP_WORD_CHAR);
    }
    if (p->title) {
        pango_layout_set_width(p->title, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
        pango_layout_set_wrap(p->title, PANGO_WRAP_WORD_CHAR);
    }
}

static void footer(struct pdf *p)
{
    if (!p->drawing)
        return;
    char text[64];
    snprintf(text, sizeof text, "Page %d of %d", p->page, p->pages);
    PangoLayout *l = layout(p, text, p->body);
    double w = width_of(l);
    cairo_move_to(p->cr, (PAGE_W - w) / 2, PAGE_H - MARGIN + FOOT_H / 2);
    pango_cairo_show_layout(p->cr, l);
    g_object_unref(l);
}

static void new_page(struct pdf *p)
{
    footer(p);
    if (p->drawing)
        cairo_show_page(p->cr);
    p->page++;
    p->y = MARGIN;
}

static void show_at(struct pdf *p, PangoLayout *l, double x, double y)
{
    if (!p->drawing || !l)
        return;
    PangoLayoutLine *line = pango_layout_get_line_readonly(l, 0);
    PangoLayoutIter *it = pango_layout_get_iter(l);
    PangoRectangle logical;
    pango_layout_iter_get_line_extents(it, NULL, &logical);
    double base = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
    pango_layout_iter_free(it);
    cairo_move_to(p->cr, x + (double)logical.x / PANGO_SCALE, y + base);
    pango_cairo_show_layout_line(p->cr, line);
}

/* One row: its text line by line, the time and speaker beside the first. */
static void place_row(struct pdf *p, const struct row *r)
{
    double bottom = PAGE_H - MARGIN - FOOT_H;
    double x_who = MARGIN + p->when_w + (p->when_w > 0 ? COL_GAP : 0);
    double x_text = x_who + p->who_w + (p->who_w > 0 ? COL_GAP : 0);
    PangoLayoutIter *it = pango_layout_get_iter(r->text);
    double shift = 0;             /* layout y at the top of this page */
    bool first = true;
    do {
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, NULL, &logical);
        double ly = (double)logical.y / PANGO_SCALE;
        double lh = (double)logical.height / PANGO_SCALE;
        if (p->y + (ly - shift) + lh > bottom && (ly - shift) + p->y > MARGIN) {
            new_page(p);
            shift = ly;
        }
        if (first) {
            show_at(p, r->when, MARGIN, p->y);
            show_at(p, r->who, x_who, p->y);
            first = false;
        }
        if (p->drawing) {
            double base = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
            cairo_move_to(p->cr, x_text + (double)logical.x / PANGO_SCALE,
                          p->y + base - shift);
            pango_cairo_show_layout_line(p->cr,
                                         pango_layout_iter_get_line_readonly(it));
        }
        if (!pango_layout_iter_next_line(it)) {
            p->y += ly - shift + lh;
            break;
        }
    } while (1);
    pango_layout_iter_free(it);
    p->y += GAP;
}

static void place_all(struct pdf *p)
{
    p->page = 1;
    p->y = MARGIN;
    if (p->title) {
        int w, h;
        pango_layout_get_size(p->title, &w, &h);
        if (p->drawing) {
            cairo_move_to(p->cr, MARGIN, p->y);
            pango_cairo_show_layout(p->cr, p->title);
        }
        p->y += (double)h / PANGO_SCALE + 2 * GAP;
    }
    for (size_t i = 0; i < p->nrows; i++)
        place_row(p, &p->rows[i]);
    footer(p);
}

static void pdf_free(struct pdf *p)
{
    for (size_t i = 0; i < p->nrows; i++) {
        if (p->rows[i].when)
            g_object_unref(p->rows[i].when);
        if (p->rows[i].who)
            g_object_unref(p->rows[i].who);
        if (p->rows[i].text)
            g_object_unref(p->rows[i].text);
    }
    free(p->rows);
    if (p->title)
        g_object_unref(p->title);
    pango_font_description_free(p->body);
    pango_font_description_free(p->bold);
    pango_font_description_free(p->title_font);
    g_object_unref(p->context);
}

static cairo_status_t to_buf(void *closure, const unsigned char *data,
                             unsigned int length)
{
    struct buf *out = closure;
    buf_append(out, data, length);
    return buf_failed(out) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int render(const struct render_doc *doc, cairo_surface_t *surface,
                  char *err, size_t errlen)
{
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot start the PDF: %s",
                 cairo_status_to_string(cairo_surface_status(surface)));
        cairo_surface_destroy(surface);
        return -1;
    }
    /* No CAIRO_PDF_METADATA_TITLE: cairo 1.16 (Debian 12) never frees it. */
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR,
                                   doc->author ? doc->author : "mucdesk");
    struct pdf p = {.cr = cairo_create(surface)};
    /* Glyphs where the font's metrics put them: positions rounded to
     * whole points (pango's default, for screens) leave gaps between
     * letters that text extraction (pdftotext, search, copy and paste)
     * reads as spaces, most visibly inside Arabic and Hebrew words. */
    p.context = pango_cairo_create_context(p.cr);
    pango_context_set_round_glyph_positions(p.context, FALSE);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(p.context, fo);
    cairo_font_options_destroy(fo);
    p.body = pango_font_description_from_string(FONT " 8.5");
    p.bold = pango_font_description_from_string(FONT " Bold 8.5");
    p.title_font = pango_font_description_from_string(FONT " Bold 14");
    int rc = 0;
    if (doc->title)
        p.title = layout(&p, doc->title, p.title_font);
    if (build_rows(&p, doc) < 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else {
        set_columns(&p);
        place_all(&p);               /* counts */
        p.pages = p.page;
        p.drawing = true;
        place_all(&p);               /* draws */
        cairo_show_page(p.cr);
    }
    pdf_free(&p);
    cairo_destroy(p.cr);
    cairo_surface_finish(surface);
    cairo_status_t st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (rc == 0 && st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot write the PDF: %s",
                 cairo_status_to_string(st));
        rc = -1;
    }
    return rc;
}

int render_pdf_buf(const struct render_doc *doc, struct buf *out, char *err,
                   size_t errlen)
{
    return render(doc,
                  cairo_pdf_surface_create_for_stream(to_buf, out, PAGE_W, PAGE_H),
                  err, errlen);
}

int render_pdf_file(const struct render_doc *doc, const char *path, char *err,
                    size_t errlen)
{
    return render(doc, cairo_pdf_surface_create(path, PAGE_W, PAGE_H), err,
                  errlen);
}

void render_pdf_shutdown(void)
{
    pango_cairo_font_map_set_default(NULL);
    /* Not FcFini(): pango 1.50 loads fontconfig's configuration on a
     * thread of its own, and FcFini while that thread still holds a cache
     * aborts the process (fccache.c: FcCacheFini assertion), in about
     * four runs out of five here.  What fontconfig keeps stays reachable
     * from its globals, which a leak checker does not report. */
}
