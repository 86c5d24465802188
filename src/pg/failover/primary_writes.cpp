#include "pg/failover/primary_writes.hpp"

extern "C" {
#include "access/xlog.h"
#include "executor/spi.h"
#include "tcop/utility.h"
}

namespace lockguard::pg {

// Writes that must happen on the primary: say so plainly on a standby (25006, as PostgreSQL
// does for any write there), and refuse in a read-only transaction on the primary too.
void require_writable_primary(const char *function_name) {
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("cannot execute %s on a standby server", function_name),
                        errdetail("Fencing tokens and run-once operations are written on the primary only."),
                        errhint("Connect to the primary, for example with target_session_attrs=read-write in a "
                                "multi-host connection string.")));
    PreventCommandIfReadOnly(function_name);
}

void connect_spi() {
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard could not connect to SPI")));
}

// Runs one statement with text/bigint/jsonb parameters; raises XX000 on an unexpected SPI code
// (errors in the statement itself are raised by PostgreSQL with their own SQLSTATE).
void run_statement(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expected) {
    int code = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
    if (code != expected)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard internal error: statement failed"),
                        errdetail("SPI returned %d for: %s", code, sql)));
}

int64 int64_column(int column, bool *isnull) {
    return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, isnull));
}

}  // namespace lockguard::pg
