/*
 * mig.ini: finding the file, parsing it with inih, checking its sections
 * and keys, and expanding values when they are used.
 *
 * inih does the INI grammar. Around it this file adds what inih cannot
 * know: the line of each key (inih reads through our reader, which counts
 * lines), the list of known sections and keys with a "did you mean" for
 * near misses, duplicate keys, and the expansion of ${VAR},
 * ${VAR:-default} and %(here)s, done only in mig_config_get() so an unused
 * `url = ${DATABASE_URL}` is no error when --url is given.
 *
 * Comments take whole lines only, as in alembic.ini, so a value may hold
 * ';' (`on_connect = SET a = 1 ; SET b = 2`). Debian's inih is built with
 * inline ';' comments on, but exposes its options as run-time variables:
 * load() turns inline comments off for the parse and puts every option it
 * touched back afterwards. The options are process-wide, so the file is
 * loaded before any tenant worker thread starts (mig_ctx_new).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ctx.h"
#include "error.h"
#include "fileio.h"

/* Longest line accepted; inih is told the same (plus "\r\n\0"). */
#define MAX_LINE (1 << 20)

typedef struct entry {
    char *section;
    char *key;
    char *value;       /* raw, as written */
    size_t vlen, vcap; /* of value: continuation lines append in amortised constant time */
    int line;
} entry;

struct mig_config {
    char *path;   /* as given or found, "" when there is no file */
    char *dir;    /* absolute folder of the file, or the cwd */
    int searched; /* no file: none was given and the search found none */
    entry *v;
    size_t n, cap;
    size_t *slots;       /* open-addressing index of v by (section, key): entry + 1, 0 empty */
    size_t nslots;       /* a power of two, at least twice n */
    mig_strvec sections; /* every section header seen, in file order */
};

/* The sections and keys mig knows. Keep in step with SPEC.md section 2. */
static const char *const keys_mig[] = {
    "script_location",           "url",          "driver",      "version_table",
    "transaction_per_migration", "on_connect",   "driver_path", "lock_timeout",
    "lock_timeout_ddl",          "lock_retries", NULL,
};
static const char *const keys_hooks[] = { "scripts", NULL };
static const char *const keys_post_write_hooks[] = { "hooks", NULL };
static const char *const keys_tenants[] = {
    "list", "query", "script", "jobs", "create_schemas", "search_path", NULL,
};
static const char *const keys_autogenerate[] = { "target", NULL };
static const char *const keys_lua[] = { "sandbox", NULL };
static const char *const keys_lint[] = {
    "disable", "error", "warning", "min_rows", "postgres_version", "sqlite_version", NULL,
};
static const char *const keys_backfill[] = { "replicas", NULL };

static const struct known_section {
    const char *name;
    const char *const *keys;
} known_sections[] = {
    { "mig", keys_mig },
    { "hooks", keys_hooks },
    { "post_write_hooks", keys_post_write_hooks },
    { "tenants", keys_tenants },
    { "autogenerate", keys_autogenerate },
    { "lua", keys_lua },
    { "lint", keys_lint },
    { "backfill", keys_backfill },
};
#define NKNOWN (sizeof known_sections / sizeof known_sections[0])

/* ------------------------------------------------------------------ */
/* errors                                                               */


/*
 * Optimal string alignment distance (edits, with adjacent swaps counting
 * one), case-insensitive. Names are short; longer ones count as far.
 */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/*
 * The candidate closest to word, when it is close enough to be a typo:
 * one edit for short names, two for longer ones. NULL when none is. The
 * one "did you mean" of mig: the CLI's commands and options use it too.
 */
const char *mig_suggest(const char *word, const char *const *candidates, size_t n)
{
    if (word == NULL)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        size_t len = strlen(candidates[i]);
        size_t limit = len <= 4 ? 1 : 2;
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* ------------------------------------------------------------------ */
/* known sections and keys                                              */

static const struct known_section *find_section(const char *name)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (strcmp(known_sections[i].name, name) == 0)
            return &known_sections[i];
    return NULL;
}

static int list_has(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return 1;
    return 0;
}

static size_t list_len(const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

/* [post_write_hooks] takes `hooks` and any NAME.OPTION. */
static int is_hook_option(const char *key)
{
    const char *dot = strchr(key, '.');
    return dot != NULL && dot > key && dot[1] != '\0';
}

static int check_section(mig_ctx *ctx, const char *file, int line, const char *name)
{
    if (find_section(name))
        return 0;
    const char *names[NKNOWN];
    for (size_t i = 0; i < NKNOWN; i++)
        names[i] = known_sections[i].name;
    const char *near = mig_suggest(name, names, NKNOWN);
    if (near)
        return mig_fail_at(ctx, MIG_ECONFIG, file, line, "unknown section '[%s]' (did you mean '[%s]'?)",
                           name, near);
    mig_fail_at(ctx, MIG_ECONFIG, file, line, "unknown section '[%s]'", name);
    mig_error_hint(
        ctx,
        "known sections: [mig], [hooks], [post_write_hooks], [tenants], [autogenerate], [lua], [lint], [backfill]");
    return MIG_ECONFIG;
}

static int check_key(mig_ctx *ctx, const char *file, int line, const char *section, const char *key)
{
    const struct known_section *ks = find_section(section);
    if (ks == NULL)
        return check_section(ctx, file, line, section);
    if (list_has(ks->keys, key))
        return 0;
    if (strcmp(section, "post_write_hooks") == 0 && is_hook_option(key))
        return 0;
    const char *near = mig_suggest(key, ks->keys, list_len(ks->keys));
    if (near)
        mig_fail_at(ctx, MIG_ECONFIG, file, line, "unknown key '%s' in [%s] (did you mean '%s'?)", key,
                    section, near);
    else
        mig_fail_at(ctx, MIG_ECONFIG, file, line, "unknown key '%s' in [%s]", key, section);
    /* A key written under the wrong section is a common slip: say where it goes. */
    for (size_t i = 0; i < NKNOWN; i++)
        if (&known_sections[i] != ks && list_has(known_sections[i].keys, key))
            mig_error_hint(ctx, "'%s' belongs in [%s]", key, known_sections[i].name);
    if (strcmp(section, "post_write_hooks") == 0)
        mig_error_hint(ctx, "hook options are written NAME.OPTION, e.g. sqlformat.type = lua");
    return MIG_ECONFIG;
}

/* ------------------------------------------------------------------ */
/* storage                                                              */

/* FNV-1a over section, a separator and key */
static size_t entry_hash(const char *section, const char *key)
{
    uint64_t h = 14695981039346656037u;
    for (const char *p = section; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = (h ^ 0xffu) * 1099511628211u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (size_t)h;
}

/*
 * Every key is looked up once as it is read (duplicates) and again when
 * used: a hash index keeps a file of many keys ([post_write_hooks] takes
 * any NAME.OPTION) linear to load.
 */
static entry *find_entry(const mig_config *cfg, const char *section, const char *key)
{
    if (cfg == NULL || section == NULL || key == NULL || cfg->nslots == 0)
        return NULL;
    size_t mask = cfg->nslots - 1;
    for (size_t i = entry_hash(section, key) & mask; cfg->slots[i] != 0; i = (i + 1) & mask) {
        entry *e = &cfg->v[cfg->slots[i] - 1];
        if (strcmp(e->key, key) == 0 && strcmp(e->section, section) == 0)
            return e;
    }
    return NULL;
}

static void index_entry(size_t *slots, size_t nslots, const entry *e, size_t at)
{
    size_t mask = nslots - 1;
    size_t i = entry_hash(e->section, e->key) & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = at + 1;
}

/* Room in the index for one more entry. -1 on oom. */
static int index_reserve(mig_config *cfg)
{
    if ((cfg->n + 1) * 2 <= cfg->nslots)
        return 0;
    size_t nslots = cfg->nslots ? cfg->nslots * 2 : 32;
    size_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n; i++)
        index_entry(slots, nslots, &cfg->v[i], i);
    free(cfg->slots);
    cfg->slots = slots;
    cfg->nslots = nslots;
    return 0;
}

static int add_entry(mig_config *cfg, const char *section, const char *key, const char *value, int line)
{
    if (index_reserve(cfg) < 0)
        return -1;
    if (cfg->n == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 16;
        entry *v = realloc(cfg->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        cfg->v = v;
        cfg->cap = cap;
    }
    entry *e = &cfg->v[cfg->n];
    e->section = mig_strdup(section);
    e->key = mig_strdup(key);
    e->value = mig_strdup(value);
    e->vlen = strlen(value);
    e->vcap = e->vlen + 1;
    e->line = line;
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return -1;
    }
    index_entry(cfg->slots, cfg->nslots, e, cfg->n);
    cfg->n++;
    return 0;
}

static mig_config *config_new(const char *path, const char *dir)
{
    mig_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return NULL;
    cfg->path = mig_strdup(path);
    cfg->dir = mig_strdup(dir);
    if (!cfg->path || !cfg->dir) {
        mig_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void mig_config_free(mig_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->v[i].section);
        free(cfg->v[i].key);
        free(cfg->v[i].value);
    }
    free(cfg->v);
    free(cfg->slots);
    mig_strvec_release(&cfg->sections);
    free(cfg->path);
    free(cfg->dir);
    free(cfg);
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

/*
 * What inih's reader and handler share. The reader hands inih the file one
 * line at a time from memory, so at each handler call `line` is the line
 * inih is looking at and `line_start` where it begins in the text.
 */
typedef struct loader {
    mig_config *cfg;
    mig_ctx *ctx;
    const char *file;
    const char *text;
    size_t len, pos;
    int line;
    size_t line_start;
    int at_line_start;
    int rc;    /* set when we stopped the parse with an error */
    long last; /* entry of the previous handler call, -1 none */
} loader;

/*
 * A section header at the start of the line (after a BOM on the first):
 * record it and check its name, so an unknown or empty section is caught
 * at its own line. Indented lines are left to inih (they may continue a
 * value). Returns 0, or the error code.
 */
static int see_header(loader *st)
{
    const char *p = st->text + st->line_start;
    const char *end = st->text + st->len;
    if (st->line == 1 && end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (p >= end || *p != '[')
        return 0;
    const char *close = p + 1;
    while (close < end && *close != ']' && *close != '\n')
        close++;
    if (close >= end || *close != ']')
        return 0; /* inih reports the syntax error */
    char *name = mig_strndup(p + 1, (size_t)(close - p - 1));
    if (name == NULL)
        return mig_fail(st->ctx, MIG_ENOMEM, "out of memory");
    st->last = -1; /* an indented line below a header is no continuation */
    int rc = check_section(st->ctx, st->file, st->line, name);
    if (rc == 0 && !mig_strvec_contains(&st->cfg->sections, name)) {
        if (mig_strvec_push_owned(&st->cfg->sections, name) < 0)
            return mig_fail(st->ctx, MIG_ENOMEM, "out of memory");
        return 0;
    }
    free(name);
    return rc;
}

/* fgets() over the text in memory, counting lines as it goes. */
static char *read_line(char *str, int num, void *stream)
{
    loader *st = stream;
    if (st->rc != 0 || st->pos >= st->len || num <= 1)
        return NULL;
    if (st->at_line_start) {
        st->line++;
        st->line_start = st->pos;
        st->at_line_start = 0;
        int rc = see_header(st);
        if (rc != 0) {
            st->rc = rc; /* stop: inih sees the end of the file */
            return NULL;
        }
    }
    size_t room = (size_t)num - 1, n = 0;
    while (n < room && st->pos < st->len) {
        char c = st->text[st->pos++];
        str[n++] = c;
        if (c == '\n') {
            st->at_line_start = 1;
            break;
        }
    }
    str[n] = '\0';
    return str;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    loader *st = user;
    mig_config *cfg = st->cfg;
    const char *raw = st->text + st->line_start;
    int indented = *raw == ' ' || *raw == '\t';

    /*
     * inih calls us again with the same name for an indented line under a
     * key (a multi-line value, as configparser reads it): join with '\n'.
     */
    if (indented && st->last >= 0) {
        entry *e = &cfg->v[st->last];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, name) == 0) {
            size_t add = strlen(value);
            if (e->vlen + add + 2 > e->vcap) {
                size_t cap = (e->vlen + add + 2) * 2;
                char *grown = realloc(e->value, cap);
                if (grown == NULL) {
                    st->rc = mig_fail(st->ctx, MIG_ENOMEM, "out of memory");
                    return 0;
                }
                e->value = grown;
                e->vcap = cap;
            }
            e->value[e->vlen++] = '\n';
            memcpy(e->value + e->vlen, value, add + 1);
            e->vlen += add;
            return 1;
        }
    }
    if (section[0] == '\0') {
        st->rc = mig_fail_at(st->ctx, MIG_ECONFIG, st->file, st->line, "key '%s' is outside any section",
                             name);
        mig_error_hint(st->ctx, "put it under a section such as [mig]");
        return 0;
    }
    int rc = check_key(st->ctx, st->file, st->line, section, name);
    if (rc != 0) {
        st->rc = rc;
        return 0;
    }
    const entry *dup = find_entry(cfg, section, name);
    if (dup != NULL) {
        st->rc =
            mig_fail_at(st->ctx, MIG_ECONFIG, st->file, st->line,
                        "duplicate key '%s' in [%s] (first set at line %d)", name, section, dup->line);
        return 0;
    }
    if (add_entry(cfg, section, name, value, st->line) < 0) {
        st->rc = mig_fail(st->ctx, MIG_ENOMEM, "out of memory");
        return 0;
    }
    st->last = (long)cfg->n - 1;
    return 1;
}

/*
 * Before handing the text to inih: no NUL bytes (inih would cut the line
 * there) and no line longer than inih is told to read (it would split it).
 */
static int check_text(mig_ctx *ctx, const char *file, const char *text, size_t len)
{
    int line = 1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return mig_fail_at(ctx, MIG_ECONFIG, file, line, "NUL byte in the file");
        if (text[i] == '\n') {
            line++;
            start = i + 1;
        } else if (i - start >= MAX_LINE) {
            return mig_fail_at(ctx, MIG_ECONFIG, file, line, "line longer than %d bytes", MAX_LINE);
        }
    }
    return 0;
}

static int read_file(mig_ctx *ctx, const char *path, const char *from, mig_buf *out, int *missing)
{
    *missing = 0;
    char *data;
    size_t len;
    int e = mig_file_read(path, &data, &len);
    if (e == ENOMEM)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (e) {
        *missing = e == ENOENT;
        return mig_fail_at(ctx, MIG_ECONFIG, NULL, 0, "cannot read configuration file '%s'%s: %s", path,
                           from, mig_file_strerror(e));
    }
    mig_buf_release(out);
    out->ptr = data;
    out->len = len;
    out->cap = len + 1;
    return 0;
}

/* Absolute folder of an existing file. Caller frees; NULL on failure. */
static char *folder_of(const char *path)
{
    char *abs = realpath(path, NULL);
    if (abs == NULL)
        return NULL;
    char *slash = strrchr(abs, '/');
    if (slash == abs)
        slash[1] = '\0'; /* the root folder */
    else if (slash)
        *slash = '\0';
    return abs;
}

/* Run inih over the text with the options mig needs, then restore them. */
static int parse(loader *st)
{
    bool s_inline = ini_allow_inline_comments, s_stack = ini_use_stack, s_realloc = ini_allow_realloc,
         s_multi = ini_allow_multiline, s_stop = ini_stop_on_first_error, s_novalue = ini_allow_no_value,
         s_bom = ini_allow_bom;
    int s_max = ini_max_line, s_init = ini_initial_alloc;
    char *s_start = ini_start_comment_prefixes;

    ini_allow_inline_comments = false; /* a value may hold ';' */
    ini_start_comment_prefixes = (char *)";#";
    ini_use_stack = false; /* lines of any length, not 200 bytes */
    ini_allow_realloc = true;
    ini_initial_alloc = 256;
    ini_max_line = MAX_LINE + 3;
    ini_allow_multiline = true;
    ini_stop_on_first_error = true; /* the first error is the one to fix */
    ini_allow_no_value = false;
    ini_allow_bom = true;

    int rc = ini_parse_stream(read_line, st, on_value, st);

    ini_allow_inline_comments = s_inline;
    ini_start_comment_prefixes = s_start;
    ini_use_stack = s_stack;
    ini_allow_realloc = s_realloc;
    ini_initial_alloc = s_init;
    ini_max_line = s_max;
    ini_allow_multiline = s_multi;
    ini_stop_on_first_error = s_stop;
    ini_allow_no_value = s_novalue;
    ini_allow_bom = s_bom;

    if (st->rc != 0)
        return st->rc;
    if (rc == -2)
        return mig_fail(st->ctx, MIG_ENOMEM, "out of memory");
    if (rc != 0) {
        mig_fail_at(st->ctx, MIG_ECONFIG, st->file, rc,
                    "syntax error: expected '[section]', 'key = value' or a comment");
        mig_error_hint(st->ctx, "comments take whole lines, starting with # or ;");
        return MIG_ECONFIG;
    }
    return 0;
}

/* Same folder? Compared by device and inode, so a symlinked $HOME matches. */
static int same_folder(const char *a, const char *b)
{
    struct stat sa, sb;
    return b != NULL && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * Look for mig.ini as git looks for .git: in the current folder, then each
 * folder above it, stopping after the filesystem root, the user's home
 * folder or a folder that holds .git. A file owned by neither the user nor
 * root is passed over with a warning: one planted in a shared parent such
 * as /tmp would otherwise run its hooks as whoever runs mig below it.
 * *found is the path relative to the current folder ("mig.ini",
 * "../mig.ini", ...), or NULL when there is none. Returns 0 or MIG_ENOMEM.
 */
static int search_upward(mig_ctx *ctx, const char *cwd, char **found)
{
    *found = NULL;
    const char *home = getenv("HOME");
    mig_buf dir = MIG_BUF_INIT, rel = MIG_BUF_INIT;
    mig_buf_puts(&dir, cwd);
    int rc = 0;
    for (;;) {
        if (dir.oom || rel.oom) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        char *candidate = mig_aprintf("%s%smig.ini", mig_buf_cstr(&dir),
                                      strcmp(mig_buf_cstr(&dir), "/") == 0 ? "" : "/");
        char *git = mig_aprintf("%s/.git", mig_buf_cstr(&dir));
        if (candidate == NULL || git == NULL) {
            free(candidate);
            free(git);
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        struct stat st;
        int here = stat(candidate, &st) == 0 && S_ISREG(st.st_mode);
        if (here && st.st_uid != geteuid() && st.st_uid != 0) {
            mig_log(ctx, MIG_LOG_WARN, "warning: skipping %s: owned by uid %lu, neither you nor root",
                    candidate, (unsigned long)st.st_uid);
            here = 0;
        }
        if (here) {
            *found = mig_aprintf("%smig.ini", mig_buf_cstr(&rel));
            if (*found == NULL)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        int stop = here || strcmp(mig_buf_cstr(&dir), "/") == 0 || access(git, F_OK) == 0 ||
                   same_folder(mig_buf_cstr(&dir), home);
        free(candidate);
        free(git);
        if (stop)
            break;
        char *slash = strrchr(dir.ptr, '/');
        dir.len = slash == dir.ptr ? 1 : (size_t)(slash - dir.ptr);
        dir.ptr[dir.len] = '\0';
        mig_buf_puts(&rel, "../");
    }
    mig_buf_release(&dir);
    mig_buf_release(&rel);
    return rc;
}

int mig_config_load(mig_config **out, mig_ctx *ctx, const char *path, int required)
{
    *out = NULL;
    const char *file = path, *from = "";
    char *found = NULL;
    if (file == NULL || file[0] == '\0') {
        const char *env = getenv("MIG_CONFIG");
        if (env != NULL && env[0] != '\0') {
            file = env;
            from = " (from $MIG_CONFIG)";
        } else {
            char *cwd = getcwd(NULL, 0);
            if (cwd == NULL)
                return mig_fail_os(ctx, MIG_ECONFIG, errno, "cannot find the current folder: %s",
                                   strerror(errno));
            int rc = search_upward(ctx, cwd, &found);
            if (rc == 0 && found == NULL) {
                mig_log(ctx, MIG_LOG_VERBOSE, "no mig.ini in %s or any folder above it", cwd);
                if (required) {
                    mig_fail(ctx, MIG_ECONFIG,
                             "no mig.ini in %s or any folder above it (use -c FILE, or mig init)", cwd);
                    free(cwd);
                    return MIG_ECONFIG;
                }
                *out = config_new("", cwd);
                if (*out)
                    (*out)->searched = 1;
            }
            free(cwd);
            if (rc != 0)
                return rc;
            if (found == NULL)
                return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
            file = found;
        }
    }

    mig_buf text = MIG_BUF_INIT;
    int missing = 0;
    int rc = read_file(ctx, file, from, &text, &missing);
    if (rc != 0) {
        mig_buf_release(&text);
        free(found);
        return rc;
    }

    char *dir = folder_of(file);
    if (dir == NULL) {
        mig_buf_release(&text);
        int e = errno;
        rc = mig_fail_at(ctx, e == ENOMEM ? MIG_ENOMEM : MIG_ECONFIG, NULL, 0,
                         "cannot resolve the folder of '%s': %s", file, strerror(e));
        free(found);
        return rc;
    }
    mig_log(ctx, MIG_LOG_VERBOSE, "using %s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/",
            strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
    mig_config *cfg = config_new(file, dir);
    free(dir);
    free(found);
    if (cfg == NULL) {
        mig_buf_release(&text);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    file = cfg->path;

    rc = check_text(ctx, file, mig_buf_cstr(&text), text.len);
    if (rc == 0) {
        loader st = {
            .cfg = cfg,
            .ctx = ctx,
            .file = file,
            .text = mig_buf_cstr(&text),
            .len = text.len,
            .at_line_start = 1,
            .last = -1,
        };
        rc = parse(&st);
    }
    mig_buf_release(&text);
    if (rc != 0) {
        mig_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* ------------------------------------------------------------------ */
/* access                                                               */

const char *mig_config_path(const mig_config *cfg)
{
    return cfg ? cfg->path : "";
}

const char *mig_config_dir(const mig_config *cfg)
{
    return cfg ? cfg->dir : ".";
}

int mig_config_fail_none(const mig_config *cfg, mig_ctx *ctx, const char *hint)
{
    if (cfg == NULL || !cfg->searched)
        return 0;
    mig_fail(ctx, MIG_ECONFIG, "no mig.ini in %s or any folder above it (use -c FILE, or mig init)",
             cfg->dir);
    if (hint && *hint)
        mig_error_hint(ctx, "%s", hint);
    return MIG_ECONFIG;
}

const char *mig_config_raw(const mig_config *cfg, const char *section, const char *key, int *line)
{
    const entry *e = find_entry(cfg, section, key);
    if (line)
        *line = e ? e->line : 0;
    return e ? e->value : NULL;
}

int mig_config_has_section(const mig_config *cfg, const char *section)
{
    if (cfg == NULL || section == NULL)
        return 0;
    if (mig_strvec_contains(&cfg->sections, section))
        return 1;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->v[i].section, section) == 0)
            return 1;
    return 0;
}

int mig_config_foreach(const mig_config *cfg, const char *section, mig_config_key_fn fn, void *payload)
{
    if (cfg == NULL)
        return 0;
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->v[i].section, section) != 0)
            continue;
        int rc = fn(payload, cfg->v[i].key, cfg->v[i].value, cfg->v[i].line);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mig_config_get(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key, char **out)
{
    *out = NULL;
    const entry *e = find_entry(cfg, section, key);
    if (e == NULL)
        return 0;
    char what[256];
    snprintf(what, sizeof what, "[%s] %s", section, key);
    return mig_config_expand(ctx, e->value, cfg->dir, what, cfg->path, e->line, out);
}

/* The expanded value with surrounding blanks trimmed, for typed getters. */
static int get_trimmed(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                       char **out, int *line)
{
    int rc = mig_config_get(cfg, ctx, section, key, out);
    if (rc != 0 || *out == NULL)
        return rc;
    mig_config_raw(cfg, section, key, line);
    char *s = *out, *b = s;
    while (isspace((unsigned char)*b))
        b++;
    size_t n = strlen(b);
    while (n > 0 && isspace((unsigned char)b[n - 1]))
        n--;
    memmove(s, b, n);
    s[n] = '\0';
    return 0;
}

/*
 * The typed getters' one path: the trimmed value, when set and not empty,
 * through parse into out; a value parse refuses is MIG_ECONFIG naming the
 * line, section and key and saying what the value should be (what, and
 * the hint when there is one). Unset or empty leaves out as it is.
 */
static int get_typed(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                     int (*parse)(const char *v, void *out), void *out, const char *what, const char *hint)
{
    char *v = NULL;
    int line = 0;
    int rc = get_trimmed(cfg, ctx, section, key, &v, &line);
    if (rc == 0 && v != NULL && v[0] != '\0' && parse(v, out) != 0) {
        rc = mig_fail_at(ctx, MIG_ECONFIG, cfg->path, line, "[%s] %s: '%s' is not %s", section, key, v,
                         what);
        if (hint)
            mig_error_hint(ctx, "%s", hint);
    }
    free(v);
    return rc;
}

static int parse_bool(const char *v, void *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *(int *)out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *(int *)out = 0;
            return 0;
        }
    }
    return -1;
}

int mig_config_get_bool(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                        int dflt, int *out)
{
    *out = dflt;
    return get_typed(cfg, ctx, section, key, parse_bool, out, "a boolean",
                     "use true or false (also yes/no, on/off, 1/0)");
}

static int parse_long(const char *v, void *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *(long *)out = n;
    return 0;
}

int mig_config_get_int(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                       long dflt, long *out)
{
    *out = dflt;
    return get_typed(cfg, ctx, section, key, parse_long, out, "a whole number", NULL);
}

static int parse_double(const char *v, void *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !isfinite(d))
        return -1;
    *(double *)out = d;
    return 0;
}

int mig_config_get_double(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                          double dflt, double *out)
{
    *out = dflt;
    return get_typed(cfg, ctx, section, key, parse_double, out, "a number", NULL);
}

static int parse_duration(const char *v, void *out)
{
    long long ms;
    if (mig_parse_duration_ms(v, strlen(v), &ms) != 0)
        return -1;
    *(long long *)out = ms;
    return 0;
}

int mig_config_get_duration_ms(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                               long long dflt, long long *out)
{
    char what[96];
    snprintf(what, sizeof what, "a duration such as 500ms, 5s or 2min (at most %lldms)",
             (long long)MIG_DURATION_MAX_MS);
    *out = dflt;
    return get_typed(cfg, ctx, section, key, parse_duration, out, what, NULL);
}

/* ------------------------------------------------------------------ */
/* expansion                                                            */

/* ${A:-${B:-...}} deeper than this is an error, not a deep recursion */
#define MAX_NESTING 32

typedef struct expander {
    mig_ctx *ctx;
    const char *here;
    const char *what;
    const char *file;
    int line;
    size_t *close; /* close[i]: the '}' that ends the ${ at i, or the length when none does */
} expander;

static int is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static int malformed(const expander *x, const char *at)
{
    size_t n = strcspn(at, "}");
    if (at[n] == '}')
        n++;
    mig_fail_at(x->ctx, MIG_ECONFIG, x->file, x->line, "%s: malformed '%.*s'",
                x->what ? x->what : "value", (int)(n > 60 ? 60 : n), at);
    mig_error_hint(x->ctx, "write ${NAME} or ${NAME:-default}");
    return MIG_ECONFIG;
}

/*
 * One pass over the whole value pairs every "${" with the '}' that closes
 * it, so expand() jumps over a default instead of scanning it once per
 * level (which made deep nesting quadratic), and the nesting is measured
 * before expand() recurses into it.
 */
static int match_braces(const expander *x, const char *s, size_t len, size_t *close)
{
    size_t open[MAX_NESTING];
    size_t depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            if (depth == MAX_NESTING) {
                mig_fail_at(x->ctx, MIG_ECONFIG, x->file, x->line, "%s: ${...} nested more than %d deep",
                            x->what ? x->what : "value", MAX_NESTING);
                mig_error_hint(x->ctx, "nest at most %d levels of ${NAME:-default}", MAX_NESTING);
                return MIG_ECONFIG;
            }
            close[i] = len;
            open[depth++] = i++;
        } else if (s[i] == '}' && depth > 0) {
            close[open[--depth]] = i;
        }
    }
    return 0;
}

/*
 * Expand s[0..len) into b; s is at offset `at` of the whole value. A
 * default may itself hold ${...} and %(here)s, so this recurses into it
 * (at most MAX_NESTING deep: match_braces checked).
 */
static int expand(const expander *x, const char *s, size_t len, size_t at, mig_buf *b)
{
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (c == '%' && i + 1 < len && s[i + 1] == '%') {
            mig_buf_putc(b, '%'); /* configparser's escape, as in alembic.ini */
            i += 2;
            continue;
        }
        if (c == '%' && len - i >= 8 && memcmp(s + i, "%(here)s", 8) == 0) {
            mig_buf_puts(b, x->here ? x->here : ".");
            i += 8;
            continue;
        }
        if (c != '$' || i + 1 >= len || s[i + 1] != '{') {
            mig_buf_putc(b, c);
            i++;
            continue;
        }

        /* ${NAME}, ${NAME:-default} or ${NAME-default} */
        size_t start = i;
        size_t p = i + 2;
        if (p >= len || !is_name_start(s[p]))
            return malformed(x, s + start);
        size_t name_at = p;
        while (p < len && is_name_char(s[p]))
            p++;
        size_t name_len = p - name_at;
        int has_default = 0, colon = 0;
        size_t dflt_at = 0, dflt_len = 0;
        if (p < len && s[p] == ':' && p + 1 < len && s[p + 1] == '-') {
            has_default = colon = 1;
            p += 2;
        } else if (p < len && s[p] == '-') {
            has_default = 1;
            p += 1;
        }
        if (has_default) {
            dflt_at = p;
            size_t end = x->close[at + start] - at;
            p = end < len ? end : len;
            dflt_len = p - dflt_at;
        }
        if (p >= len || s[p] != '}')
            return malformed(x, s + start);
        i = p + 1;

        char name[256];
        if (name_len >= sizeof name)
            return malformed(x, s + start);
        memcpy(name, s + name_at, name_len);
        name[name_len] = '\0';
        const char *val = getenv(name);
        /* ${NAME:-d}: unset or empty; ${NAME-d}: unset only (as in sh) */
        int use_default = has_default && (val == NULL || (colon && val[0] == '\0'));
        if (use_default) {
            int rc = expand(x, s + dflt_at, dflt_len, at + dflt_at, b);
            if (rc != 0)
                return rc;
        } else if (val != NULL) {
            mig_buf_puts(b, val);
        } else {
            mig_fail_at(x->ctx, MIG_ECONFIG, x->file, x->line,
                        "%s: environment variable '%s' is not set", x->what ? x->what : "value", name);
            mig_error_hint(x->ctx, "set %s, or write ${%s:-default}", name, name);
            return MIG_ECONFIG;
        }
    }
    return 0;
}

int mig_config_expand(mig_ctx *ctx, const char *s, const char *here, const char *what, const char *file,
                      int line, char **out)
{
    *out = NULL;
    if (s == NULL)
        return 0;
    size_t len = strlen(s);
    /* only the '$' of each "${" gets an entry, but indexing by offset keeps it one pass */
    size_t *close = strstr(s, "${") ? malloc(len * sizeof *close) : NULL;
    expander x = { ctx, here, what, file, line, close };
    if (close == NULL && strstr(s, "${"))
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = close ? match_braces(&x, s, len, close) : 0;
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, ""); /* an empty value is "", not NULL */
    if (rc == 0)
        rc = expand(&x, s, len, 0, &b);
    free(close);
    if (rc != 0) {
        mig_buf_release(&b);
        return rc;
    }
    *out = mig_buf_detach(&b);
    return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------ */

char *mig_path_join(const char *base, const char *rel)
{
    if (rel == NULL)
        return NULL;
    if (rel[0] == '/' || base == NULL || base[0] == '\0')
        return mig_strdup(rel);
    while (rel[0] == '.' && rel[1] == '/') {
        rel += 2;
        while (rel[0] == '/')
            rel++;
    }
    if (rel[0] == '\0' || strcmp(rel, ".") == 0)
        return mig_strdup(base);
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        bl--;
    if (bl == 1 && base[0] == '/')
        return mig_aprintf("/%s", rel);
    return mig_aprintf("%.*s/%s", (int)bl, base, rel);
}
