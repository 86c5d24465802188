// The conservation test: threads move money among a few accounts through run_with_lock, each
// transfer under a run-once key, while fn also locks extra rows in random order (so real
// deadlocks happen) and another thread terminates client backends at random (some of them in
// the middle of COMMIT). Afterwards the total is unchanged and every transfer is there exactly
// once. LG_CLIENT_THREADS and LG_CLIENT_TRANSFERS (per thread) size it: 8 x 1000 by default.
#include "support.hpp"

#include <atomic>
#include <map>
#include <random>

using namespace lgtest;
using lockguard::client::Error;
using lockguard::client::LockContext;
using lockguard::client::Metrics;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::RunResult;
using lockguard::client::Transaction;

namespace {
int env_int(const char *name, int fallback) {
    const char *v = std::getenv(name);
    return v != nullptr ? std::atoi(v) : fallback;
}
}  // namespace

TEST(Conservation, TransfersUnderDeadlocksAndKilledBackends) {
    const int threads = env_int("LG_CLIENT_THREADS", 8);
    const int per_thread = env_int("LG_CLIENT_TRANSFERS", 1000);
    const int accounts = 6, extras = 4;
    const int64_t initial = 1000000;
    Admin admin;
    admin.exec("DROP TABLE IF EXISTS client_bank, client_extras, client_transfers");
    admin.exec("CREATE TABLE client_bank (id bigint PRIMARY KEY, balance bigint NOT NULL)");
    admin.exec("INSERT INTO client_bank SELECT g, $1::bigint FROM generate_series(1, $2::int) g",
               {std::to_string(initial), std::to_string(accounts)});
    admin.exec("CREATE TABLE client_extras (id int PRIMARY KEY, touched bigint NOT NULL DEFAULT 0)");
    admin.exec("INSERT INTO client_extras SELECT g FROM generate_series(1, $1::int) g", {std::to_string(extras)});
    admin.exec("CREATE TABLE client_transfers (key text PRIMARY KEY, src bigint, dst bigint, amount bigint)");
    const std::string run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

    Metrics metrics;
    std::vector<std::atomic<int>> pids(static_cast<size_t>(threads));
    std::atomic<bool> done{false};
    std::atomic<int> deadlocks{0}, replays{0}, kills{0}, failures{0};
    std::vector<std::string> errors(static_cast<size_t>(threads));

    std::thread killer([&] {
        Admin k;
        std::mt19937 rng(42);
        while (!done.load()) {
            sleep_ms(150);
            int pid = pids[rng() % static_cast<unsigned>(threads)].load();
            if (pid != 0) {
                k.exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)});
                ++kills;
            }
        }
    });

    auto worker = [&](int me) {
        LockContext ctx(conninfo(), &metrics);
        std::mt19937 rng(static_cast<unsigned>(me) * 7919u + 1u);
        for (int i = 0; i < per_thread; ++i) {
            int64_t src = 1 + static_cast<int64_t>(rng() % accounts);
            int64_t dst = 1 + static_cast<int64_t>(rng() % (accounts - 1));
            if (dst >= src) ++dst;
            const int64_t amount = 1 + static_cast<int64_t>(rng() % 100);
            int e1 = 1 + static_cast<int>(rng() % extras);
            int e2 = 1 + static_cast<int>(rng() % (extras - 1));
            if (e2 >= e1) ++e2;
            Options o;
            o.operation_key = "conservation:" + run_id + ":" + std::to_string(me) + ":" + std::to_string(i);
            o.deadline_ms = 120000;
            o.max_attempts = 100;
            o.backoff = {5, 200, 2.0};
            const std::string key = o.operation_key;
            try {
                RunResult r = ctx.run_with_lock(
                    {Resource::row("client_bank", src), Resource::row("client_bank", dst)},
                    [&](Transaction &tx) {
                        pids[static_cast<size_t>(me)] = tx.backend_pid();
                        tx.exec("SET LOCAL deadlock_timeout = '20ms'");
                        tx.exec("UPDATE client_extras SET touched = touched + 1 WHERE id = $1", {std::to_string(e1)});
                        tx.exec("UPDATE client_extras SET touched = touched + 1 WHERE id = $1", {std::to_string(e2)});
                        tx.exec("UPDATE client_bank SET balance = balance - $1 WHERE id = $2",
                                {std::to_string(amount), std::to_string(src)});
                        tx.exec("UPDATE client_bank SET balance = balance + $1 WHERE id = $2",
                                {std::to_string(amount), std::to_string(dst)});
                        tx.exec("INSERT INTO client_transfers VALUES ($1, $2, $3, $4)",
                                {key, std::to_string(src), std::to_string(dst), std::to_string(amount)});
                        return std::string("{}");
                    },
                    o);
                for (const auto &a : r.stats.attempt_log) deadlocks += a.sqlstate == "40P01" ? 1 : 0;
                replays += r.replayed ? 1 : 0;
            } catch (const std::exception &e) {
                ++failures;
                if (errors[static_cast<size_t>(me)].empty()) errors[static_cast<size_t>(me)] = e.what();
            }
        }
        pids[static_cast<size_t>(me)] = 0;
    };
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto &t : pool) t.join();
    done = true;
    killer.join();
    const int64_t took = ms_since(start);

    for (int t = 0; t < threads; ++t) EXPECT_EQ(errors[static_cast<size_t>(t)], "") << "thread " << t;
    EXPECT_EQ(failures.load(), 0);
    const int64_t total = static_cast<int64_t>(threads) * per_thread;
    EXPECT_EQ(admin.num("SELECT sum(balance) FROM client_bank"), initial * accounts) << "money was created or lost";
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_transfers"), total) << "a transfer was lost";
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_transfers WHERE key LIKE $1", {"conservation:" + run_id + ":%"}), total);
    EXPECT_EQ(admin.num("SELECT count(*) FROM lockguard.operations WHERE key LIKE $1", {"conservation:" + run_id + ":%"}), total);
    // Every account's balance is what its recorded transfers say: nothing ran twice or half.
    EXPECT_EQ(admin.num("SELECT count(*) FROM client_bank b WHERE balance <> $1::bigint "
                        "+ coalesce((SELECT sum(amount) FROM client_transfers WHERE dst = b.id), 0) "
                        "- coalesce((SELECT sum(amount) FROM client_transfers WHERE src = b.id), 0)",
                        {std::to_string(initial)}),
              0);
    EXPECT_GT(deadlocks.load(), 0) << "no deadlock happened: the test did not test retries of 40P01";
    EXPECT_GT(kills.load(), 0);
    std::printf("conservation: %lld transfers by %d threads in %lld ms; %d deadlocks retried, %d backends "
                "terminated, %d replays of an outcome-unknown commit, %llu retries after a lost connection or "
                "57P01\n",
                static_cast<long long>(total), threads, static_cast<long long>(took), deadlocks.load(), kills.load(),
                replays.load(),
                static_cast<unsigned long long>(metrics.retries("connection") + metrics.retries("server") +
                                                metrics.retries("outcome_unknown")));
}
