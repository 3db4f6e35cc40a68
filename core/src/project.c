/*
 * Project files: `mig init` and new revision files (`revision`, `merge`).
 * New files are written from the project's template.sql / template.lua,
 * never over an existing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "fileio.h"
#include "paths.h"
#include "lua_hooks.h"

static const char default_sql_template[] = "-- mig:revision ${revision}\n"
                                           "-- mig:down_revision ${down_revision}\n"
                                           "-- mig:message ${message}\n"
                                           "-- mig:create_date ${create_date}\n"
                                           "-- mig:branch_labels ${branch_labels}\n"
                                           "-- mig:depends_on ${depends_on}\n"
                                           "-- mig:phase ${phase}\n"
                                           "\n"
                                           "-- mig:upgrade\n"
                                           "\n"
                                           "\n"
                                           "-- mig:downgrade\n"
                                           "\n";

static const char default_lua_template[] = "-- mig:revision ${revision}\n"
                                           "-- mig:down_revision ${down_revision}\n"
                                           "-- mig:message ${message}\n"
                                           "-- mig:create_date ${create_date}\n"
                                           "-- mig:branch_labels ${branch_labels}\n"
                                           "-- mig:depends_on ${depends_on}\n"
                                           "-- mig:phase ${phase}\n"
                                           "\n"
                                           "return {\n"
                                           "  upgrade = function(db, ctx)\n"
                                           "  end,\n"
                                           "  downgrade = function(db, ctx)\n"
                                           "  end,\n"
                                           "}\n";

static const char default_ini[] =
    "# mig configuration: see `mig --help` and docs/configuration.md\n"
    "[mig]\n"
    "# holds versions/ and the templates\n"
    "script_location = %s\n"
    "# never write a password here: take it from the environment\n"
    "url = ${DATABASE_URL:-sqlite:app.db}\n"
    "version_table = mig_version\n"
    "transaction_per_migration = false\n"
    "\n"
    "# Lua files with pre/post-migration hooks (see docs/lua.md)\n"
    "# [hooks]\n"
    "# scripts = hooks/audit.lua\n"
    "\n"
    "# Run on every new revision file, in order. sqlformat is shipped with mig:\n"
    "# it tidies the SQL sections (keyword case, one clause per line).\n"
    "# [post_write_hooks]\n"
    "# hooks = sqlformat\n"
    "# sqlformat.type = lua\n"
    "# sqlformat.script = hooks/sqlformat.lua\n";

static int read_file(const char *path, char **out, size_t *len)
{
    return mig_file_read(path, out, len) ? -1 : 0;
}

/* Write a new file, never replacing one. */
static int write_new(mig_ctx *ctx, const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            return mig_fail(ctx, MIG_EUSAGE, "%s already exists", path);
        return mig_fail(ctx, MIG_EFAIL, "cannot create %s: %s", path, strerror(errno));
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(path);
            return mig_fail(ctx, MIG_EFAIL, "cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return mig_fail(ctx, MIG_EFAIL, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

/* The shipped template of a kind: installed data, the source tree, or built in. */
static char *shipped_template(const char *name)
{
    mig_strvec dirs = MIG_STRVEC_INIT;
    mig_data_dirs(&dirs);
    for (size_t i = 0; i < dirs.n; i++) {
        /* installed: share/mig/templates; the source tree keeps them in migrations/ */
        char *path = mig_aprintf("%s/templates/%s", dirs.v[i], name);
        char *alt = mig_aprintf("%s/migrations/%s", dirs.v[i], name);
        char *data = NULL;
        size_t len;
        int ok = (path && read_file(path, &data, &len) == 0) || (alt && read_file(alt, &data, &len) == 0);
        free(path);
        free(alt);
        if (ok) {
            mig_strvec_release(&dirs);
            return data;
        }
    }
    mig_strvec_release(&dirs);
    return mig_strdup(strcmp(name, "template.lua") == 0 ? default_lua_template : default_sql_template);
}

static int mkdir_p(mig_ctx *ctx, const char *path)
{
    char *p = mig_strdup(path);
    if (p == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = mig_fail(ctx, MIG_EFAIL, "cannot create %s: %s", p, strerror(errno));
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = mig_fail(ctx, MIG_EFAIL, "cannot create %s: %s", p, strerror(errno));
    free(p);
    return rc;
}

int mig_init_project(mig_ctx *ctx, const char *dir)
{
    mig_error_clear(ctx);
    if (dir == NULL || *dir == '\0')
        dir = "migrations";
    char *versions = mig_aprintf("%s/versions", dir);
    if (versions == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = mkdir_p(ctx, versions);
    free(versions);
    if (rc)
        return rc;
    const char *names[] = { "template.sql", "template.lua" };
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        char *path = mig_aprintf("%s/%s", dir, names[i]);
        char *data = shipped_template(names[i]);
        if (path == NULL || data == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        else if (access(path, F_OK) == 0)
            mig_log(ctx, MIG_LOG_INFO, "kept %s (already there)", path);
        else if ((rc = write_new(ctx, path, data, strlen(data))) == 0)
            mig_log(ctx, MIG_LOG_INFO, "wrote %s", path);
        free(path);
        free(data);
    }
    if (rc)
        return rc;
    if (access("mig.ini", F_OK) == 0) {
        mig_log(ctx, MIG_LOG_INFO, "kept mig.ini (already there)");
        return 0;
    }
    char *ini = mig_aprintf(default_ini, dir);
    if (ini == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    rc = write_new(ctx, "mig.ini", ini, strlen(ini));
    free(ini);
    if (rc == 0)
        mig_log(ctx, MIG_LOG_INFO, "wrote mig.ini");
    return rc;
}

/* No versions/ to write into: say what to do, from what the user gave. */
static int missing_versions(mig_ctx *ctx)
{
    int rc = 0;
    if (ctx->opts.script_location == NULL)
        rc = mig_config_fail_none(ctx->cfg, ctx,
                                  "or give the revisions' folder with --script-location DIR");
    if (rc == 0) {
        rc = mig_fail(ctx, MIG_ECONFIG, "%s does not exist", ctx->versions_dir);
        mig_error_hint(ctx, "run `mig init` first");
    }
    return rc;
}

static int random_id(mig_ctx *ctx, char out[13])
{
    unsigned char raw[6];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f)
        fclose(f);
    if (n != sizeof raw) {
        /* no urandom (a chroot): time and pid are unique enough for one writer */
        unsigned long long t = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = (unsigned char)(t >> (8 * i));
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    (void)ctx;
    return 0;
}

/*
 * Latin letters with marks, as their ASCII base, so `-m "Ünïcode"` names
 * the file unicode_…: U+00C0..U+00FF, then U+0100..U+017F. '_' is no
 * letter (x, ÷); capitals stand for two letters (see two_letters).
 */
static const char latin1_base[] = "aaaaaaAceeeeiiiidnooooo_ouuuuyTSaaaaaaAceeeeiiiidnooooo_ouuuuyTy";
static const char latin_ext_a_base[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiIIjjkkkllllllllllnnnnnnnnnooooooOOrrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

static const char *two_letters(char c)
{
    switch (c) {
    case 'A':
        return "ae";
    case 'T':
        return "th";
    case 'S':
        return "ss";
    case 'I':
        return "ij";
    case 'O':
        return "oe";
    default:
        return NULL;
    }
}

/* One UTF-8 sequence at p: its code point and length; -1 when it is not valid UTF-8. */
static long utf8_decode(const unsigned char *p, size_t *len)
{
    unsigned char c = p[0];
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? (c < 0xF0 ? 3 : 0) : c >= 0xC2 ? 2 : 0;
    if (n == 0)
        return -1;
    long cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = n;
    return cp;
}

/*
 * The file name's words: ASCII letters and digits lowercased, Latin letters
 * with marks as their base, other letters (Greek, Cyrillic, CJK, ...) kept
 * as UTF-8; everything else separates words. At most 40 bytes, never a
 * sequence cut in two.
 */
static char *slug_of(const char *msg)
{
    mig_buf b = MIG_BUF_INIT;
    int underscore = 0;
    const unsigned char *p = (const unsigned char *)msg;
    while (*p) {
        char ascii[3] = { 0 };
        const char *word = NULL;
        size_t step = 1, wlen = 0;
        if (*p < 0x80) {
            char c = (char)*p;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                ascii[0] = c;
                word = ascii;
                wlen = 1;
            }
        } else {
            long cp = utf8_decode(p, &step);
            if (cp < 0) {
                step = 1;
            } else if (cp >= 0xC0 && cp <= 0x17F) {
                char base = cp <= 0xFF ? latin1_base[cp - 0xC0] : latin_ext_a_base[cp - 0x100];
                const char *two = two_letters(base);
                if (two) {
                    word = two;
                    wlen = 2;
                } else if (base != '_') {
                    ascii[0] = base;
                    word = ascii;
                    wlen = 1;
                }
            } else if (cp >= 0x300 && cp <= 0x36F) {
                /* a combining mark (e + U+0301): part of the letter before it */
                p += step;
                continue;
            } else if ((cp > 0x17F && cp < 0x2000) || (cp >= 0x2C00 && cp <= 0x2DFF) ||
                       (cp >= 0x3040 && cp <= 0xD7FF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                       (cp >= 0x20000 && cp <= 0x3FFFF)) {
                /* the blocks of the world's letters, not punctuation, symbols or emoji */
                word = (const char *)p;
                wlen = step;
            }
        }
        p += step;
        if (word == NULL) {
            underscore = 1;
            continue;
        }
        if (b.len + (underscore && b.len) + wlen > 40)
            break;
        if (underscore && b.len)
            mig_buf_putc(&b, '_');
        underscore = 0;
        mig_buf_put(&b, word, wlen);
    }
    if (b.len == 0)
        mig_buf_puts(&b, "revision");
    return mig_buf_detach(&b);
}

/* Replace ${name} in tpl; header lines left with an empty value are dropped. */
static char *render(const char *tpl, const char *const *keys, const char *const *vals, size_t n)
{
    mig_buf out = MIG_BUF_INIT;
    const char *line = tpl;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) + 1 : strlen(line);
        mig_buf l = MIG_BUF_INIT;
        int emptied = 0;
        for (size_t i = 0; i < llen;) {
            int matched = 0;
            if (line[i] == '$' && i + 1 < llen && line[i + 1] == '{') {
                for (size_t k = 0; k < n; k++) {
                    size_t kl = strlen(keys[k]);
                    if (i + 2 + kl < llen + 1 && strncmp(line + i + 2, keys[k], kl) == 0 &&
                        line[i + 2 + kl] == '}') {
                        mig_buf_puts(&l, vals[k]);
                        if (*vals[k] == '\0')
                            emptied = 1;
                        i += kl + 3;
                        matched = 1;
                        break;
                    }
                }
            }
            if (!matched)
                mig_buf_putc(&l, line[i++]);
        }
        const char *t = mig_buf_cstr(&l);
        int is_header = strncmp(t, "-- mig:", 7) == 0;
        if (!(emptied && is_header))
            mig_buf_put(&out, t, l.len);
        mig_buf_release(&l);
        line += llen;
    }
    return mig_buf_detach(&out);
}

static int resolve_list(mig_ctx *ctx, mig_graph *g, const char *const *names, mig_strvec *out)
{
    for (size_t i = 0; names && names[i]; i++) {
        const mig_rev *r = NULL;
        int rc = mig_graph_find(&r, ctx, g, names[i]);
        if (rc)
            return rc;
        if (!mig_strvec_contains(out, r->id) && mig_strvec_push(out, r->id) < 0)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    return 0;
}

static int revlist_copy(mig_revlist *to, const mig_revlist *from)
{
    for (size_t i = 0; i < from->n; i++)
        if (mig_revlist_push_owned(to, mig_strdup(from->v[i])) < 0)
            return -1;
    return 0;
}

/* A copy of a NULL-terminated list (or NULL) into *to, NULL before. */
static int strs_copy(char ***to, char *const *from)
{
    mig_revlist l = { NULL, 0 };
    mig_revlist f = { (char **)from, mig_strs_count(from) };
    int rc = revlist_copy(&l, &f);
    *to = l.v; /* what was copied is the revision's to release, also on failure */
    return rc;
}

/*
 * The new file, read back before it is written: its header through the
 * parser every command uses, then the graph with it added, so whatever
 * went into the header (labels, message, parents, the template's own
 * lines) cannot make a file that later commands refuse.
 */
static int check_reads_back(mig_ctx *ctx, const mig_graph *g, const char *path, const char *text)
{
    size_t n = g ? mig_graph_count(g) : 0;
    mig_rev *revs = calloc(n + 1, sizeof *revs);
    if (revs == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const mig_rev *r = mig_graph_at(g, i);
        mig_rev *c = &revs[i];
        *c = *r;
        c->id = mig_strdup(r->id);
        c->path = mig_strdup(r->path);
        c->message = mig_strdup(r->message);
        c->create_date = mig_strdup(r->create_date);
        memset(&c->down, 0, sizeof c->down);
        c->labels = c->depends = NULL;
        if (!c->id || !c->path || !c->message || !c->create_date || revlist_copy(&c->down, &r->down) ||
            strs_copy(&c->labels, r->labels) || strs_copy(&c->depends, r->depends))
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = mig_revfile_parse_header(&revs[n], ctx, path, text, strlen(text), 0);
    if (rc) {
        for (size_t i = 0; i <= n; i++)
            mig_rev_release(&revs[i]);
        free(revs);
    } else {
        mig_graph *check = NULL;
        rc = mig_graph_from_revs(&check, ctx, revs, n + 1);
        free(revs); /* the graph took the revisions' contents, not the array */
        mig_graph_free(check);
    }
    if (rc && rc != MIG_ENOMEM) {
        char *why = mig_strdup(mig_last_error(ctx)->message);
        rc = mig_fail(ctx, MIG_EUSAGE, "no revision written: the new file would not read back: %s",
                      why ? why : "");
        free(why);
    }
    return rc;
}

static void join(mig_buf *b, const mig_strvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        mig_buf_printf(b, "%s%s", i ? " " : "", v->v[i]);
}

/*
 * Put statements under the -- mig:upgrade and -- mig:downgrade lines of a
 * rendered SQL template (autogenerate); a template without one gets it
 * appended. Takes text, returns the new text (NULL on oom).
 */
static char *fill_sections(char *text, const char *up, const char *down)
{
    mig_buf out = MIG_BUF_INIT;
    const char *marks[2] = { "-- mig:upgrade", "-- mig:downgrade" };
    const char *bodies[2] = { up ? up : "", down ? down : "" };
    int placed[2] = { 0, 0 };
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) + 1 : strlen(line);
        mig_buf_put(&out, line, llen);
        for (int k = 0; k < 2; k++) {
            size_t ml = strlen(marks[k]);
            if (!placed[k] && strncmp(line, marks[k], ml) == 0 &&
                (line[ml] == '\n' || line[ml] == '\r' || line[ml] == ' ' || line[ml] == '\0')) {
                if (eol == NULL)
                    mig_buf_putc(&out, '\n');
                mig_buf_puts(&out, bodies[k]);
                placed[k] = 1;
            }
        }
        line += llen;
    }
    for (int k = 0; k < 2; k++)
        if (!placed[k])
            mig_buf_printf(&out, "\n%s\n%s", marks[k], bodies[k]);
    free(text);
    return mig_buf_detach(&out);
}

/* Does the rendered header declare the phase itself (a template with ${phase})? */
static int has_phase_line(const char *text)
{
    for (const char *line = text; *line;) {
        if (strncmp(line, "-- mig:phase ", 13) == 0)
            return 1;
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            break;
        line = eol + 1;
    }
    return 0;
}

/*
 * A project template older than ${phase}: the contract line goes after
 * the revision line, so `--phase contract` is never lost. Takes text,
 * returns the new text (NULL on oom).
 */
static char *add_phase_line(char *text)
{
    mig_buf out = MIG_BUF_INIT;
    int placed = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) + 1 : strlen(line);
        mig_buf_put(&out, line, llen);
        if (!placed && strncmp(line, "-- mig:revision ", 16) == 0) {
            if (eol == NULL)
                mig_buf_putc(&out, '\n');
            mig_buf_puts(&out, "-- mig:phase contract\n");
            placed = 1;
        }
        line += llen;
    }
    if (!placed)
        mig_buf_puts(&out, "-- mig:phase contract\n");
    free(text);
    return mig_buf_detach(&out);
}

static int write_revision(mig_ctx *ctx, const mig_revision_opts *o, const mig_strvec *down, char **path_out)
{
    const char *loc;
    int rc = mig_ctx_script_location(ctx, &loc);
    if (rc)
        return rc;
    mig_graph *g = ctx->graph;
    char id[65];
    if (o->rev_id) {
        if (!mig_rev_id_valid(o->rev_id))
            return mig_fail(ctx, MIG_EUSAGE,
                            "--rev-id '%s': use letters, digits and _ only (at most 64)", o->rev_id);
        const mig_rev *clash = NULL;
        for (size_t i = 0; g && i < mig_graph_count(g); i++)
            if (strcmp(mig_graph_at(g, i)->id, o->rev_id) == 0)
                clash = mig_graph_at(g, i);
        if (clash)
            return mig_fail(ctx, MIG_EUSAGE, "--rev-id %s: %s already has that id", o->rev_id,
                            clash->path);
        snprintf(id, sizeof id, "%s", o->rev_id);
    } else {
        random_id(ctx, id);
    }
    for (size_t i = 0; o->branch_labels && o->branch_labels[i]; i++) {
        const char *label = o->branch_labels[i];
        if (!mig_rev_name_valid(label))
            return mig_fail(ctx, MIG_EUSAGE,
                            "--branch-label '%s': use letters, digits, _ and - (not first), at most 64",
                            label);
    }
    mig_strvec deps = MIG_STRVEC_INIT;
    if ((rc = resolve_list(ctx, g, o->depends_on, &deps)) != 0) {
        mig_strvec_release(&deps);
        return rc;
    }
    mig_buf downs = MIG_BUF_INIT, labels = MIG_BUF_INIT, depends = MIG_BUF_INIT;
    join(&downs, down);
    for (size_t i = 0; o->branch_labels && o->branch_labels[i]; i++)
        mig_buf_printf(&labels, "%s%s", i ? " " : "", o->branch_labels[i]);
    join(&depends, &deps);
    mig_strvec_release(&deps);

    char date[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    const char *kind = o->lua ? "template.lua" : "template.sql";
    char *tpl_path = mig_aprintf("%s/%s", loc, kind);
    char *tpl = NULL;
    size_t tlen;
    int e = tpl_path ? mig_file_read(tpl_path, &tpl, &tlen) : ENOMEM;
    if (e != 0 && e != ENOENT && e != ENOMEM) {
        /* the project's own template is there but unusable (a FIFO, unreadable): no silent fallback */
        rc = mig_fail_os(ctx, MIG_ECONFIG, e, "%s: cannot read: %s", tpl_path, mig_file_strerror(e));
        free(tpl_path);
        mig_buf_release(&downs);
        mig_buf_release(&labels);
        mig_buf_release(&depends);
        return rc;
    }
    if (e != 0)
        tpl = shipped_template(kind);
    free(tpl_path);
    /* a message is one header line */
    char *msg = mig_strdup(o->message ? o->message : "");
    for (char *p = msg; p && *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    const char *keys[] = { "revision",      "down_revision", "message", "create_date",
                           "branch_labels", "depends_on",    "phase" };
    /* expand is the default: its line goes, as empty labels' does */
    const char *vals[] = { id,
                           mig_buf_cstr(&downs),
                           msg ? msg : "",
                           date,
                           mig_buf_cstr(&labels),
                           mig_buf_cstr(&depends),
                           o->contract ? "contract" : "" };
    char *text = tpl ? render(tpl, keys, vals, 7) : NULL;
    if (text && o->contract && !has_phase_line(text))
        text = add_phase_line(text);
    if (text && !o->lua && (o->upgrade_sql || o->downgrade_sql))
        text = fill_sections(text, o->upgrade_sql, o->downgrade_sql);
    char *slug = slug_of(msg ? msg : "");
    char *path =
        mig_aprintf("%s/versions/%s_%s.%s", loc, id, slug ? slug : "revision", o->lua ? "lua" : "sql");
    if (text == NULL || path == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    else if ((rc = check_reads_back(ctx, g, path, text)) != 0)
        ;
    else if (access(ctx->versions_dir, F_OK) != 0)
        rc = missing_versions(ctx);
    else
        rc = write_new(ctx, path, text, strlen(text));
    free(tpl);
    free(text);
    free(slug);
    free(msg);
    mig_buf_release(&downs);
    mig_buf_release(&labels);
    mig_buf_release(&depends);
    if (rc) {
        free(path);
        return rc;
    }
    /* the file is written: a failing hook is reported, and the file kept */
    *path_out = path;
    return mig_post_write_hooks(ctx, path, id);
}

/*
 * A first revision with no parent, while the database is at a revision no
 * file declares (Alembic's, say), would start a history the database is not
 * on. Asked only when a database answers: writing a revision needs none.
 */
static int root_allowed(mig_ctx *ctx, const char *rev_id)
{
    const char *const *cur = NULL;
    size_t n = 0;
    if (mig_current(ctx, &cur, &n) != 0) {
        mig_error_clear(ctx);
        return 0;
    }
    /* the placeholder that declares the database's revision is the way out */
    for (size_t i = 0; i < n; i++)
        if (rev_id == NULL || strcmp(rev_id, cur[i]) != 0)
            return mig_graph_fail_unknown(ctx, cur[i]);
    return 0;
}

int mig_revision_new(mig_ctx *ctx, const mig_revision_opts *o, char **path_out)
{
    mig_error_clear(ctx);
    *path_out = NULL;
    mig_graph *g;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc)
        return rc;
    mig_strvec down = MIG_STRVEC_INIT;
    if (o->head && o->head[0]) {
        for (size_t i = 0; rc == 0 && o->head[i]; i++) {
            if (strcmp(o->head[i], "base") == 0)
                continue; /* a new root */
            const mig_rev *r = NULL;
            if (strcmp(o->head[i], "head") == 0) {
                if (mig_graph_nheads(g) != 1) {
                    rc = mig_fail(ctx, MIG_ETARGET, "--head head is ambiguous: there are %zu heads",
                                  mig_graph_nheads(g));
                    break;
                }
                r = mig_graph_head(g, 0);
            } else {
                const char *name = o->head[i];
                char *label = NULL;
                const char *at = strchr(name, '@');
                if (at && strcmp(at, "@head") == 0)
                    name = label = mig_strndup(name, (size_t)(at - name));
                rc = name ? mig_graph_find(&r, ctx, g, name) : mig_fail(ctx, MIG_ENOMEM, "out of memory");
                free(label);
                if (rc)
                    break;
            }
            /* r is set: every branch above either sets it or breaks out */
            /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
            if (mig_graph_nchildren(g, r) > 0 && !o->splice) {
                rc = mig_fail(ctx, MIG_EUSAGE,
                              "revision %s is not a head: pass --splice to start a new branch from it",
                              r->id); /* NOLINT(clang-analyzer-core.NullDereference) */
                break;
            }
            mig_strvec_push(&down, r->id); /* NOLINT(clang-analyzer-core.NullDereference) */
        }
    } else if (mig_graph_nheads(g) > 1) {
        mig_buf b = MIG_BUF_INIT;
        for (size_t i = 0; i < mig_graph_nheads(g); i++)
            mig_buf_printf(&b, "%s%s", i ? ", " : "", mig_graph_head(g, i)->id);
        rc = mig_fail(ctx, MIG_EUSAGE,
                      "there are %zu heads (%s): name the parent with --head, or join them with `mig merge`",
                      mig_graph_nheads(g), mig_buf_cstr(&b));
        mig_error_hint(ctx, "mig revision -m MSG --head REV, or mig merge -m MSG");
        mig_buf_release(&b);
    } else if (mig_graph_nheads(g) == 1) {
        mig_strvec_push(&down, mig_graph_head(g, 0)->id);
    } else {
        rc = root_allowed(ctx, o->rev_id);
    }
    if (rc == 0)
        rc = write_revision(ctx, o, &down, path_out);
    mig_strvec_release(&down);
    return rc;
}

int mig_merge(mig_ctx *ctx, const mig_revision_opts *o, char **path_out)
{
    mig_error_clear(ctx);
    *path_out = NULL;
    mig_graph *g;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc)
        return rc;
    mig_strvec down = MIG_STRVEC_INIT;
    if (o->merge_of && o->merge_of[0]) {
        rc = resolve_list(ctx, g, o->merge_of, &down);
    } else {
        for (size_t i = 0; i < mig_graph_nheads(g); i++)
            mig_strvec_push(&down, mig_graph_head(g, i)->id);
    }
    if (rc == 0 && down.n < 2)
        rc = mig_fail(ctx, MIG_EUSAGE, "nothing to merge: %s",
                      down.n ? "give at least two revisions" : "there is one head");
    if (rc == 0)
        rc = write_revision(ctx, o, &down, path_out);
    mig_strvec_release(&down);
    return rc;
}
