// run_with_lock behind PgBouncer in transaction mode (Debian 12's 1.18: no prepared statements
// in that mode). LG_CLIENT_PGBOUNCER is the connection string through PgBouncer (the client
// layer starts one with two server connections for more clients than that); without it the test
// skips, unless LG_REQUIRE_ALL_TOOLS=1 (test/run-all.sh) turns the skip into a failure.
#include "support.hpp"

#include <atomic>
#include <random>
#include <set>

using namespace lgtest;
using lockguard::client::LockContext;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::RunResult;
using lockguard::client::Rows;
using lockguard::client::Transaction;

namespace {
std::string bouncer() {
    const char *c = std::getenv("LG_CLIENT_PGBOUNCER");
    return c != nullptr ? c : "";
}
bool required() {
    const char *r = std::getenv("LG_REQUIRE_ALL_TOOLS");
    return r != nullptr && std::string(r) == "1";
}
}  // namespace

TEST(PgBouncer, TransactionPoolingKeepsEverythingPerTransaction) {
    if (bouncer().empty()) {
        if (required()) FAIL() << "LG_CLIENT_PGBOUNCER is not set";
        GTEST_SKIP() << "LG_CLIENT_PGBOUNCER is not set (no PgBouncer)";
    }
    Admin admin;
    admin.exec("DROP TABLE IF EXISTS client_pooled");
    admin.exec("CREATE TABLE client_pooled (id bigint PRIMARY KEY, balance bigint NOT NULL)");
    admin.exec("INSERT INTO client_pooled SELECT g, 1000 FROM generate_series(1, 4) g");
    admin.exec("DELETE FROM lockguard.tenant_budgets WHERE tenant LIKE 'client_pool_%'");
    admin.exec("INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('client_pool_0'), ('client_pool_1'), "
               "('client_pool_2'), ('client_pool_3')");

    const int threads = 4;  // four clients on two server connections
    const int per_thread = 150;
    std::atomic<int> mismatches{0};
    std::atomic<int> done_calls{0};
    std::set<int> server_pids;
    std::mutex mu;
    std::vector<std::string> errors(threads);
    auto worker = [&](int me) {
        LockContext ctx(bouncer());
        std::mt19937 rng(static_cast<unsigned>(me) + 11u);
        for (int i = 0; i < per_thread; ++i) {
            int64_t a = 1 + static_cast<int64_t>(rng() % 4);
            int64_t b = 1 + static_cast<int64_t>(rng() % 3);
            if (b >= a) ++b;
            Options o;
            o.tenant = "client_pool_" + std::to_string(me);
            o.deadline_ms = 60000;
            o.backoff = {5, 100, 2.0};
            try {
                ctx.run_with_lock({Resource::row("client_pooled", a), Resource::row("client_pooled", b)},
                                  [&](Transaction &tx) {
                                      // What this transaction set is what it sees, whichever server
                                      // connection PgBouncer gave it.
                                      Rows seen = tx.exec("SELECT current_setting('lockguard.trace_id'), "
                                                          "current_setting('lockguard.tenant'), pg_backend_pid()");
                                      if (seen.value(0, 0) != tx.trace_id() || seen.value(0, 1) != o.tenant) ++mismatches;
                                      {
                                          std::lock_guard<std::mutex> g(mu);
                                          server_pids.insert(std::stoi(seen.value(0, 2)));
                                      }
                                      tx.exec("UPDATE client_pooled SET balance = balance - 1 WHERE id = $1",
                                              {std::to_string(a)});
                                      tx.exec("UPDATE client_pooled SET balance = balance + 1 WHERE id = $1",
                                              {std::to_string(b)});
                                      return std::string();
                                  },
                                  o);
                ++done_calls;
            } catch (const std::exception &e) {
                if (errors[me].empty()) errors[me] = e.what();
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto &t : pool) t.join();
    for (int t = 0; t < threads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
    EXPECT_EQ(done_calls.load(), threads * per_thread);
    EXPECT_EQ(mismatches.load(), 0) << "a setting leaked from one transaction into another";
    EXPECT_LE(server_pids.size(), 2u) << "PgBouncer should have shared two server connections";
    EXPECT_EQ(admin.num("SELECT sum(balance) FROM client_pooled"), 4000);
    // Nothing stays on the server sessions once the transactions ended.
    LockContext after(bouncer());
    RunResult r = after.run_with_lock({}, [](Transaction &tx) {
        return tx.exec("SELECT count(*) FROM pg_prepared_statements").value(0, 0);
    });
    EXPECT_EQ(r.result, "0") << "a named prepared statement was left on a pooled server connection";

    // A held lock behind the pooler: 55P03 retried as without it.
    Admin holder;
    holder.exec("BEGIN");
    holder.exec("SELECT lockguard_acquire('client:pooled')");
    std::thread release([&] {
        sleep_ms(400);
        holder.exec("COMMIT");
    });
    Options o;
    o.acquire_timeout_ms = 100;
    o.backoff = {50, 100, 2.0};
    o.max_attempts = 30;
    RunResult held = after.run_with_lock({Resource::named("client:pooled")}, [](Transaction &) { return std::string(); }, o);
    release.join();
    EXPECT_GE(held.stats.attempts, 2);
    EXPECT_EQ(held.stats.attempt_log[0].sqlstate, "55P03");
    admin.exec("DELETE FROM lockguard.tenant_budgets WHERE tenant LIKE 'client_pool_%'");
}
