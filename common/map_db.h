/*
 * map_db.h - hash: and btree: tables on Berkeley DB 5.3, in the file
 * format Postfix's postmap/postalias write (NAME.db).
 *
 * Open flags (map.h):
 * - No MAP_F_TRY0NULL/MAP_F_TRY1NULL given: a reader's defaults,
 *   TRY0NULL|TRY1NULL|FOLD.  Lookups then try the key with and without
 *   a trailing NUL and keep to whichever matched first.
 * - Updates with both TRY flags store keys and values with the NUL
 *   (what postmap does on Linux); with one flag, that form.
 * - No MAP_F_DUP_* given: MAP_F_DUP_WARN.
 * - MAP_F_CREATE: the table is built in a temporary file beside NAME.db;
 *   map_sync() commits it (flush, fsync, rename over NAME.db, fsync the
 *   directory).  map_close() without a successful map_sync() removes the
 *   temporary file and leaves any existing NAME.db untouched.  The new
 *   file gets the group/other read bits of the source file NAME (0644
 *   when there is none).
 * - MAP_F_WRITE without MAP_F_CREATE: NAME.db is updated in place (and
 *   created if missing) under an exclusive flock(2), as postmap -i/-d do.
 */
#ifndef POSTERN_MAP_DB_H
#define POSTERN_MAP_DB_H

#include "map.h"

extern const struct map_ops map_hash_ops;
extern const struct map_ops map_btree_ops;

#endif
