/*
 * Revision files: <rev>_<slug>.sql and <rev>_<slug>.lua in versions/.
 *
 * The header (`-- mig:KEY value` lines at the top) is all the graph needs,
 * so listing, heads and history read only the first bytes of each file and
 * never run Lua. The body (sections, checksum) is read when a revision is
 * about to run or be checked.
 */
#ifndef MIG_REVFILE_H
#define MIG_REVFILE_H

#include <stddef.h>

#include "buf.h"

typedef struct mig_ctx mig_ctx;

/* `-- mig:retries` and [mig] lock_retries: more would hold a lock queue for minutes, a typo not a plan */
#define MIG_RETRIES_MAX 100

/*
 * Length of the valid UTF-8 prefix of s[0..n): n when all of it is valid.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid.
 */
size_t mig_utf8_valid_prefix(const unsigned char *s, size_t n);

/*
 * A revision's list (down_revision, branch_labels, depends_on): n owned
 * strings in a NULL-terminated array. No room is kept to grow, as a
 * mig_strvec keeps: a list is built once, and the graph holds three for
 * every revision file.
 */
typedef struct mig_revlist {
    char **v;
    size_t n;
} mig_revlist;

/* Append s (taken, freed on failure): 0, or -1 when out of memory. */
int mig_revlist_push_owned(mig_revlist *l, char *s);
/* Items in v, a NULL-terminated list or NULL. */
size_t mig_strs_count(char *const *v);

typedef struct mig_rev {
    char *id;
    char *path;        /* versions_dir "/" filename */
    char *message;     /* "" when absent */
    char *create_date; /* "" when absent */
    mig_revlist down;  /* down_revision ids (empty: a base) */
    /*
     * branch_labels, and depends_on (ids, prefixes or labels as written):
     * NULL-terminated, or NULL when the header names none. Most revisions
     * have neither, so they keep no count (mig_strs_count).
     */
    char **labels;
    char **depends;
    /*
     * The database's own limits while it runs, and its retries on a lock
     * timeout (at most MIG_RETRIES_MAX); -1: not given. An int holds
     * MIG_DURATION_MAX_MS.
     */
    int lock_timeout_ms;
    int statement_timeout_ms;
    int header_lines; /* lines taken by the header */
    int down_line;    /* line of "-- mig:down_revision", 0 if none (for path:LINE) */
    int depends_line; /* line of "-- mig:depends_on", 0 if none */
    /* bytes, widest fields first: the graph holds one mig_rev per revision file */
    signed char retries;
    unsigned char is_lua;
    unsigned char transactional; /* 0 with "-- mig:transaction false" */
    unsigned char contract;      /* 1 with "-- mig:phase contract" (default: expand) */
} mig_rev;

/*
 * Parse the header of a revision file held in data[0..len) (the whole file
 * or at least its beginning; truncated=1 when data is only a prefix).
 * Errors (MIG_EREVFILE, message "PATH:LINE: ..."): empty file, binary
 * (NUL byte) or invalid UTF-8 in the header, unknown mig: key, a key
 * without value, a bad id, a bad duration or retry count, no revision line, an id that does not match the
 * file name's prefix. Fills *out (release with mig_rev_release).
 */
int mig_revfile_parse_header(mig_rev *out, mig_ctx *ctx, const char *path, const char *data, size_t len,
                             int truncated);
/* Read the file's header from disk (only as much as needed). */
int mig_revfile_read_header(mig_rev *out, mig_ctx *ctx, const char *path, int is_lua);
void mig_rev_release(mig_rev *rev);

/* The whole file, split into sections, with its checksum. */
typedef struct mig_revbody {
    char *data; /* the file's bytes, NUL-terminated */
    size_t len;
    int has_upgrade; /* SQL: "-- mig:upgrade" present */
    size_t up_off, up_len;
    int up_line;       /* 1-based file line where the section text starts */
    int has_downgrade; /* SQL: "-- mig:downgrade" present; Lua: decided by the Lua module */
    size_t down_off, down_len;
    int down_line;
    char checksum[65]; /* hex SHA-256 of the file's bytes */
} mig_revbody;

/* Errors: MIG_EREVFILE (unreadable, binary, invalid UTF-8, duplicate section). */
int mig_revfile_load_body(mig_revbody *out, mig_ctx *ctx, const mig_rev *rev);
void mig_revbody_release(mig_revbody *body);

/* hex SHA-256 of data into out[65]. */
void mig_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * "contract" or "expand": the phase a revision declares, as the header,
 * `mig show` and the JSON revision object spell it. `mig upgrade --expand`
 * stops before contract revisions; lint may expect destructive steps
 * (DROP COLUMN ...) only in them.
 */
const char *mig_rev_phase(const mig_rev *rev);

/*
 * SHA-256 fed piece by piece, its hex read at any point without ending it
 * (the same as mig_sha256_hex of everything fed so far). NULL on out of
 * memory; every call takes NULL, and a failed hash reads as 64 '?'.
 */
typedef struct mig_sha256 mig_sha256;
mig_sha256 *mig_sha256_new(void);
void mig_sha256_feed(mig_sha256 *h, const void *data, size_t len);
void mig_sha256_peek_hex(const mig_sha256 *h, char out[65]);
void mig_sha256_free(mig_sha256 *h);

/* Is id a valid revision id ([A-Za-z0-9_]+, at most 64 chars)? */
int mig_rev_id_valid(const char *id);
/* Is s a valid branch label or depends_on name ([A-Za-z0-9_-]+, no leading '-', at most 64)? */
int mig_rev_name_valid(const char *s);

#endif
