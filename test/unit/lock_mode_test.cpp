#include "core/lock_mode.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

using namespace lockguard;

namespace {

const std::vector<TableLockMode> kAllTableModes = {
    TableLockMode::AccessShare,          TableLockMode::RowShare, TableLockMode::RowExclusive,
    TableLockMode::ShareUpdateExclusive, TableLockMode::Share,    TableLockMode::ShareRowExclusive,
    TableLockMode::Exclusive,            TableLockMode::AccessExclusive};

const std::vector<RowLockStrength> kAllRowStrengths = {RowLockStrength::KeyShare, RowLockStrength::Share,
                                                       RowLockStrength::NoKeyUpdate, RowLockStrength::Update};

const std::vector<NamedLockMode> kAllNamedModes = {NamedLockMode::Shared, NamedLockMode::Exclusive};

// The error a parse raises, or a report with an empty sqlstate when it raised nothing.
template <typename Parse>
ErrorReport error_of(Parse parse) {
    try {
        parse();
    } catch (...) {
        return describe_exception(std::current_exception());
    }
    return {};
}

// PostgreSQL's documented table-level conflict matrix ("Conflicting Lock Modes"), written out
// independently of the implementation: rows and columns in LOCKMODE order 1..8.
// NOLINTBEGIN(modernize-use-bool-literals,readability-implicit-bool-conversion): 0/1 keeps the matrix readable
constexpr bool kPgTableConflicts[8][8] = {
    // AS  RS  RE  SUE  S  SRE  E  AE
    {0, 0, 0, 0, 0, 0, 0, 1},  // ACCESS SHARE
    {0, 0, 0, 0, 0, 0, 1, 1},  // ROW SHARE
    {0, 0, 0, 0, 1, 1, 1, 1},  // ROW EXCLUSIVE
    {0, 0, 0, 1, 1, 1, 1, 1},  // SHARE UPDATE EXCLUSIVE
    {0, 0, 1, 1, 0, 1, 1, 1},  // SHARE
    {0, 0, 1, 1, 1, 1, 1, 1},  // SHARE ROW EXCLUSIVE
    {0, 1, 1, 1, 1, 1, 1, 1},  // EXCLUSIVE
    {1, 1, 1, 1, 1, 1, 1, 1},  // ACCESS EXCLUSIVE
};

// "Conflicting Row-Level Locks": KEY SHARE, SHARE, NO KEY UPDATE, UPDATE.
constexpr bool kPgRowConflicts[4][4] = {
    {0, 0, 0, 1},
    {0, 0, 1, 1},
    {0, 1, 1, 1},
    {1, 1, 1, 1},
};
// NOLINTEND(modernize-use-bool-literals,readability-implicit-bool-conversion): the two matrices above

}  // namespace

TEST(Scope, NamesRoundTrip) {
    for (Scope s : {Scope::Named, Scope::Row, Scope::Table}) EXPECT_EQ(parse_scope(scope_name(s)), s);
    EXPECT_EQ(parse_scope("  TABLE "), Scope::Table);
    auto report = error_of([] { parse_scope("column"); });
    EXPECT_EQ(report.sqlstate, "22023");
    EXPECT_EQ(report.message, "invalid lock scope \"column\"");
    EXPECT_EQ(report.hint, "Valid scopes are: named, row, table.");
}

TEST(TableLockMode, ValuesArePostgresLockModeNumbers) {
    EXPECT_EQ(static_cast<int>(TableLockMode::AccessShare), 1);
    EXPECT_EQ(static_cast<int>(TableLockMode::RowShare), 2);
    EXPECT_EQ(static_cast<int>(TableLockMode::RowExclusive), 3);
    EXPECT_EQ(static_cast<int>(TableLockMode::ShareUpdateExclusive), 4);
    EXPECT_EQ(static_cast<int>(TableLockMode::Share), 5);
    EXPECT_EQ(static_cast<int>(TableLockMode::ShareRowExclusive), 6);
    EXPECT_EQ(static_cast<int>(TableLockMode::Exclusive), 7);
    EXPECT_EQ(static_cast<int>(TableLockMode::AccessExclusive), 8);
}

TEST(TableLockMode, ParsesLockTableSpellingInAnyCase) {
    EXPECT_EQ(parse_table_lock_mode("ACCESS SHARE"), TableLockMode::AccessShare);
    EXPECT_EQ(parse_table_lock_mode("row share"), TableLockMode::RowShare);
    EXPECT_EQ(parse_table_lock_mode("Row Exclusive"), TableLockMode::RowExclusive);
    EXPECT_EQ(parse_table_lock_mode("SHARE UPDATE EXCLUSIVE"), TableLockMode::ShareUpdateExclusive);
    EXPECT_EQ(parse_table_lock_mode("share"), TableLockMode::Share);
    EXPECT_EQ(parse_table_lock_mode("share row exclusive"), TableLockMode::ShareRowExclusive);
    EXPECT_EQ(parse_table_lock_mode("EXCLUSIVE"), TableLockMode::Exclusive);
    EXPECT_EQ(parse_table_lock_mode("aCcEsS eXcLuSiVe"), TableLockMode::AccessExclusive);
}

TEST(TableLockMode, AcceptsTrailingModeKeyword) {
    EXPECT_EQ(parse_table_lock_mode("ACCESS SHARE MODE"), TableLockMode::AccessShare);
    EXPECT_EQ(parse_table_lock_mode("share mode"), TableLockMode::Share);
    EXPECT_EQ(parse_table_lock_mode("  share   row  exclusive \t mode  "), TableLockMode::ShareRowExclusive);
    // MODE alone, or twice, is not a mode.
    EXPECT_EQ(error_of([] { parse_table_lock_mode("MODE"); }).sqlstate, "22023");
    EXPECT_EQ(error_of([] { parse_table_lock_mode("SHARE MODE MODE"); }).sqlstate, "22023");
}

TEST(TableLockMode, ParsesPgLocksSpelling) {
    EXPECT_EQ(parse_table_lock_mode("AccessShareLock"), TableLockMode::AccessShare);
    EXPECT_EQ(parse_table_lock_mode("RowShareLock"), TableLockMode::RowShare);
    EXPECT_EQ(parse_table_lock_mode("RowExclusiveLock"), TableLockMode::RowExclusive);
    EXPECT_EQ(parse_table_lock_mode("ShareUpdateExclusiveLock"), TableLockMode::ShareUpdateExclusive);
    EXPECT_EQ(parse_table_lock_mode("ShareLock"), TableLockMode::Share);
    EXPECT_EQ(parse_table_lock_mode("ShareRowExclusiveLock"), TableLockMode::ShareRowExclusive);
    EXPECT_EQ(parse_table_lock_mode("ExclusiveLock"), TableLockMode::Exclusive);
    EXPECT_EQ(parse_table_lock_mode(" accessexclusivelock "), TableLockMode::AccessExclusive);
}

TEST(TableLockMode, ToleratesWhitespaceRunsAndTabs) {
    EXPECT_EQ(parse_table_lock_mode("\t ROW    EXCLUSIVE\n"), TableLockMode::RowExclusive);
    EXPECT_EQ(parse_table_lock_mode("share\tupdate\t\texclusive"), TableLockMode::ShareUpdateExclusive);
}

TEST(TableLockMode, RejectsNearMissesWithHint) {
    for (const char *bad : {"", "   ", "ACCESSSHARE", "ACCESS_SHARE", "ROW", "SHARE EXCLUSIVE", "AccessShare",
                            "ACCESS SHARE LOCK", "FOR UPDATE", "exclusive lock", "ACCESS SHARE;"}) {
        auto report = error_of([&] { parse_table_lock_mode(bad); });
        EXPECT_EQ(report.sqlstate, "22023") << "input: \"" << bad << "\"";
        EXPECT_EQ(report.message, std::string("invalid lock mode \"") + bad + "\" for table scope");
        EXPECT_EQ(report.hint,
                  "Valid modes are: ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE, SHARE UPDATE EXCLUSIVE, SHARE, "
                  "SHARE ROW EXCLUSIVE, EXCLUSIVE, ACCESS EXCLUSIVE.");
    }
}

TEST(TableLockMode, ErrorMessageShortensHugeInput) {
    std::string huge(10000, 'x');
    auto report = error_of([&] { parse_table_lock_mode(huge); });
    EXPECT_EQ(report.sqlstate, "22023");
    EXPECT_LT(report.message.size(), 200u);
    EXPECT_NE(report.message.find("..."), std::string::npos);
}

TEST(TableLockMode, CanonicalNamesRoundTrip) {
    for (TableLockMode m : kAllTableModes) {
        EXPECT_EQ(parse_table_lock_mode(table_lock_mode_name(m)), m);
        EXPECT_EQ(parse_table_lock_mode(std::string(table_lock_mode_name(m)) + " MODE"), m);
    }
    EXPECT_STREQ(table_lock_mode_name(TableLockMode::ShareUpdateExclusive), "SHARE UPDATE EXCLUSIVE");
    EXPECT_STREQ(table_lock_mode_name(static_cast<TableLockMode>(0)), "unknown");
}

TEST(TableLockMode, ConflictsMatchPostgresTable) {
    for (TableLockMode a : kAllTableModes) {
        for (TableLockMode b : kAllTableModes) {
            bool expected = kPgTableConflicts[static_cast<int>(a) - 1][static_cast<int>(b) - 1];
            EXPECT_EQ(table_mode_conflicts(a, b), expected)
                << table_lock_mode_name(a) << " vs " << table_lock_mode_name(b);
            EXPECT_EQ(table_mode_conflicts(a, b), table_mode_conflicts(b, a));
        }
    }
}

TEST(TableLockMode, StrongerOfIncomparableModesIsShareRowExclusive) {
    // ROW EXCLUSIVE and SHARE each conflict with something the other allows.
    EXPECT_FALSE(table_mode_conflicts(TableLockMode::RowExclusive, TableLockMode::RowExclusive));
    EXPECT_TRUE(table_mode_conflicts(TableLockMode::Share, TableLockMode::RowExclusive));
    EXPECT_FALSE(table_mode_conflicts(TableLockMode::Share, TableLockMode::Share));
    EXPECT_EQ(stronger_table_mode(TableLockMode::RowExclusive, TableLockMode::Share), TableLockMode::ShareRowExclusive);
    EXPECT_EQ(stronger_table_mode(TableLockMode::Share, TableLockMode::RowExclusive), TableLockMode::ShareRowExclusive);
    // SHARE UPDATE EXCLUSIVE + SHARE: neither covers the other either.
    EXPECT_EQ(stronger_table_mode(TableLockMode::ShareUpdateExclusive, TableLockMode::Share),
              TableLockMode::ShareRowExclusive);
    EXPECT_EQ(stronger_table_mode(TableLockMode::RowExclusive, TableLockMode::ShareUpdateExclusive),
              TableLockMode::ShareUpdateExclusive);
    EXPECT_EQ(stronger_table_mode(TableLockMode::AccessShare, TableLockMode::RowShare), TableLockMode::RowShare);
}

// For every pair, checked against the conflict matrix written in this file: the result conflicts
// with everything either input conflicts with, and no weaker mode does.
TEST(TableLockMode, StrongerOfEveryPairIsTheWeakestCoveringMode) {
    auto conflicts_of = [](TableLockMode m) {
        std::vector<bool> set;
        set.reserve(std::size(kAllTableModes));
        for (TableLockMode other : kAllTableModes)
            set.push_back(kPgTableConflicts[static_cast<int>(m) - 1][static_cast<int>(other) - 1]);
        return set;
    };
    auto covers = [](const std::vector<bool> &big, const std::vector<bool> &small) {
        for (size_t i = 0; i < big.size(); i++)
            if (small[i] && !big[i]) return false;
        return true;
    };
    for (TableLockMode a : kAllTableModes) {
        for (TableLockMode b : kAllTableModes) {
            TableLockMode s = stronger_table_mode(a, b);
            EXPECT_EQ(s, stronger_table_mode(b, a));
            auto sa = conflicts_of(a);
            auto sb = conflicts_of(b);
            auto ss = conflicts_of(s);
            EXPECT_TRUE(covers(ss, sa) && covers(ss, sb));
            // Every covering mode covers the result: the result is the unique weakest.
            for (TableLockMode c : kAllTableModes) {
                auto sc = conflicts_of(c);
                if (covers(sc, sa) && covers(sc, sb)) {
                    EXPECT_TRUE(covers(sc, ss)) << table_lock_mode_name(a) << " + " << table_lock_mode_name(b)
                                                << " gave " << table_lock_mode_name(s) << ", but "
                                                << table_lock_mode_name(c) << " is weaker";
                }
            }
        }
        EXPECT_EQ(stronger_table_mode(a, a), a);
        EXPECT_EQ(stronger_table_mode(a, TableLockMode::AccessExclusive), TableLockMode::AccessExclusive);
        EXPECT_EQ(stronger_table_mode(a, TableLockMode::AccessShare), a);
    }
}

TEST(TableLockMode, StrongerIsAssociativeSoDuplicatesCollapseInAnyOrder) {
    for (TableLockMode a : kAllTableModes)
        for (TableLockMode b : kAllTableModes)
            for (TableLockMode c : kAllTableModes)
                EXPECT_EQ(stronger_table_mode(stronger_table_mode(a, b), c),
                          stronger_table_mode(a, stronger_table_mode(b, c)));
}

TEST(RowLockStrength, ParsesWithAndWithoutFor) {
    EXPECT_EQ(parse_row_lock_strength("FOR UPDATE"), RowLockStrength::Update);
    EXPECT_EQ(parse_row_lock_strength("for no key update"), RowLockStrength::NoKeyUpdate);
    EXPECT_EQ(parse_row_lock_strength("FOR SHARE"), RowLockStrength::Share);
    EXPECT_EQ(parse_row_lock_strength("FOR KEY SHARE"), RowLockStrength::KeyShare);
    EXPECT_EQ(parse_row_lock_strength("update"), RowLockStrength::Update);
    EXPECT_EQ(parse_row_lock_strength("no key update"), RowLockStrength::NoKeyUpdate);
    EXPECT_EQ(parse_row_lock_strength("Share"), RowLockStrength::Share);
    EXPECT_EQ(parse_row_lock_strength("key share"), RowLockStrength::KeyShare);
    EXPECT_EQ(parse_row_lock_strength("  For \t No   Key\nUpdate  "), RowLockStrength::NoKeyUpdate);
}

TEST(RowLockStrength, CanonicalNameParsesToItsStrength) {
    // The canonical spelling takes the parser's shortcut; the same name in other case and spacing
    // takes the normalizing path: both give the strength.
    for (RowLockStrength strength :
         {RowLockStrength::KeyShare, RowLockStrength::Share, RowLockStrength::NoKeyUpdate, RowLockStrength::Update}) {
        std::string name = row_lock_strength_name(strength);
        EXPECT_EQ(parse_row_lock_strength(name), strength) << name;
        std::string spaced = " " + name + " ";
        for (char &c : spaced) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_EQ(parse_row_lock_strength(spaced), strength) << spaced;
    }
}

TEST(RowLockStrength, RejectsOtherSpellings) {
    for (const char *bad : {"", "FOR", "FOR FOR UPDATE", "FORUPDATE", "exclusive", "NOKEY UPDATE", "FOR UPDATE NOWAIT",
                            "ROW EXCLUSIVE"}) {
        auto report = error_of([&] { parse_row_lock_strength(bad); });
        EXPECT_EQ(report.sqlstate, "22023") << "input: \"" << bad << "\"";
        EXPECT_EQ(report.message, std::string("invalid lock mode \"") + bad + "\" for row scope");
        EXPECT_EQ(report.hint, "Valid modes are: FOR KEY SHARE, FOR SHARE, FOR NO KEY UPDATE, FOR UPDATE.");
    }
}

TEST(RowLockStrength, CanonicalNamesRoundTrip) {
    for (RowLockStrength s : kAllRowStrengths) EXPECT_EQ(parse_row_lock_strength(row_lock_strength_name(s)), s);
    EXPECT_STREQ(row_lock_strength_name(RowLockStrength::NoKeyUpdate), "FOR NO KEY UPDATE");
    EXPECT_STREQ(row_lock_strength_name(RowLockStrength::Update), "FOR UPDATE");
}

TEST(RowLockStrength, ConflictsMatchPostgresTable) {
    for (RowLockStrength a : kAllRowStrengths)
        for (RowLockStrength b : kAllRowStrengths)
            EXPECT_EQ(row_strength_conflicts(a, b), kPgRowConflicts[static_cast<int>(a)][static_cast<int>(b)])
                << row_lock_strength_name(a) << " vs " << row_lock_strength_name(b);
}

TEST(RowLockStrength, StrongerIsDerivedFromConflictSets) {
    // FOR SHARE conflicts with {NO KEY UPDATE, UPDATE}; FOR NO KEY UPDATE with {SHARE, NO KEY
    // UPDATE, UPDATE}, a superset: so the row strengths, unlike table modes, form a chain, and
    // SHARE + NO KEY UPDATE is NO KEY UPDATE.
    EXPECT_EQ(stronger_row_strength(RowLockStrength::Share, RowLockStrength::NoKeyUpdate), RowLockStrength::NoKeyUpdate);
    EXPECT_EQ(stronger_row_strength(RowLockStrength::NoKeyUpdate, RowLockStrength::Share), RowLockStrength::NoKeyUpdate);
    EXPECT_EQ(stronger_row_strength(RowLockStrength::KeyShare, RowLockStrength::Share), RowLockStrength::Share);
    for (RowLockStrength a : kAllRowStrengths) {
        for (RowLockStrength b : kAllRowStrengths) {
            RowLockStrength s = stronger_row_strength(a, b);
            EXPECT_EQ(s, stronger_row_strength(b, a));
            for (RowLockStrength other : kAllRowStrengths) {
                // Whatever a or b blocks, the combination blocks too.
                if (row_strength_conflicts(a, other) || row_strength_conflicts(b, other)) {
                    EXPECT_TRUE(row_strength_conflicts(s, other));
                }
            }
            // In a chain the weakest covering strength is simply the larger one.
            EXPECT_EQ(s, static_cast<int>(a) > static_cast<int>(b) ? a : b);
        }
    }
}

TEST(NamedLockMode, ParsesSharedShareAndExclusive) {
    EXPECT_EQ(parse_named_lock_mode("exclusive"), NamedLockMode::Exclusive);
    EXPECT_EQ(parse_named_lock_mode("EXCLUSIVE"), NamedLockMode::Exclusive);
    EXPECT_EQ(parse_named_lock_mode("shared"), NamedLockMode::Shared);
    EXPECT_EQ(parse_named_lock_mode(" Share "), NamedLockMode::Shared);
    for (NamedLockMode m : kAllNamedModes) EXPECT_EQ(parse_named_lock_mode(named_lock_mode_name(m)), m);
    EXPECT_STREQ(named_lock_mode_name(NamedLockMode::Exclusive), "exclusive");
    EXPECT_STREQ(named_lock_mode_name(NamedLockMode::Shared), "shared");
}

TEST(NamedLockMode, RejectsOthersWithHint) {
    for (const char *bad : {"", "excl", "shares", "ExclusiveLock", "s h a r e d", "FOR UPDATE"}) {
        auto report = error_of([&] { parse_named_lock_mode(bad); });
        EXPECT_EQ(report.sqlstate, "22023") << "input: \"" << bad << "\"";
        EXPECT_EQ(report.message, std::string("invalid lock mode \"") + bad + "\" for named scope");
        EXPECT_EQ(report.hint, "Valid modes are: exclusive, shared (or share).");
    }
}

TEST(NamedLockMode, ConflictsAndStronger) {
    EXPECT_FALSE(named_mode_conflicts(NamedLockMode::Shared, NamedLockMode::Shared));
    EXPECT_TRUE(named_mode_conflicts(NamedLockMode::Shared, NamedLockMode::Exclusive));
    EXPECT_TRUE(named_mode_conflicts(NamedLockMode::Exclusive, NamedLockMode::Shared));
    EXPECT_TRUE(named_mode_conflicts(NamedLockMode::Exclusive, NamedLockMode::Exclusive));
    EXPECT_EQ(stronger_named_mode(NamedLockMode::Shared, NamedLockMode::Shared), NamedLockMode::Shared);
    EXPECT_EQ(stronger_named_mode(NamedLockMode::Shared, NamedLockMode::Exclusive), NamedLockMode::Exclusive);
    EXPECT_EQ(stronger_named_mode(NamedLockMode::Exclusive, NamedLockMode::Shared), NamedLockMode::Exclusive);
    EXPECT_EQ(stronger_named_mode(NamedLockMode::Exclusive, NamedLockMode::Exclusive), NamedLockMode::Exclusive);
}

// A long mode name is echoed cut at 64 bytes, but never inside a UTF-8 character: the message
// must stay valid text whatever the alignment of 2-, 3- and 4-byte characters.
TEST(ShownInMessage, CutsLongTextAtCharacterBoundaries) {
    EXPECT_EQ(shown_in_message("short"), "short");
    EXPECT_EQ(shown_in_message(std::string(64, 'x')), std::string(64, 'x'));
    EXPECT_EQ(shown_in_message(std::string(65, 'x')), std::string(64, 'x') + "...");
    for (const std::string unit : {"\xC3\xA9", "\xE2\x9C\x93", "\xF0\x9F\x98\x80"}) {  // é ✓ 😀
        for (size_t offset = 0; offset < 4; offset++) {
            std::string text(offset, 'a');
            while (text.size() < 200) text += unit;
            std::string out = shown_in_message(text);
            ASSERT_GE(out.size(), 3u);
            std::string kept = out.substr(0, out.size() - 3);
            EXPECT_EQ(out.substr(out.size() - 3), "...");
            EXPECT_LE(kept.size(), 64u);
            EXPECT_GT(kept.size(), 64u - unit.size());
            EXPECT_EQ(kept, text.substr(0, kept.size())) << "a prefix of the input";
            EXPECT_EQ((kept.size() - offset) % unit.size(), 0u) << "whole characters, offset " << offset;
        }
    }
    auto report = error_of([] { parse_row_lock_strength(std::string(63, 'a') + "\xC3\xA9tc"); });
    EXPECT_EQ(report.message, "invalid lock mode \"" + std::string(63, 'a') + "...\" for row scope");
}

TEST(LockModeNames, ArticleFitsEveryCanonicalName) {
    const TableLockMode modes[] = {TableLockMode::AccessShare, TableLockMode::RowShare, TableLockMode::RowExclusive,
                                   TableLockMode::ShareUpdateExclusive, TableLockMode::Share,
                                   TableLockMode::ShareRowExclusive, TableLockMode::Exclusive,
                                   TableLockMode::AccessExclusive};
    const char *expected[] = {"an", "a", "a", "a", "a", "a", "an", "an"};
    for (size_t i = 0; i < 8; i++)
        EXPECT_STREQ(indefinite_article(table_lock_mode_name(modes[i])), expected[i]) << table_lock_mode_name(modes[i]);
    EXPECT_STREQ(indefinite_article(row_lock_strength_name(RowLockStrength::Update)), "a");
    EXPECT_STREQ(indefinite_article(""), "a");
}
