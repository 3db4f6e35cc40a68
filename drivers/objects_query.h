/*
 * For a driver's introspect_objects slot (mig test): run one query whose
 * rows are (kind, table, name, definition) and hand each row to fn. The
 * query goes through the driver's own table, so the helper needs nothing
 * of the driver's insides. Included by each driver; static on purpose.
 */
#ifndef MIG_DRIVERS_OBJECTS_QUERY_H
#define MIG_DRIVERS_OBJECTS_QUERY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig/driver.h"

const mig_driver *mig_driver_entry(void);

/* A fetched value as a NUL-terminated copy (NULL for SQL NULL); *oom on failure. */
static char *objects_text(const mig_value *v, int *oom)
{
    char *s;
    if (v->type != MIG_VAL_TEXT && v->type != MIG_VAL_BLOB)
        return NULL;
    s = malloc(v->u.s.len + 1);
    if (s == NULL) {
        *oom = 1;
        return NULL;
    }
    if (v->u.s.len)
        memcpy(s, v->u.s.ptr, v->u.s.len);
    s[v->u.s.len] = '\0';
    return s;
}

static int objects_query(mig_conn *conn, const char *sql, mig_object_fn fn, void *payload,
                         mig_drv_error *err)
{
    const mig_driver *d = mig_driver_entry();
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int rc = d->query(&cur, conn, sql, NULL, 0, err);

    while (rc == MIG_DRV_OK && (rc = d->fetch(cur, &row, err)) == MIG_DRV_OK && row != NULL &&
           row->ncols >= 4) {
        char *f[4];
        int oom = 0, i;
        for (i = 0; i < 4; i++)
            f[i] = objects_text(&row->values[i], &oom);
        if (oom || f[0] == NULL || f[2] == NULL) {
            snprintf(err->message, sizeof err->message, "%s",
                     oom ? "out of memory" : "object without a kind or name");
            rc = MIG_DRV_ERROR;
        } else {
            rc = fn(payload, f[0], f[1], f[2], f[3]);
        }
        for (i = 0; i < 4; i++)
            free(f[i]);
    }
    if (cur != NULL)
        d->cursor_close(cur);
    return rc;
}

#endif
