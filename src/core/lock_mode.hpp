// Lock modes a user names, for the three scopes lockguard locks: named resources, rows, tables.
//
// Parsing is forgiving about spelling (case, surrounding whitespace, runs of spaces, the
// LOCK TABLE and pg_locks forms) and strict about meaning: anything else is an error that lists
// the valid names. "Stronger of two modes" is derived from PostgreSQL's conflict tables, not from
// the numeric order, because the modes are only partially ordered (ROW EXCLUSIVE and SHARE each
// conflict with something the other does not).
#pragma once

#include <string>
#include <string_view>

namespace lockguard {

enum class Scope { Named, Row, Table };

// Values equal PostgreSQL's LOCKMODE numbers (lockdefs.h), so the glue can cast.
enum class TableLockMode {
    AccessShare = 1,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive
};

// The four row-level lock strengths, weakest first (PostgreSQL's LockTupleMode order).
enum class RowLockStrength { KeyShare, Share, NoKeyUpdate, Update };

enum class NamedLockMode { Shared, Exclusive };

// "named", "row", "table".
const char *scope_name(Scope scope);

// The caller's text as an error message echoes it: whole up to 64 bytes, else cut there (never
// inside a UTF-8 character) and followed by "...".
std::string shown_in_message(std::string_view text);
// Accepts the names above, case-insensitively; throws Error 22023 otherwise.
Scope parse_scope(std::string_view text);

// Accepts "ACCESS SHARE", "access share mode", "AccessShareLock", ... (all eight modes).
// Throws Error 22023 with the valid names in the hint.
TableLockMode parse_table_lock_mode(std::string_view text);
// Accepts "FOR UPDATE", "for no key update", "FOR SHARE", "FOR KEY SHARE", with or without "FOR".
RowLockStrength parse_row_lock_strength(std::string_view text);
// Accepts "exclusive", "shared" and "share".
NamedLockMode parse_named_lock_mode(std::string_view text);

// Canonical names: "ACCESS SHARE" (LOCK TABLE spelling, without MODE), "FOR UPDATE",
// "exclusive"/"shared". Never null; an out-of-range value gives "unknown".
const char *table_lock_mode_name(TableLockMode mode);
const char *row_lock_strength_name(RowLockStrength strength);
const char *named_lock_mode_name(NamedLockMode mode);

// "a" or "an" for a mode name in a sentence ("an ACCESS EXCLUSIVE lock", "a SHARE lock", "a FOR
// UPDATE lock"): "an" before a vowel.
const char *indefinite_article(std::string_view mode_name);

// PostgreSQL's table-level conflict table ("Conflicting Lock Modes"). Symmetric.
bool table_mode_conflicts(TableLockMode a, TableLockMode b);
// "Conflicting Row-Level Locks". Symmetric.
bool row_strength_conflicts(RowLockStrength a, RowLockStrength b);
// Shared conflicts with exclusive; exclusive with both.
bool named_mode_conflicts(NamedLockMode a, NamedLockMode b);

// The weakest mode that conflicts with every mode a or b conflicts with: what holding both
// amounts to, so duplicates in one multi-acquire collapse to a single lock. For example
// ROW EXCLUSIVE + SHARE = SHARE ROW EXCLUSIVE.
TableLockMode stronger_table_mode(TableLockMode a, TableLockMode b);
RowLockStrength stronger_row_strength(RowLockStrength a, RowLockStrength b);
NamedLockMode stronger_named_mode(NamedLockMode a, NamedLockMode b);

}  // namespace lockguard
