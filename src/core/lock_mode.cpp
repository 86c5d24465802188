#include "core/lock_mode.hpp"

#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace lockguard {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Upper-cased, trimmed, every run of whitespace collapsed to one space. ASCII only on purpose:
// lock-mode names are ASCII and the result must not depend on the server's locale.
std::string normalize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (char c : text) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(to_upper(c));
    }
    return out;
}

}  // namespace

std::string shown_in_message(std::string_view text) {
    constexpr size_t kMaxShown = 64;
    if (text.size() <= kMaxShown) return std::string(text);
    // Never cut a UTF-8 character in half: step back over continuation bytes (10xxxxxx).
    size_t cut = kMaxShown;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut--;
    return std::string(text.substr(0, cut)) + "...";
}

namespace {

// Echoes the user's input in the message, but not a whole paragraph of it.
std::string shown(std::string_view text) { return shown_in_message(text); }

[[noreturn]] void throw_invalid_mode(std::string_view text, Scope scope, const char *valid) {
    throw Error(sqlstate::kInvalidParameterValue,
                "invalid lock mode \"" + shown(text) + "\" for " + scope_name(scope) + " scope", {},
                std::string("Valid modes are: ") + valid + ".");
}

struct TableModeInfo {
    TableLockMode mode;
    const char *name;      // LOCK TABLE spelling
    const char *pg_locks;  // pg_locks.mode spelling
};

constexpr TableModeInfo kTableModes[] = {
    {TableLockMode::AccessShare, "ACCESS SHARE", "AccessShareLock"},
    {TableLockMode::RowShare, "ROW SHARE", "RowShareLock"},
    {TableLockMode::RowExclusive, "ROW EXCLUSIVE", "RowExclusiveLock"},
    {TableLockMode::ShareUpdateExclusive, "SHARE UPDATE EXCLUSIVE", "ShareUpdateExclusiveLock"},
    {TableLockMode::Share, "SHARE", "ShareLock"},
    {TableLockMode::ShareRowExclusive, "SHARE ROW EXCLUSIVE", "ShareRowExclusiveLock"},
    {TableLockMode::Exclusive, "EXCLUSIVE", "ExclusiveLock"},
    {TableLockMode::AccessExclusive, "ACCESS EXCLUSIVE", "AccessExclusiveLock"},
};

constexpr const char *kValidTableModes =
    "ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE, SHARE UPDATE EXCLUSIVE, SHARE, SHARE ROW EXCLUSIVE, "
    "EXCLUSIVE, ACCESS EXCLUSIVE";

// Conflict sets as bitmasks over LOCKMODE numbers (bit m = conflicts with mode m), as in
// PostgreSQL's lock.c LockConflicts[].
constexpr uint32_t bit(TableLockMode m) { return 1u << static_cast<int>(m); }

constexpr uint32_t table_conflict_set(TableLockMode mode) {
    using M = TableLockMode;
    switch (mode) {
        case M::AccessShare:
            return bit(M::AccessExclusive);
        case M::RowShare:
            return bit(M::Exclusive) | bit(M::AccessExclusive);
        case M::RowExclusive:
            return bit(M::Share) | bit(M::ShareRowExclusive) | bit(M::Exclusive) | bit(M::AccessExclusive);
        case M::ShareUpdateExclusive:
            return bit(M::ShareUpdateExclusive) | bit(M::Share) | bit(M::ShareRowExclusive) | bit(M::Exclusive) |
                   bit(M::AccessExclusive);
        case M::Share:
            return bit(M::RowExclusive) | bit(M::ShareUpdateExclusive) | bit(M::ShareRowExclusive) |
                   bit(M::Exclusive) | bit(M::AccessExclusive);
        case M::ShareRowExclusive:
            return bit(M::RowExclusive) | bit(M::ShareUpdateExclusive) | bit(M::Share) | bit(M::ShareRowExclusive) |
                   bit(M::Exclusive) | bit(M::AccessExclusive);
        case M::Exclusive:
            return bit(M::RowShare) | bit(M::RowExclusive) | bit(M::ShareUpdateExclusive) | bit(M::Share) |
                   bit(M::ShareRowExclusive) | bit(M::Exclusive) | bit(M::AccessExclusive);
        case M::AccessExclusive:
            return bit(M::AccessShare) | bit(M::RowShare) | bit(M::RowExclusive) | bit(M::ShareUpdateExclusive) |
                   bit(M::Share) | bit(M::ShareRowExclusive) | bit(M::Exclusive) | bit(M::AccessExclusive);
    }
    return 0;
}

struct RowStrengthInfo {
    RowLockStrength mode;
    const char *name;  // canonical, with "FOR "
};

constexpr RowStrengthInfo kRowStrengths[] = {
    {RowLockStrength::KeyShare, "FOR KEY SHARE"},
    {RowLockStrength::Share, "FOR SHARE"},
    {RowLockStrength::NoKeyUpdate, "FOR NO KEY UPDATE"},
    {RowLockStrength::Update, "FOR UPDATE"},
};

constexpr const char *kValidRowStrengths = "FOR KEY SHARE, FOR SHARE, FOR NO KEY UPDATE, FOR UPDATE";

constexpr uint32_t bit(RowLockStrength s) { return 1u << static_cast<int>(s); }

// PostgreSQL docs, "Conflicting Row-Level Locks".
constexpr uint32_t row_conflict_set(RowLockStrength strength) {
    using S = RowLockStrength;
    switch (strength) {
        case S::KeyShare:
            return bit(S::Update);
        case S::Share:
            return bit(S::NoKeyUpdate) | bit(S::Update);
        case S::NoKeyUpdate:
            return bit(S::Share) | bit(S::NoKeyUpdate) | bit(S::Update);
        case S::Update:
            return bit(S::KeyShare) | bit(S::Share) | bit(S::NoKeyUpdate) | bit(S::Update);
    }
    return 0;
}

constexpr const char *kValidNamedModes = "exclusive, shared (or share)";

int popcount(uint32_t x) {
    int n = 0;
    for (; x != 0; x &= x - 1) n++;
    return n;
}

// The mode whose conflict set is the smallest superset of `wanted`. Every superset family of
// these tables has a unique smallest member (checked for every pair by the unit tests).
template <typename Mode, size_t N, typename Info, typename ConflictSet>
Mode weakest_covering(const Info (&modes)[N], uint32_t wanted, ConflictSet conflict_set) {
    Mode best = modes[N - 1].mode;  // the strongest mode conflicts with everything
    int best_size = popcount(conflict_set(best));
    for (const auto &info : modes) {
        uint32_t set = conflict_set(info.mode);
        if ((set & wanted) == wanted && popcount(set) < best_size) {
            best = info.mode;
            best_size = popcount(set);
        }
    }
    return best;
}

}  // namespace

const char *scope_name(Scope scope) {
    switch (scope) {
        case Scope::Named:
            return "named";
        case Scope::Row:
            return "row";
        case Scope::Table:
            return "table";
    }
    return "unknown";
}

Scope parse_scope(std::string_view text) {
    std::string norm = normalize(text);
    if (norm == "NAMED") return Scope::Named;
    if (norm == "ROW") return Scope::Row;
    if (norm == "TABLE") return Scope::Table;
    throw Error(sqlstate::kInvalidParameterValue, "invalid lock scope \"" + shown(text) + "\"", {},
                "Valid scopes are: named, row, table.");
}

TableLockMode parse_table_lock_mode(std::string_view text) {
    std::string norm = normalize(text);
    // LOCK TABLE ... IN <mode> MODE: accept the trailing MODE keyword as well.
    constexpr std::string_view kModeSuffix = " MODE";
    if (norm.size() > kModeSuffix.size() && std::string_view(norm).substr(norm.size() - kModeSuffix.size()) == kModeSuffix)
        norm.resize(norm.size() - kModeSuffix.size());
    for (const auto &info : kTableModes) {
        if (norm == info.name || norm == normalize(info.pg_locks)) return info.mode;
    }
    throw_invalid_mode(text, Scope::Table, kValidTableModes);
}

RowLockStrength parse_row_lock_strength(std::string_view text) {
    for (const auto &info : kRowStrengths) {
        if (text == info.name) return info.mode;  // the canonical spelling (the default): no copy
    }
    std::string norm = normalize(text);
    std::string_view bare = norm;
    constexpr std::string_view kFor = "FOR ";
    if (bare.substr(0, kFor.size()) == kFor) bare.remove_prefix(kFor.size());
    for (const auto &info : kRowStrengths) {
        if (bare == std::string_view(info.name).substr(kFor.size())) return info.mode;
    }
    throw_invalid_mode(text, Scope::Row, kValidRowStrengths);
}

NamedLockMode parse_named_lock_mode(std::string_view text) {
    std::string norm = normalize(text);
    if (norm == "EXCLUSIVE") return NamedLockMode::Exclusive;
    if (norm == "SHARED" || norm == "SHARE") return NamedLockMode::Shared;
    throw_invalid_mode(text, Scope::Named, kValidNamedModes);
}

const char *table_lock_mode_name(TableLockMode mode) {
    for (const auto &info : kTableModes) {
        if (info.mode == mode) return info.name;
    }
    return "unknown";
}

const char *row_lock_strength_name(RowLockStrength strength) {
    for (const auto &info : kRowStrengths) {
        if (info.mode == strength) return info.name;
    }
    return "unknown";
}

const char *named_lock_mode_name(NamedLockMode mode) {
    switch (mode) {
        case NamedLockMode::Shared:
            return "shared";
        case NamedLockMode::Exclusive:
            return "exclusive";
    }
    return "unknown";
}

bool table_mode_conflicts(TableLockMode a, TableLockMode b) { return (table_conflict_set(a) & bit(b)) != 0; }

bool row_strength_conflicts(RowLockStrength a, RowLockStrength b) { return (row_conflict_set(a) & bit(b)) != 0; }

bool named_mode_conflicts(NamedLockMode a, NamedLockMode b) {
    return a == NamedLockMode::Exclusive || b == NamedLockMode::Exclusive;
}

TableLockMode stronger_table_mode(TableLockMode a, TableLockMode b) {
    return weakest_covering<TableLockMode>(kTableModes, table_conflict_set(a) | table_conflict_set(b),
                                           table_conflict_set);
}

RowLockStrength stronger_row_strength(RowLockStrength a, RowLockStrength b) {
    return weakest_covering<RowLockStrength>(kRowStrengths, row_conflict_set(a) | row_conflict_set(b),
                                             row_conflict_set);
}

NamedLockMode stronger_named_mode(NamedLockMode a, NamedLockMode b) {
    return (a == NamedLockMode::Exclusive || b == NamedLockMode::Exclusive) ? NamedLockMode::Exclusive
                                                                             : NamedLockMode::Shared;
}

const char *indefinite_article(std::string_view mode_name) {
    if (mode_name.empty()) return "a";
    switch (mode_name.front()) {
        case 'A': case 'E': case 'I': case 'O': case 'U':
        case 'a': case 'e': case 'i': case 'o': case 'u':
            return "an";
        default:
            return "a";
    }
}

}  // namespace lockguard
