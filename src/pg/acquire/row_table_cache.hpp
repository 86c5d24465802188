// What a row lock needs to know about its table, kept per backend so that a hot row costs no
// catalog work per call: the primary key's columns, their types' input, output and hash
// functions, and the names shown to people. An entry is dropped when the table's relcache
// entry is invalidated (ALTER TABLE, DROP, a new primary key, ...).
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
};

// The table's entry, built on a miss. The caller holds at least AccessShareLock on it, taken
// before this call (taking a lock processes pending invalidations).
const RowTableInfo *row_table_info(Oid relation);

}  // namespace lockguard::pg
