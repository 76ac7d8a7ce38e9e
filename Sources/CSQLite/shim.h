#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro that Swift does not import. */
static inline sqlite3_destructor_type lb_sqlite_transient(void) { return SQLITE_TRANSIENT; }

static inline int lb_sqlite_busy_timeout(sqlite3 *db, int ms) { return sqlite3_busy_timeout(db, ms); }
