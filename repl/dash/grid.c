// grid.c - the dashboard's in-memory screen: wide chars + colour attributes.
#include "dash.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int repl_dash_grid_resize(dash_grid *g, int w, int h)
{
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    if (g->ch && g->w == w && g->h == h) return 0;
    wchar_t *ch = malloc((size_t)w * h * sizeof *ch);
    uint8_t *attr = malloc((size_t)w * h);
    if (!ch || !attr) {
        free(ch);
        free(attr);
        return -1;
    }
    free(g->ch);
    free(g->attr);
    g->ch = ch;
    g->attr = attr;
    g->w = w;
    g->h = h;
    repl_dash_grid_clear(g);
    return 0;
}

void repl_dash_grid_free(dash_grid *g)
{
    free(g->ch);
    free(g->attr);
    g->ch = NULL;
    g->attr = NULL;
    g->w = g->h = 0;
}

void repl_dash_grid_clear(dash_grid *g)
{
    for (int i = 0; i < g->w * g->h; i++) g->ch[i] = L' ';
    memset(g->attr, 0, (size_t)g->w * g->h);
}

// Box drawing, braille and shades have ASCII stand-ins for a non-UTF-8 terminal.
static wchar_t ascii_of(wchar_t c)
{
    if (c < 128) return c;
    if (c >= 0x2800 && c <= 0x28ff) {       // braille: which half holds dots
        int bits = c - 0x2800;
        int top = bits & 0x1b, bottom = bits & 0xe4;
        return top && bottom ? L':' : top ? L'\'' : L'.';
    }
    switch (c) {
    case L'─': return L'-';
    case L'│': return L'|';
    case L'┤': case L'┴': case L'┬': case L'├': case L'┼': return L'+';
    case L'━': return L'=';
    case L'▸': return L'>';
    case L'┌': case L'┐': case L'└': case L'┘': return L'+';
    case L'░': return L'.';
    case L'▒': return L':';
    case L'▓': return L'+';
    case L'█': return L'#';
    case L'·': return L'.';
    case L'…': return L'~';
    default: return L'?';
    }
}

void repl_dash_put(dash_grid *g, int x, int y, wchar_t c, int attr)
{
    if (x < 0 || y < 0 || x >= g->w || y >= g->h) return;
    g->ch[y * g->w + x] = g->ascii ? ascii_of(c) : c;
    g->attr[y * g->w + x] = (uint8_t)attr;
}

// One code point from UTF-8 (invalid bytes become '?'); returns the bytes used.
static int utf8_decode(const unsigned char *s, wchar_t *out)
{
    if (s[0] < 0x80) { *out = s[0]; return 1; }
    int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n) { *out = L'?'; return 1; }
    uint32_t c = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { *out = L'?'; return i; }
        c = (c << 6) | (s[i] & 0x3f);
    }
    *out = (wchar_t)c;
    return n;
}

int repl_dash_text(dash_grid *g, int x, int y, int maxw, int attr, const char *utf8)
{
    const unsigned char *s = (const unsigned char *)utf8;
    int col = 0;
    while (*s && col < maxw) {
        wchar_t c;
        s += utf8_decode(s, &c);
        if (c < 32) c = L' ';
        repl_dash_put(g, x + col, y, c, attr);
        col++;
    }
    return col;
}

int repl_dash_textf(dash_grid *g, int x, int y, int maxw, int attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return repl_dash_text(g, x, y, maxw, attr, buf);
}

void repl_dash_box(dash_grid *g, int x, int y, int w, int h, const char *title)
{
    if (w < 2 || h < 2) return;
    for (int i = 1; i < w - 1; i++) {
        repl_dash_put(g, x + i, y, L'─', DASH_A_DIM);
        repl_dash_put(g, x + i, y + h - 1, L'─', DASH_A_DIM);
    }
    for (int j = 1; j < h - 1; j++) {
        repl_dash_put(g, x, y + j, L'│', DASH_A_DIM);
        repl_dash_put(g, x + w - 1, y + j, L'│', DASH_A_DIM);
    }
    repl_dash_put(g, x, y, L'┌', DASH_A_DIM);
    repl_dash_put(g, x + w - 1, y, L'┐', DASH_A_DIM);
    repl_dash_put(g, x, y + h - 1, L'└', DASH_A_DIM);
    repl_dash_put(g, x + w - 1, y + h - 1, L'┘', DASH_A_DIM);
    if (title && *title) {
        repl_dash_put(g, x + 1, y, L' ', DASH_A_TITLE);
        int n = repl_dash_text(g, x + 2, y, w - 4, DASH_A_TITLE, title);
        repl_dash_put(g, x + 2 + n, y, L' ', DASH_A_TITLE);
    }
}

static size_t utf8_encode(char *o, wchar_t c)
{
    uint32_t u = (uint32_t)c;
    if (u < 0x80) { o[0] = (char)u; return 1; }
    if (u < 0x800) { o[0] = (char)(0xc0 | u >> 6); o[1] = (char)(0x80 | (u & 0x3f)); return 2; }
    if (u < 0x10000) {
        o[0] = (char)(0xe0 | u >> 12);
        o[1] = (char)(0x80 | ((u >> 6) & 0x3f));
        o[2] = (char)(0x80 | (u & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | u >> 18);
    o[1] = (char)(0x80 | ((u >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((u >> 6) & 0x3f));
    o[3] = (char)(0x80 | (u & 0x3f));
    return 4;
}

char *repl_dash_grid_utf8(const dash_grid *g, size_t *len)
{
    char *out = malloc((size_t)g->w * g->h * 4 + g->h + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (int y = 0; y < g->h; y++) {
        size_t line_start = n, line_end = n;
        for (int x = 0; x < g->w; x++) {
            wchar_t c = g->ch[y * g->w + x];
            n += utf8_encode(out + n, c);
            if (c != L' ') line_end = n;
        }
        n = line_end > line_start ? line_end : line_start;
        if (y < g->h - 1) out[n++] = '\n';
    }
    out[n] = 0;
    if (len) *len = n;
    return out;
}

wchar_t repl_dash_shade(const dash_grid *g, int level)
{
    static const wchar_t uni[] = L" ░▒▓█", asc[] = L" .:+#";
    if (level < 0) level = 0;
    if (level > 4) level = 4;
    return g->ascii ? asc[level] : uni[level];
}

char *repl_dash_fmt_num(char *buf, size_t n, double v, int width)
{
    if (isnan(v)) { snprintf(buf, n, "nan"); return buf; }
    if (isinf(v)) { snprintf(buf, n, v > 0 ? "inf" : "-inf"); return buf; }
    double a = fabs(v);
    if (v == floor(v) && a < 1e9) snprintf(buf, n, "%.0f", v);   // steps, counts
    else if (a < 1e-3 || a >= 1e5) snprintf(buf, n, "%.1e", v);
    else snprintf(buf, n, "%.4g", v);
    if ((int)strlen(buf) > width) snprintf(buf, n, "%.0e", v);
    return buf;
}
