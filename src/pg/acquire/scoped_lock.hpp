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

// A row's key as a call gave it: its values as text, or one value of another type, kept as it
// came until resolve_row knows the key's columns. A value of the key column's own type is then
// the key as it is (no text round trip on every call); any other is made text and read as the
// column's type, as a text key is.
struct RowKeyInput {
    int count;                          // values in `texts` (0 while typed_type is set)
    const char *texts[kMaxKeyColumns];
    Oid typed_type;                     // InvalidOid, or the type of typed_value
    Datum typed_value;
};

// Resolvers raise on bad input (unknown relation, no primary key, wrong key, bad mode,
// missing privilege) before any lock is taken, but for resolve_row's ROW SHARE lock on the table
// and its indexes, which it needs to read the primary key (a locking SELECT holds it from
// parsing on, before its privileges are checked); it is waited for within `deadline`. The request
// keeps a pointer to `deadline`, which must outlive it.
void resolve_named(ScopedRequest *request, std::string_view name, const char *mode, int32 priority,
                   const Deadline *deadline);
void resolve_row(ScopedRequest *request, Oid relation, RowKeyInput *key, const char *mode, int32 priority,
                 const Deadline *deadline);
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

// The key argument of a row function, whichever form it was declared with: text (an untyped
// parameter or literal resolves to it) or text[] (a composite key as text values) as text
// values; "any" (a typed scalar, or a row value for a composite key) as the value given, made
// text only where resolve_row needs it (key_input_as_texts). Raises on null or too many values.
RowKeyInput row_key_argument(FunctionCallInfo fcinfo, int argno);

// A key given as a typed value, made text values: a scalar's output, or a row value's fields
// (a composite key). Raises on a null field or too many. Nothing to do for a key given as text.
void key_input_as_texts(RowKeyInput *key);

}  // namespace lockguard::pg
