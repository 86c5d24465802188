// The names people see for row and table resources: in lockguard.locks, in errors, in the audit
// log and in wait_stats. A table is named as PostgreSQL quotes a qualified name (public.accounts,
// "Billing".accounts), so that tables of the same name in different schemas never share a name;
// a row is its table's name followed by its primary-key values: public.accounts(1),
// "Billing".accounts(1, EUR). Every such name comes from format_resource_label().
#pragma once

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "lib/stringinfo.h"
}

namespace lockguard::pg {

// Appends the name of table `relname` in schema `schema` to `out`; with key_count > 0, the name
// of its row with those key values (their output text), in order.
void format_resource_label(StringInfo out, Oid schema, const char *relname, const char *const *key_texts,
                           int key_count);

// Appends a row's key values to its table's name: "(1, EUR)".
void append_row_key(StringInfo out, const char *const *key_texts, int key_count);

// The table's name, as above, copied into `out` (`size` bytes, clipped at a character boundary).
// An empty string if the relation no longer exists.
void table_label(Oid relation, char *out, size_t size);

}  // namespace lockguard::pg
