/*
 * The --json output: one document on stdout per run, built with jansson.
 * Text from revision files, the database or the environment may hold bytes
 * that are not UTF-8, which jansson rightly refuses; cli_json_str() replaces
 * each bad byte with U+FFFD so the document is always valid JSON.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char b = s[0], lo = 0x80, hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        if (b == 0xED)
            hi = 0x9F; /* surrogates */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        if (b == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

json_t *cli_json_str(const char *s)
{
    if (s == NULL)
        return json_null();
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len)
        return json_stringn(s, len);

    /* Worst case every byte becomes the three bytes of U+FFFD. */
    char *out = malloc(3 * len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (i = 0; i < len;) {
        size_t n = utf8_seq(p + i);
        if (n == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

json_t *cli_json_strv(const char *const *v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, cli_json_str(*v));
    return a;
}

const char *cli_error_name(int code)
{
    switch (code) {
    case MIG_OK:
        return "ok";
    case MIG_EFAIL:
        return "failed";
    case MIG_ENOMEM:
        return "out of memory";
    case MIG_EPARTIAL:
        return "partial";
    case MIG_EUSAGE:
        return "usage";
    case MIG_ECONFIG:
        return "config";
    case MIG_EREVFILE:
        return "revision file";
    case MIG_ETARGET:
        return "target";
    case MIG_EDRIVER:
        return "driver";
    case MIG_ECHECK:
        return "check";
    case MIG_ELOCK:
        return "lock";
    default:
        return "failed";
    }
}

json_t *cli_json_doc(const cli *c)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "schema_version", json_integer(CLI_JSON_SCHEMA_VERSION));
    if (c->cmd)
        json_object_set_new(doc, "command", json_string(c->cmd->name));
    return doc;
}

/* The same fields for every error, whoever raised it: scripts need not guess. */
void cli_json_error(cli *c, int rc)
{
    cli_error_view v;
    cli_error_get(c, rc, &v);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(cli_error_name(rc)));
    json_object_set_new(e, "exit", json_integer(mig_exit_status(rc)));
    json_object_set_new(e, "message", cli_json_str(v.message));
    json_object_set_new(e, "detail", cli_json_str(v.detail));
    json_object_set_new(e, "hint", cli_json_str(v.hint));
    json_object_set_new(e, "file", cli_json_str(v.file));
    json_object_set_new(e, "line", json_integer(v.line));
    if (c->doc == NULL)
        c->doc = cli_json_doc(c);
    json_object_set_new(c->doc, "error", e);
}

int cli_json_print(cli *c)
{
    if (c->doc == NULL)
        c->doc = cli_json_doc(c);
    if (json_dumpf(c->doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) != 0)
        return MIG_EFAIL;
    fputc('\n', stdout);
    return 0;
}
