// What a row lock needs to know about its table, kept per backend so that a hot row costs no
// catalog work per call: the primary key's columns, their types' input, output and hash
// functions, the names shown to people, and two flags of its pg_class row. An entry is dropped
// when the table's relcache entry is invalidated (ALTER TABLE, DROP, a new primary key, ...).
// PostgreSQL sends that invalidation with every change of the table's pg_class row (inval.c: an
// update of a pg_class tuple also invalidates its table's relcache entry), together with the
// catalog cache's invalidation of the row (at commit; in the changing transaction itself at the
// next command-counter increment, and again at its rollback): an entry's flags are forgotten
// when has_subclass() and check_enable_rls(), which read the catalog cache's copy of the row,
// would read a new one.
#pragma once

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "access/attnum.h"
}

namespace lockguard::pg {

constexpr int kMaxKeyColumns = 32;  // INDEX_MAX_KEYS

struct RowTableInfo {
    Oid relation;
    char relkind;
    char relname[NAMEDATALEN];
    Oid relnamespace;
    char table_name[2 * (2 * NAMEDATALEN + 2) + 2];  // quoted and qualified (resource_names.hpp)
    char resource_class[64];  // the same, clipped, for statistics
    int key_count;            // 0: the table has no primary key
    AttrNumber key_columns[kMaxKeyColumns];
    Oid key_types[kMaxKeyColumns];
    int32 key_typmods[kMaxKeyColumns];
    int16 key_typlens[kMaxKeyColumns];  // -1: varlena
    Oid key_collations[kMaxKeyColumns];
    Oid key_ioparams[kMaxKeyColumns];
    FmgrInfo key_input[kMaxKeyColumns];
    FmgrInfo key_output[kMaxKeyColumns];
    FmgrInfo *key_hash[kMaxKeyColumns];  // the type cache's extended hash, or nullptr
    // The primary key's index and, per column, its equality as the index compares it: the
    // procedure of the operator family's "=" and the index column's collation (the direct
    // row lock looks the row up and re-checks a newer version with them).
    Oid key_index;
    RegProcedure key_equality_proc[kMaxKeyColumns];
    FmgrInfo key_equality[kMaxKeyColumns];
    Oid key_index_collations[kMaxKeyColumns];
    // pg_class.relhassubclass, what has_subclass() answers: the table has (or had: DROP of the
    // last child leaves it set, ANALYZE clears it) inheritance children or partitions. A new
    // child or partition sets it through SetRelationHasSubclass(), which invalidates the table
    // even when the flag was set already; ANALYZE clears it through the same function, and a
    // table that becomes a partition by an update of its own row.
    bool has_subclass;
    // pg_class.relrowsecurity: row-level security is enabled on the table. Only the table's own
    // switch: whether policies apply depends on the user and row_security as well, which
    // check_enable_rls() answers per call (row_tuple_lock.cpp).
    bool row_security;
};

// The table's entry, built on a miss. The caller holds at least AccessShareLock on it, taken
// before this call (taking a lock processes pending invalidations).
const RowTableInfo *row_table_info(Oid relation);

}  // namespace lockguard::pg
