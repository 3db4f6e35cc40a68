/*
 * mig test: views and triggers, as SQLite keeps their CREATE text. Check
 * constraints live inside a table's CREATE TABLE text, which a rebuild
 * rewrites, so they are not read (and the kinds say so).
 */
#include "../objects_query.h"

int sq_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err);

int sq_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err)
{
    *kinds = "view,trigger";
    return objects_query(conn,
                         "SELECT type, CASE WHEN type = 'trigger' THEN tbl_name END, name, sql "
                         "FROM sqlite_master WHERE type IN ('view', 'trigger')",
                         fn, payload, err);
}
