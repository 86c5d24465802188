// The row lock without a query, for the common table. The row is found through the primary
// key's index and locked with table_tuple_lock, as the executor's LockRows node does for
// SELECT ... FOR UPDATE: the same snapshot, lock flags and answer to each outcome, and the
// re-check of a newer version under READ COMMITTED. A hot row then pays no plan-cache check,
// no executor start and end and no SPI connection (docs/bench/notes.md has the profile).
// Tables where the query does more (row-level security, partitions, inheritance children)
// keep the query (row_lock.cpp).
#pragma once

#include "pg/acquire/scoped_lock.hpp"

extern "C" {
#include "storage/itemptr.h"
#include "utils/relcache.h"
}

namespace lockguard::pg {

// Whether the request's table can be locked this way: an ordinary table with a primary key,
// without inheritance children, where no row-level security policy applies to the user.
bool row_tuple_lock_applies(const RowTableInfo *table, bool has_children);

// Takes the row lock (after the gate and the relation locks) within the request's deadline.
// Returns whether the row exists, and after a concurrent update still has the key.
bool lock_row_tuple(ScopedRequest *request, const RowTableInfo *table);

// Who holds a lock on the row version at `tid` (read from the tuple header, as pgrowlocks
// does): "PID 12, a prepared transaction, which locked the row without lockguard", or a
// general phrase when nobody can be named.
char *describe_row_holders_at(Relation relation, ItemPointer tid);

extern const char *const kRowHolder;

}  // namespace lockguard::pg
