// Lock requests of every scope, resolved and checked before anything is taken:
//   named: a resource name;
//   row:   one row of a table by primary key, in one of the four row-lock strengths;
//   table: one of the eight table lock modes.
// Row and table locks queue on a lockguard gate tag first (where priority applies and the
// deadlock detector sees the wait) and take the real row or table lock when at the head, all
// within one timeout.
#pragma once

#include "core/lock_mode.hpp"
#include "pg/acquire/lock_wait.hpp"
#include "pg/acquire/row_table_cache.hpp"

namespace lockguard::pg {


struct ScopedRequest {
    LockRequest gate;  // the lockguard lock; gate.lock.scope says which scope
    Oid relation;      // row and table scopes
    const RowTableInfo *table;  // row scope: the table's entry as resolve_row found it (see lock_row)
    RowLockStrength strength;
    TableLockMode table_mode;
    int key_count;                       // row scope: primary-key columns
    Oid key_types[kMaxKeyColumns];       // their types
    Datum key_values[kMaxKeyColumns];    // the key, converted to those types
    bool phase_waited;                   // a lock besides the gate had to wait: a row's table
                                         // (before it), the row or the table (behind it)
};

// Resolvers raise on bad input (unknown relation, no primary key, wrong key, bad mode,
// missing privilege) before any lock is taken, but for resolve_row's ROW SHARE lock on the table
// and its indexes, which it needs to read the primary key (a locking SELECT holds it from
// parsing on, before its privileges are checked); it is waited for within `deadline`. The request
// keeps a pointer to `deadline`, which must outlive it.
void resolve_named(ScopedRequest *request, std::string_view name, const char *mode, int32 priority,
                   const Deadline *deadline);
void resolve_row(ScopedRequest *request, Oid relation, const char *const *key_texts, int key_count,
                 const char *mode, int32 priority, const Deadline *deadline);
void resolve_table(ScopedRequest *request, Oid relation, const char *mode, int32 priority,
                   const Deadline *deadline);

// Change the mode of a resolved request (multi-acquire collapses duplicates this way).
void set_named_mode(ScopedRequest *request, NamedLockMode mode);
void set_row_strength(ScopedRequest *request, RowLockStrength strength);
void set_table_mode(ScopedRequest *request, TableLockMode mode);

// Takes the lock within what is left of the request's deadline. Returns false only for a
// row that does not exist (nothing is left locked but the row's gate, like SELECT ... FOR
// UPDATE finding no row).
bool acquire_scoped(ScopedRequest *request);

// The second phase of row and table scopes, once the gate is held, within the same deadline.
bool lock_row(ScopedRequest *request);
void lock_table(ScopedRequest *request);

// A key given as text values (the text overloads of the SQL functions: an untyped parameter
// resolves to text, a composite key to text[]). Raises on null or too many values.
int key_texts_from_text(FunctionCallInfo fcinfo, int argno, const char **texts, int capacity);

// A key given as SQL "any" (a scalar, or a row value for a composite key) as text values.
int key_texts_from_any(FunctionCallInfo fcinfo, int argno, const char **texts, int capacity);

// The key argument of a row function, whichever form it was declared with: "any" (a typed
// scalar, or a row value for a composite key), text (an untyped parameter or literal resolves
// to it) or text[] (a composite key as text values).
int key_texts_from_argument(FunctionCallInfo fcinfo, int argno, const char **texts, int capacity);

}  // namespace lockguard::pg
