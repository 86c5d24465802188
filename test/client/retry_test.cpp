// run_with_lock against a real server: every retry class provoked for real, the outcome-unknown
// rule, the client-side deadline against a frozen backend and a frozen postmaster, tracing and
// metrics, the example program. test/README.md ("client" layer) says how it runs.
#include "support.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>

using namespace lgtest;
using lockguard::client::Backoff;
using lockguard::client::CallStats;
using lockguard::client::Error;
using lockguard::client::ErrorKind;
using lockguard::client::Isolation;
using lockguard::client::LockContext;
using lockguard::client::Metrics;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::RunResult;
using lockguard::client::Transaction;

namespace {

// Every failed attempt that was retried waited its backoff (drawn from the class's schedule)
// before the next began.
void expect_spacing(const CallStats &s, const Backoff &b, const std::string &cls) {
    int n = 0;
    for (size_t i = 0; i + 1 < s.attempt_log.size(); ++i) {
        const auto &a = s.attempt_log[i];
        EXPECT_EQ(a.error_class, cls) << "attempt " << i + 1;
        auto [lo, hi] = delay_bounds(b, ++n);
        EXPECT_GE(a.backoff_ms, lo) << "retry " << n;
        EXPECT_LE(a.backoff_ms, hi) << "retry " << n;
        EXPECT_GE(s.attempt_log[i + 1].started_ms - a.ended_ms, a.backoff_ms) << "retry " << n;
    }
}

// Holds a lockguard lock in an admin session for ms, from another thread.
class Holder {
public:
    Holder(const std::string &resource, int ms, const std::string &tenant = {}) {
        admin_.exec("BEGIN");
        if (!tenant.empty()) admin_.exec("SELECT set_config('lockguard.tenant', $1, true)", {tenant});
        admin_.exec("SELECT lockguard_acquire($1)", {resource});
        if (ms >= 0) thread_ = std::thread([this, ms] { sleep_ms(ms); release(); });
    }
    void release() {
        std::lock_guard<std::mutex> g(mu_);
        if (!released_) admin_.exec("COMMIT");
        released_ = true;
    }
    ~Holder() {
        if (thread_.joinable()) thread_.join();
        // A destructor must not throw: a failed release fails the test instead.
        try {
            release();
        } catch (const std::exception &e) {
            ADD_FAILURE() << "could not release the held lock: " << e.what();
        }
    }

private:
    Admin admin_;
    std::thread thread_;
    std::mutex mu_;
    bool released_ = false;
};

class ClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        admin.exec("CREATE TABLE IF NOT EXISTS client_rows (id bigint PRIMARY KEY, v bigint NOT NULL)");
        admin.exec("TRUNCATE client_rows");
        admin.exec("INSERT INTO client_rows SELECT g, 100 FROM generate_series(1, 10) g");
        admin.exec("CREATE TABLE IF NOT EXISTS client_log (tag text NOT NULL)");
        admin.exec("TRUNCATE client_log");
    }
    Admin admin;
};

}  // namespace

TEST_F(ClientTest, CommitsAndReportsOneAttempt) {
    LockContext ctx(conninfo());
    RunResult r = ctx.run_with_lock({Resource::row("client_rows", int64_t{1}), Resource::named("client:one")},
                                    [](Transaction &tx) {
                                        tx.exec("UPDATE client_rows SET v = v + 1 WHERE id = $1", {"1"});
                                        return std::string("{\"ok\": true}");
                                    });
    EXPECT_EQ(r.result, "{\"ok\": true}");
    EXPECT_FALSE(r.replayed);
    EXPECT_EQ(r.stats.attempts, 1);
    EXPECT_EQ(r.stats.outcome, "committed");
    EXPECT_EQ(admin.num("SELECT v FROM client_rows WHERE id = 1"), 101);
}

TEST_F(ClientTest, HeldLockIsRetriedWithBackoff) {
    Holder holder("client:held", 700);
    LockContext ctx(conninfo());
    Options o;
    o.acquire_timeout_ms = 150;
    o.backoff = {100, 400, 2.0};
    o.max_attempts = 20;
    RunResult r = ctx.run_with_lock({Resource::named("client:held")},
                                    [](Transaction &tx) {
                                        tx.exec("INSERT INTO client_log VALUES ('held')");
                                        return std::string();
                                    },
                                    o);
    EXPECT_GE(r.stats.attempts, 2);
    EXPECT_EQ(r.stats.outcome, "committed");
    for (size_t i = 0; i + 1 < r.stats.attempt_log.size(); ++i) {
        EXPECT_EQ(r.stats.attempt_log[i].sqlstate, "55P03");
        // lockguard waited its timeout_ms before refusing, and the call counts it as lock wait
        EXPECT_GE(r.stats.attempt_log[i].lock_wait_ms, 150);
    }
    expect_spacing(r.stats, o.backoff, "lock");
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'held'"), 1);
}

TEST_F(ClientTest, GivesUpAfterMaxAttemptsWithTheLastError) {
    Holder holder("client:stuck", -1);
    LockContext ctx(conninfo());
    Options o;
    o.acquire_timeout_ms = 50;
    o.backoff = {20, 40, 2.0};
    o.max_attempts = 3;
    try {
        ctx.run_with_lock({Resource::named("client:stuck")}, [](Transaction &) { return std::string(); }, o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::Server);
        EXPECT_EQ(e.sqlstate(), "55P03");
        EXPECT_EQ(e.attempts(), 3);
        EXPECT_NE(e.detail().find("gave up after 3 attempts"), std::string::npos) << e.detail();
        EXPECT_NE(e.detail().find("max_attempts reached"), std::string::npos) << e.detail();
        EXPECT_FALSE(e.hint().empty());
    }
}

TEST_F(ClientTest, RealDeadlockIsRetried) {
    std::atomic<int> at_barrier{0};
    std::vector<RunResult> results(2);
    std::vector<std::string> errors(2);
    auto worker = [&](int me) {
        LockContext ctx(conninfo());
        Options o;
        o.backoff = {20, 100, 2.0};
        try {
            results[me] = ctx.run_with_lock(
                {},
                [&](Transaction &tx) {
                    tx.exec("SET LOCAL deadlock_timeout = '100ms'");
                    tx.exec("SELECT 1 FROM client_rows WHERE id = $1 FOR UPDATE", {me == 0 ? "3" : "4"});
                    if (tx.attempt() == 1) {
                        ++at_barrier;
                        for (int i = 0; i < 500 && at_barrier.load() < 2; ++i) sleep_ms(10);
                    }
                    tx.exec("SELECT 1 FROM client_rows WHERE id = $1 FOR UPDATE", {me == 0 ? "4" : "3"});
                    tx.exec("INSERT INTO client_log VALUES ('deadlock')");
                    return std::string();
                },
                o);
        } catch (const std::exception &e) {
            errors[me] = e.what();
        }
    };
    std::thread a(worker, 0);
    std::thread b(worker, 1);
    a.join();
    b.join();
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
    int deadlocks = 0;
    for (const auto &r : results)
        for (const auto &a : r.stats.attempt_log) deadlocks += a.sqlstate == "40P01" ? 1 : 0;
    EXPECT_EQ(deadlocks, 1);
    EXPECT_EQ(results[0].stats.attempts + results[1].stats.attempts, 3);
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'deadlock'"), 2);
}

TEST_F(ClientTest, SerializationFailureIsRetried) {
    LockContext ctx(conninfo());
    Options o;
    o.isolation = Isolation::RepeatableRead;
    o.backoff = {30, 60, 2.0};
    int runs = 0;
    RunResult r = ctx.run_with_lock({Resource::named("client:ser")},
                                    [&](Transaction &tx) {
                                        ++runs;
                                        tx.exec("SELECT v FROM client_rows WHERE id = 5");  // the snapshot
                                        if (tx.attempt() == 1) admin.exec("UPDATE client_rows SET v = v + 1 WHERE id = 5");
                                        tx.exec("UPDATE client_rows SET v = v + 10 WHERE id = 5");
                                        return std::string();
                                    },
                                    o);
    EXPECT_EQ(r.stats.attempts, 2);
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(r.stats.attempt_log[0].sqlstate, "40001");
    expect_spacing(r.stats, o.backoff, "lock");
    EXPECT_EQ(admin.num("SELECT v FROM client_rows WHERE id = 5"), 111);
}

TEST_F(ClientTest, TenantRefusalsBackOffOnTheirOwnSchedule) {
    admin.exec("DELETE FROM lockguard.tenant_budgets WHERE tenant IN ('client_held', 'client_wait')");
    admin.exec("INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters) VALUES "
               "('client_held', 1, NULL), ('client_wait', NULL, 0)");
    Options o;
    o.backoff = {1, 2, 2.0};  // the lock schedule is tiny: spacing in the tenant's range proves its own
    o.tenant_backoff = {150, 600, 2.0};
    o.max_attempts = 20;
    {
        // LG001: the tenant holds its one lock elsewhere until the holder commits.
        Holder holder("client:t1", 600, "client_held");
        LockContext ctx(conninfo());
        o.tenant = "client_held";
        RunResult r = ctx.run_with_lock({Resource::named("client:t2")}, [](Transaction &) { return std::string(); }, o);
        EXPECT_GE(r.stats.attempts, 2);
        for (size_t i = 0; i + 1 < r.stats.attempt_log.size(); ++i) EXPECT_EQ(r.stats.attempt_log[i].sqlstate, "LG001");
        expect_spacing(r.stats, o.tenant_backoff, "tenant");
    }
    {
        // LG002: a tenant that may not wait at all, on a lock another tenant holds.
        Holder holder("client:t3", 500);
        LockContext ctx(conninfo());
        o.tenant = "client_wait";
        RunResult r = ctx.run_with_lock({Resource::named("client:t3")}, [](Transaction &) { return std::string(); }, o);
        EXPECT_GE(r.stats.attempts, 2);
        for (size_t i = 0; i + 1 < r.stats.attempt_log.size(); ++i) EXPECT_EQ(r.stats.attempt_log[i].sqlstate, "LG002");
        expect_spacing(r.stats, o.tenant_backoff, "tenant");
    }
    admin.exec("DELETE FROM lockguard.tenant_budgets WHERE tenant IN ('client_held', 'client_wait')");
}

TEST_F(ClientTest, TerminatedBackendIsRetriedOnANewConnection) {
    LockContext ctx(conninfo());
    Options o;
    o.backoff = {20, 40, 2.0};
    std::vector<int> pids;
    RunResult r = ctx.run_with_lock({Resource::named("client:term")},
                                    [&](Transaction &tx) {
                                        pids.push_back(tx.backend_pid());
                                        tx.exec("INSERT INTO client_log VALUES ('term')");
                                        if (tx.attempt() == 1)
                                            admin.exec("SELECT pg_terminate_backend($1, 5000)", {std::to_string(tx.backend_pid())});
                                        tx.exec("SELECT 1");
                                        return std::string();
                                    },
                                    o);
    ASSERT_EQ(r.stats.attempts, 2);
    EXPECT_EQ(r.stats.attempt_log[0].sqlstate, "57P01");
    EXPECT_EQ(r.stats.attempt_log[0].error_class, "server");
    EXPECT_NE(pids[0], pids[1]);
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'term'"), 1);
}

namespace {

// COMMIT waits for a synchronous standby that never comes (fn asks for it with SET LOCAL), and
// the backend is terminated while it waits: the commit is durable locally, and the client saw
// its connection end after sending COMMIT.
class CommitCutter {
public:
    explicit CommitCutter(Admin &admin) : admin_(admin) {
        admin_.exec("ALTER SYSTEM SET synchronous_standby_names = 'lg_client_test_nobody'");
        admin_.exec("SELECT pg_reload_conf()");
        sleep_ms(300);
    }
    ~CommitCutter() {
        if (thread_.joinable()) thread_.join();
        // A destructor must not throw: a failed reset fails the test instead.
        try {
            admin_.exec("ALTER SYSTEM RESET synchronous_standby_names");
            admin_.exec("SELECT pg_reload_conf()");
        } catch (const std::exception &e) {
            ADD_FAILURE() << "could not reset synchronous_standby_names: " << e.what();
        }
    }
    // Terminates `pid` once it waits for synchronous replication.
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    void cut_when_waiting(int pid) {
        thread_ = std::thread([this, pid] {
            Admin watcher;
            for (int i = 0; i < 1000; ++i) {
                if (watcher.exec("SELECT wait_event FROM pg_stat_activity WHERE pid = $1", {std::to_string(pid)}) == "SyncRep") {
                    watcher.exec("SELECT pg_terminate_backend($1, 5000)", {std::to_string(pid)});
                    cut = true;
                    return;
                }
                sleep_ms(10);
            }
        });
    }
    std::atomic<bool> cut{false};

private:
    Admin &admin_;
    std::thread thread_;
};

}  // namespace

TEST_F(ClientTest, ConnectionLostAfterCommitIsOutcomeUnknownWithoutAKey) {
    CommitCutter cutter(admin);
    LockContext ctx(conninfo());
    Options o;
    o.deadline_ms = 20000;
    int runs = 0;
    try {
        ctx.run_with_lock({Resource::named("client:unknown")},
                          [&](Transaction &tx) {
                              ++runs;
                              tx.exec("SET LOCAL synchronous_commit = on");
                              tx.exec("INSERT INTO client_log VALUES ('unknown')");
                              cutter.cut_when_waiting(tx.backend_pid());
                              return std::string();
                          },
                          o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::OutcomeUnknown) << e.what();
        EXPECT_EQ(e.attempts(), 1);
        EXPECT_NE(e.hint().find("operation key"), std::string::npos);
    }
    cutter.join();
    EXPECT_TRUE(cutter.cut.load());
    EXPECT_EQ(runs, 1);
    // It had committed (locally): a blind retry would have written it twice.
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'unknown'"), 1);
}

TEST_F(ClientTest, ConnectionLostAfterCommitIsReplayedOnceWithAKey) {
    CommitCutter cutter(admin);
    LockContext ctx(conninfo());
    Options o;
    o.deadline_ms = 20000;
    o.operation_key = "client-test:" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    o.backoff = {50, 100, 2.0};
    int runs = 0;
    RunResult r = ctx.run_with_lock({Resource::named("client:replay")},
                                    [&](Transaction &tx) {
                                        ++runs;
                                        tx.exec("SET LOCAL synchronous_commit = on");
                                        tx.exec("INSERT INTO client_log VALUES ('replay')");
                                        cutter.cut_when_waiting(tx.backend_pid());
                                        return std::string("{\"moved\": 42}");
                                    },
                                    o);
    cutter.join();
    EXPECT_TRUE(cutter.cut.load());
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(r.replayed);
    EXPECT_EQ(r.stats.attempts, 2);
    EXPECT_EQ(r.stats.outcome, "replayed");
    EXPECT_EQ(r.stats.attempt_log[0].error_class, "outcome_unknown");
    EXPECT_EQ(r.result, "{\"moved\": 42}");
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'replay'"), 1);
    // A later repeat with the same key replays too, running nothing.
    RunResult again = ctx.run_with_lock({}, [&](Transaction &) { ++runs; return std::string(); }, o);
    EXPECT_TRUE(again.replayed);
    EXPECT_EQ(runs, 1);
}

TEST_F(ClientTest, FrozenBackendIsBoundedByTheDeadline) {
    LockContext ctx(conninfo());
    Options o;
    o.deadline_ms = 1500;
    Freezer freezer;
    int frozen = 0;
    const auto start = Clock::now();
    try {
        ctx.run_with_lock({Resource::named("client:frozen")},
                          [&](Transaction &tx) {
                              frozen = tx.backend_pid();
                              freezer.freeze(frozen);
                              tx.exec("SELECT 1");
                              return std::string();
                          },
                          o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::Deadline) << e.what();
        EXPECT_EQ(e.sqlstate(), "57014");
        EXPECT_EQ(e.attempts(), 1);
    }
    const int64_t took = ms_since(start);
    freezer.thaw();
    EXPECT_GE(took, 1500);
    EXPECT_LT(took, 1500 + 1000) << "the caller was held past its deadline";
    // The cancelled backend goes away; the context reconnects for the next call.
    RunResult r = ctx.run_with_lock({Resource::named("client:frozen")}, [](Transaction &) { return std::string(); }, o);
    EXPECT_EQ(r.stats.outcome, "committed");
    EXPECT_NE(ctx.backend_pid(), frozen);
}

TEST_F(ClientTest, FrozenPostmasterIsBoundedByTheDeadline) {
    const int postmaster = parent_pid(admin.pid());
    ASSERT_GT(postmaster, 1);
    Options o;
    o.deadline_ms = 1000;
    {
        // A statement in flight on a frozen backend, whose cancel request goes to a frozen
        // postmaster (PQcancel would block until it answers).
        LockContext ctx(conninfo());
        Freezer freezer;
        const auto start = Clock::now();
        try {
            ctx.run_with_lock({},
                              [&](Transaction &tx) {
                                  freezer.freeze(postmaster);
                                  freezer.freeze(tx.backend_pid());
                                  tx.exec("SELECT 1");
                                  return std::string();
                              },
                              o);
            FAIL() << "no error";
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::Deadline) << e.what();
        }
        const int64_t took = ms_since(start);
        EXPECT_GE(took, 1000);
        EXPECT_LT(took, 1000 + 1000) << "the caller was held past its deadline";
        // A new connection to the frozen postmaster: bounded too.
        LockContext fresh(conninfo());
        const auto start2 = Clock::now();
        try {
            fresh.run_with_lock({}, [](Transaction &) { return std::string(); }, o);
            FAIL() << "no error";
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::Deadline) << e.what();
            EXPECT_NE(std::string(e.what()).find("connecting"), std::string::npos) << e.what();
        }
        const int64_t took2 = ms_since(start2);
        EXPECT_GE(took2, 1000);
        EXPECT_LT(took2, 1000 + 1000) << "the caller was held past its deadline";
    }
    // Thawed: the server serves again.
    LockContext after(conninfo());
    EXPECT_EQ(after.run_with_lock({}, [](Transaction &) { return std::string(); }, o).stats.outcome, "committed");
}

TEST_F(ClientTest, ErrorsInTheRequestAreNotRetried) {
    LockContext ctx(conninfo());
    auto fails_once = [&](const std::string &sql, const std::string &code) {
        int runs = 0;
        try {
            ctx.run_with_lock({},
                              [&](Transaction &tx) {
                                  ++runs;
                                  tx.exec("INSERT INTO client_log VALUES ('fatal')");
                                  tx.exec(sql);
                                  return std::string();
                              });
            ADD_FAILURE() << sql << ": no error";
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::Server) << sql;
            EXPECT_EQ(e.sqlstate(), code) << sql;
            EXPECT_EQ(e.attempts(), 1) << sql;
        }
        EXPECT_EQ(runs, 1) << sql;
    };
    admin.exec("SELECT lockguard.check_fencing_token('client:fence', 1000)");  // a newer holder wrote
    fails_once("SELECT 1 / 0", "22012");
    fails_once("SELECT * FROM client_no_such_table", "42P01");
    fails_once("SELECT lockguard.check_fencing_token('client:fence', 1)", "LG003");
    fails_once("SET LOCAL statement_timeout = 50; SELECT pg_sleep(2)", "42601");  // one statement only
    // The caller's own statement_timeout (57014) is not retried.
    int runs = 0;
    try {
        ctx.run_with_lock({}, [&](Transaction &tx) {
            ++runs;
            tx.exec("SET LOCAL statement_timeout = 50");
            tx.exec("SELECT pg_sleep(2)");
            return std::string();
        });
        ADD_FAILURE() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.sqlstate(), "57014");
        EXPECT_EQ(e.kind(), ErrorKind::Server);
    }
    EXPECT_EQ(runs, 1);
    // The application's own exception passes through unchanged, after a real rollback.
    EXPECT_THROW(ctx.run_with_lock({}, [](Transaction &tx) -> std::string {
        tx.exec("INSERT INTO client_log VALUES ('fatal')");
        throw std::logic_error("refused by the application");
    }),
                 std::logic_error);
    // fn that swallows an error of its own statement: COMMIT would roll back; it is reported.
    try {
        ctx.run_with_lock({}, [](Transaction &tx) {
            tx.exec("INSERT INTO client_log VALUES ('fatal')");
            try {
                tx.exec("SELECT 1 / 0");
            } catch (const Error &) {
            }
            return std::string();
        });
        ADD_FAILURE() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.sqlstate(), "25P02");
    }
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_log WHERE tag = 'fatal'"), 0);
}

TEST_F(ClientTest, BadOptionsAreRefusedBeforeAnyAttempt) {
    LockContext ctx(conninfo());
    auto refused = [&](const Options &o, const char *what) {
        try {
            ctx.run_with_lock({}, [](Transaction &) { return std::string(); }, o);
            ADD_FAILURE() << what;
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::Usage) << what;
            EXPECT_EQ(e.sqlstate(), "22023") << what;
        }
    };
    Options o;
    o.max_attempts = 0;
    refused(o, "max_attempts 0");
    o = {};
    o.deadline_ms = 0;
    refused(o, "deadline 0");
    o = {};
    o.backoff = {100, 10, 2.0};
    refused(o, "max below base");
    o = {};
    o.priority = 101;
    refused(o, "priority");
    o = {};
    o.traceparent = "not-a-traceparent";
    refused(o, "traceparent");
    EXPECT_EQ(ctx.backend_pid(), 0) << "nothing was sent";
}

TEST_F(ClientTest, TraceparentReachesTheAuditRowOfEveryAttempt) {
    const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    Holder holder("client:trace", 450);
    LockContext ctx(conninfo());
    Options o;
    o.traceparent = "00-" + trace_id + "-00f067aa0ba902b7-01";
    o.acquire_timeout_ms = 120;
    o.backoff = {40, 80, 2.0};
    o.max_attempts = 30;
    RunResult r = ctx.run_with_lock({Resource::named("client:trace")},
                                    [](Transaction &tx) {
                                        return tx.exec("SELECT current_setting('lockguard.trace_id')").value(0, 0);
                                    },
                                    o);
    EXPECT_EQ(r.result, trace_id);
    EXPECT_EQ(r.stats.trace_id, trace_id);
    ASSERT_GE(r.stats.attempts, 2);
    EXPECT_EQ(admin.num("SELECT count(*) FROM lockguard.audit WHERE resource = 'client:trace' AND outcome = 'timeout' "
                        "AND trace_id = $1",
                        {trace_id}),
              r.stats.attempts - 1);
    // Per transaction, never per session: the next call on the same connection has its own id.
    RunResult next = ctx.run_with_lock({}, [](Transaction &tx) {
        return tx.exec("SELECT current_setting('lockguard.trace_id')").value(0, 0);
    });
    EXPECT_EQ(next.result, next.stats.trace_id);
    EXPECT_EQ(next.result.size(), 32u);
    EXPECT_NE(next.result, trace_id);
}

TEST_F(ClientTest, MetricsPerCallAndCumulative) {
    Metrics metrics;
    LockContext ctx(conninfo(), &metrics);
    for (int i = 0; i < 3; ++i) ctx.run_with_lock({Resource::named("client:metrics")}, [](Transaction &) { return std::string(); });
    {
        Holder holder("client:metrics", 300);
        Options o;
        o.acquire_timeout_ms = 100;
        o.backoff = {20, 40, 2.0};
        RunResult r = ctx.run_with_lock({Resource::named("client:metrics")}, [](Transaction &) { return std::string(); }, o);
        EXPECT_GE(r.stats.attempts, 2);
        EXPECT_GE(r.stats.lock_wait_ms, 100);
        EXPECT_GE(r.stats.total_ms, r.stats.lock_wait_ms);
        EXPECT_EQ(metrics.retries("lock"), static_cast<uint64_t>(r.stats.attempts - 1));
    }
    EXPECT_THROW(ctx.run_with_lock({}, [](Transaction &tx) { tx.exec("SELECT 1/0"); return std::string(); }), Error);
    EXPECT_EQ(metrics.calls("committed"), 4u);
    EXPECT_EQ(metrics.calls("failed"), 1u);
    const std::string text = metrics.prometheus_text();
    EXPECT_NE(text.find("# TYPE lockguard_client_calls_total counter"), std::string::npos);
    EXPECT_NE(text.find("lockguard_client_calls_total{outcome=\"committed\"} 4\n"), std::string::npos) << text;
    EXPECT_NE(text.find("lockguard_client_calls_total{outcome=\"failed\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("lockguard_client_call_duration_seconds_bucket{le=\"+Inf\"} 5\n"), std::string::npos) << text;
    EXPECT_NE(text.find("lockguard_client_call_duration_seconds_count 5\n"), std::string::npos) << text;
    EXPECT_NE(text.find("# TYPE lockguard_client_lock_wait_seconds histogram"), std::string::npos) << text;
    // Buckets are cumulative: never decreasing.
    uint64_t last = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("lockguard_client_lock_wait_seconds_bucket", 0) != 0) continue;
        uint64_t v = std::stoull(line.substr(line.rfind(' ') + 1));
        EXPECT_GE(v, last) << line;
        last = v;
    }
    EXPECT_EQ(last, 5u);
}

TEST_F(ClientTest, ExampleProgramRunsOnce) {
    const char *example = std::getenv("LG_CLIENT_EXAMPLE");
    ASSERT_NE(example, nullptr) << "LG_CLIENT_EXAMPLE names the example program (make client-check sets it)";
    admin.exec("CREATE TABLE IF NOT EXISTS client_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)");
    admin.exec("TRUNCATE client_accounts");
    admin.exec("INSERT INTO client_accounts VALUES (1, 100), (2, 0)");
    const std::string key = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    auto run = [&](const std::string &args, std::string &out) {
        FILE *p = popen((std::string(example) + " " + args + " 2>&1").c_str(), "r");
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        return pclose(p);
    };
    std::string out1;
    std::string out2;
    std::string out3;
    EXPECT_EQ(run("1 2 30 " + key, out1), 0) << out1;
    EXPECT_EQ(out1.rfind("done {\"from\": 1, \"to\": 2, \"amount\": 30} attempts=1", 0), 0u) << out1;
    EXPECT_NE(out1.find("lockguard_client_calls_total{outcome=\"committed\"} 1"), std::string::npos) << out1;
    EXPECT_EQ(run("1 2 30 " + key, out2), 0) << out2;  // the same request again: replayed
    // The recorded result comes back as jsonb prints it (keys in jsonb's order).
    EXPECT_EQ(out2.rfind("replayed {\"to\": 2, \"from\": 1, \"amount\": 30} attempts=1", 0), 0u) << out2;
    EXPECT_NE(run("1 2 500 " + key + "-b", out3), 0) << out3;  // the application's refusal
    EXPECT_NE(out3.find("insufficient funds"), std::string::npos) << out3;
    EXPECT_EQ(admin.num("SELECT balance FROM client_accounts WHERE id = 1"), 70);
    EXPECT_EQ(admin.num("SELECT balance FROM client_accounts WHERE id = 2"), 30);
}
