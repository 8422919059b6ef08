// term.c - the only file that knows ncurses: grid -> screen, keys without blocking.
#define NCURSES_WIDECHAR 1
#include "dash.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static SCREEN *screen;
static int is_open, suspended, atexit_done;

int repl_dash_term_usable(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

static void close_at_exit(void) { repl_dash_term_close(); }

int repl_dash_term_open(int *ascii)
{
    if (is_open) return 0;
    if (!repl_dash_term_usable()) return -1;
    // wide chars need a UTF-8 LC_CTYPE; only that category, so number formatting stays "C"
    setlocale(LC_CTYPE, "");
    *ascii = strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
    fflush(stdout);
    // newterm, not initscr: initscr exits the process when the terminal is unknown.
    // It draws on a dup of the terminal: fds 1 and 2 go to the capture (capture.c).
    screen = newterm(NULL, repl_dash_capture_tty(), stdin);
    if (!screen) return -1;
    set_term(screen);
    if (!atexit_done) {
        atexit(close_at_exit);      // a script that ends without dash.close() gets its shell back
        atexit_done = 1;
    }
    cbreak();                        // Ctrl-C still raises SIGINT for the REPL
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        static const short fg[DASH_A_COUNT] = {
            [DASH_A_TITLE] = COLOR_WHITE, [DASH_A_TRAIN] = COLOR_CYAN, [DASH_A_TEST] = COLOR_YELLOW,
            [DASH_A_ACC] = COLOR_GREEN, [DASH_A_WARN] = COLOR_RED, [DASH_A_DIM] = COLOR_BLUE,
            [DASH_A_HEAT0] = COLOR_BLUE, [DASH_A_HEAT0 + 1] = COLOR_BLUE, [DASH_A_HEAT0 + 2] = COLOR_CYAN,
            [DASH_A_HEAT0 + 3] = COLOR_YELLOW, [DASH_A_HEAT0 + 4] = COLOR_RED,
        };
        for (int a = 1; a < DASH_A_COUNT; a++) init_pair((short)a, fg[a], -1);
        // the runs workspace: one colour per run; the eighth needs a 16/256-colour terminal
        static const short run_fg[DASH_RUN_COLOURS] = {COLOR_CYAN, COLOR_YELLOW, COLOR_MAGENTA, COLOR_GREEN,
                                                       COLOR_RED, COLOR_BLUE, COLOR_WHITE, 8 + COLOR_YELLOW};
        for (int k = 0; k < DASH_RUN_COLOURS; k++)
            init_pair((short)(DASH_A_RUN0 + k), k == 7 && COLORS < 16 ? COLOR_WHITE : run_fg[k], -1);
    }
    is_open = 1;
    return 0;
}

void repl_dash_term_close(void)
{
    if (!is_open) return;
    is_open = 0;
    curs_set(1);
    if (!suspended) endwin();
    fflush(NULL);              // ncurses writes to its own FILE (a dup of the terminal)
    suspended = 0;
    delscreen(screen);
    screen = NULL;
    fflush(stdout);
}

void repl_dash_term_suspend(void)
{
    if (!is_open || suspended) return;
    curs_set(1);
    endwin();
    fflush(NULL);
    fflush(stdout);
    suspended = 1;
}

int repl_dash_term_is_open(void) { return is_open; }

void repl_dash_term_size(int *w, int *h)
{
    *w = is_open ? COLS : 80;
    *h = is_open ? LINES : 24;
}

static attr_t attr_of(int a)
{
    attr_t r = has_colors() && a ? COLOR_PAIR(a) : A_NORMAL;
    if (a == DASH_A_TITLE || a == DASH_A_WARN) r |= A_BOLD;
    if (a == DASH_A_DIM && !has_colors()) r |= A_DIM;
    return r;
}

void repl_dash_term_draw(const dash_grid *g)
{
    if (!is_open) return;
    if (suspended) {           // refresh after endwin resumes visual mode; repaint it all
        suspended = 0;
        curs_set(0);
        clearok(curscr, TRUE);
    }
    // runs of one attribute go out in one call; refresh sends only what changed
    for (int y = 0; y < g->h && y < LINES; y++) {
        int w = g->w < COLS ? g->w : COLS;
        if (y == LINES - 1 && w == COLS) w--;     // the last cell would scroll the screen
        int x = 0;
        while (x < w) {
            int a = g->attr[y * g->w + x], e = x;
            wchar_t run[512];
            int n = 0;
            while (e < w && g->attr[y * g->w + e] == a && n < 511) run[n++] = g->ch[y * g->w + e++];
            run[n] = 0;
            attrset(attr_of(a));
            mvaddnwstr(y, x, run, n);
            x = e;
        }
    }
    attrset(A_NORMAL);
    refresh();
}

int repl_dash_term_key(int timeout_ms)
{
    if (!is_open) return -1;
    timeout(timeout_ms);
    int k = getch();
    nodelay(stdscr, TRUE);
    if (k == KEY_RESIZE) {
        clearok(curscr, TRUE);      // repaint everything at the new size
        return DASH_KEY_RESIZE;
    }
    return k == ERR ? -1 : k;
}

void repl_dash_term_raw(int on)
{
    if (!is_open) return;
    if (on) raw();
    else {
        noraw();
        cbreak();
    }
}

int repl_dash_term_key_portable(int timeout_ms)
{
    int k = repl_dash_term_key(timeout_ms);
    switch (k) {
    case KEY_UP: return DASH_KEY_UP;
    case KEY_DOWN: return DASH_KEY_DOWN;
    case KEY_PPAGE: return DASH_KEY_PGUP;
    case KEY_NPAGE: return DASH_KEY_PGDN;
    case KEY_HOME: return DASH_KEY_HOME;
    case KEY_END: return DASH_KEY_END;
    case KEY_BACKSPACE: return DASH_KEY_BACKSPACE;
    case KEY_ENTER: return '\n';
    default: return k;
    }
}
