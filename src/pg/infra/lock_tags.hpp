// lockguard's lock tags: advisory tags in key spaces of its own.
//
// SQL-level advisory locks use field4 = 1 (one bigint key) or 2 (two int keys), so lockguard's
// field4 values never meet an application's pg_advisory_lock keys. Advisory tags never take the
// lock manager's fast path, so every holder and waiter is in the shared lock table, where the
// deadlock detector, pg_locks and pg_blocking_pids see it (pg_locks.objsubid = the space).
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

enum class LockSpace : uint16 {
    Named = 0x4C47,      // 19527: a named resource; key = hash of the name
    Row = 0x4C48,        // 19528: the queue in front of one row; key = hash of (relation, key)
    TableGate = 0x4C49,  // 19529: the queue in front of a table lock; key = relation OID
};

enum class LockScope : uint8 { Named = 0, Row = 1, Table = 2 };

// One lockguard lock: which tag, in which mode.
struct LockRef {
    Oid database;
    uint32 key_high;
    uint32 key_low;
    LockSpace space;
    LOCKMODE mode;

    [[nodiscard]] bool same_tag(const LockRef &other) const {
        return database == other.database && key_high == other.key_high && key_low == other.key_low &&
               space == other.space;
    }
};

inline void make_lock_tag(LOCKTAG *tag, const LockRef &ref) {
    SET_LOCKTAG_ADVISORY(*tag, ref.database, ref.key_high, ref.key_low, static_cast<uint16>(ref.space));
}

inline const char *scope_name(LockScope scope) {
    switch (scope) {
        case LockScope::Named: return "named";
        case LockScope::Row: return "row";
        case LockScope::Table: return "table";
    }
    return "unknown";
}

}  // namespace lockguard::pg
