// What fencing tokens and run-once operations share: they write WAL-logged tables through SPI,
// on the primary only. Each raises a PostgreSQL error (C only: no C++ object in between).
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// 25006 on a standby or in a read-only transaction.
void require_writable_primary(const char *function_name);

void connect_spi();

// Runs one statement with text/bigint/jsonb parameters; raises XX000 on an unexpected SPI code.
void run_statement(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expected);

// Column `column` of the first row of the last SPI result, as int64.
int64 int64_column(int column, bool *isnull);

}  // namespace lockguard::pg
