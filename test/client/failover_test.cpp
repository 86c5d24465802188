// The failover test redone with the client: a primary with a synchronous standby, a stream of
// run-once transfers through run_with_lock and a multi-host connection string with
// target_session_attrs=read-write, the primary stopped in immediate mode mid-stream, the standby
// promoted. Every acknowledged transfer is on the new primary exactly once, and the balances add
// up. The client layer gives it PostgreSQL's programs (LG_CLIENT_PGBIN), a directory
// (LG_CLIENT_FAILOVER_DIR) and two ports from LG_CLIENT_FAILOVER_PORT; without them it skips,
// unless LG_REQUIRE_ALL_TOOLS=1 turns the skip into a failure.
#include "support.hpp"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

using namespace lgtest;
using lockguard::client::Error;
using lockguard::client::LockContext;
using lockguard::client::Options;
using lockguard::client::Resource;
using lockguard::client::RunResult;
using lockguard::client::Transaction;

namespace {

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v != nullptr ? v : "";
}

int sh(const std::string &cmd) { return std::system(cmd.c_str()); }

// A server of the test: its data directory, socket directory and port.
struct Node {
    std::string dir;
    std::string sock;
    std::string port;
    [[nodiscard]] std::string conninfo() const { return "host=" + sock + " port=" + port + " dbname=postgres user=postgres"; }
};

class Cluster {
public:
    Cluster(std::string bin, std::string base) : bin_(std::move(bin)), base_(std::move(base)) {}
    ~Cluster() {
        for (const Node *n : {&primary, &standby})
            if (!n->dir.empty()) sh(bin_ + "/pg_ctl -D " + n->dir + " -m immediate -w stop >/dev/null 2>&1");
    }
    [[nodiscard]] std::string pg_ctl(const Node &n, const std::string &what) const {
        return bin_ + "/pg_ctl -D " + n.dir + " -l " + n.dir + "/server.log -w -t 60 " + what + " >/dev/null";
    }
    std::string bin_;
    std::string base_;
    Node primary;
    Node standby;
};

// The primary of the failover test: lockguard, the accounts and the transfers.
void start_primary(const Cluster &c) {
    ASSERT_EQ(sh(c.bin_ + "/initdb -D " + c.primary.dir + " -A trust -U postgres --no-sync >/dev/null"), 0);
    {
        std::ofstream conf(c.primary.dir + "/postgresql.conf", std::ios::app);
        conf << "shared_preload_libraries = 'lockguard'\nlisten_addresses = ''\nunix_socket_directories = '"
             << c.primary.sock << "'\nport = " << c.primary.port << "\n";
    }
    ASSERT_EQ(sh(c.pg_ctl(c.primary, "start")), 0);
    PGconn *p = PQconnectdb(c.primary.conninfo().c_str());
    ASSERT_EQ(PQstatus(p), CONNECTION_OK);
    for (const char *sql : {"CREATE EXTENSION lockguard",
                            "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)",
                            "INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 4) g",
                            "CREATE TABLE transfers (key text PRIMARY KEY, src bigint, dst bigint, amount bigint)"}) {
        PGresult *r = PQexec(p, sql);
        EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << sql << PQerrorMessage(p);
        PQclear(r);
    }
    PQfinish(p);
}

// The standby, from a base backup of the primary, then made synchronous: acknowledged commits
// are on it.
void start_sync_standby(const Cluster &c) {
    ASSERT_EQ(sh(c.bin_ + "/pg_basebackup -D " + c.standby.dir + " -R -X stream -d '" + c.primary.conninfo() +
                 " application_name=client_standby' >/dev/null"),
              0);
    {
        // The standby, once promoted, has no standby of its own: it must not wait for one.
        std::ofstream conf(c.standby.dir + "/postgresql.conf", std::ios::app);
        conf << "port = " << c.standby.port << "\nsynchronous_standby_names = ''\n";
    }
    ASSERT_EQ(sh(c.pg_ctl(c.standby, "start")), 0);
    // Now that the standby runs: acknowledged commits are on it (before, the set-up would wait).
    PGconn *p = PQconnectdb(c.primary.conninfo().c_str());
    ASSERT_EQ(PQstatus(p), CONNECTION_OK);
    for (const char *sql : {"ALTER SYSTEM SET synchronous_standby_names = 'client_standby'", "SELECT pg_reload_conf()"}) {
        PGresult *r = PQexec(p, sql);
        EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) << sql;
        PQclear(r);
    }
    // Wait until the standby streams synchronously.
    std::string state;
    for (int i = 0; i < 600 && state != "sync"; ++i) {
        PGresult *r = PQexec(p, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'client_standby'");
        state = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
        PQclear(r);
        if (state != "sync") sleep_ms(50);
    }
    EXPECT_EQ(state, "sync");
    PQfinish(p);
}

// What the failover clients share: the transfers acknowledged to them (key -> result).
struct Stream {
    std::string conninfo;
    std::mutex mu;
    std::map<std::string, std::string> acknowledged;
    std::atomic<int> acked{0};
    std::atomic<bool> stop{false};
    std::vector<std::string> errors = std::vector<std::string>(2);
};

// Client `me`: run-once transfers between two random accounts until told to stop.
void failover_client(Stream &st, int me) {
    LockContext ctx(st.conninfo);
    std::mt19937 rng(static_cast<unsigned>(me) + 5u);
    for (int i = 0; !st.stop.load(); ++i) {
        int64_t a = 1 + static_cast<int64_t>(rng() % 4);
        int64_t b = 1 + static_cast<int64_t>(rng() % 3);
        if (b >= a) ++b;
        Options o;
        o.operation_key = "failover:" + std::to_string(me) + ":" + std::to_string(i);
        o.deadline_ms = 60000;
        o.max_attempts = 1000;
        o.backoff = {50, 500, 2.0};
        o.fencing_tokens = {"bank"};
        o.acquire_timeout_ms = 2000;
        try {
            RunResult r = ctx.run_with_lock(
                {Resource::row("accounts", a), Resource::row("accounts", b), Resource::named("bank")},
                [&](Transaction &tx) {
                    tx.exec("UPDATE accounts SET balance = balance - 1 WHERE id = $1", {std::to_string(a)});
                    tx.exec("UPDATE accounts SET balance = balance + 1 WHERE id = $1", {std::to_string(b)});
                    tx.exec("INSERT INTO transfers VALUES ($1, $2, $3, 1)", {o.operation_key, std::to_string(a), std::to_string(b)});
                    return "{\"token\": " + std::to_string(tx.fencing_token("bank")) + "}";
                },
                o);
            std::lock_guard<std::mutex> g(st.mu);
            st.acknowledged[o.operation_key] = r.result;
            ++st.acked;
        } catch (const std::exception &e) {
            st.errors[static_cast<size_t>(me)] = e.what();
            return;
        }
    }
}

// On the promoted standby: every acknowledged transfer exactly once, with the result the client
// was given, and the balances add up.
void check_exactly_once(const Node &n, const std::map<std::string, std::string> &acknowledged) {
    PGconn *p = PQconnectdb(n.conninfo().c_str());
    ASSERT_EQ(PQstatus(p), CONNECTION_OK);
    auto one = [&](const std::string &sql, const std::vector<std::string> &params = {}) {
        std::vector<const char *> v;
        v.reserve(params.size());
        for (const auto &s : params) v.push_back(s.c_str());
        PGresult *r = PQexecParams(p, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0);
        std::string out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "?";
        PQclear(r);
        return out;
    };
    EXPECT_EQ(one("SELECT pg_is_in_recovery()"), "f");
    int missing = 0;
    int wrong = 0;
    for (const auto &[key, result] : acknowledged) {
        if (one("SELECT count(*) FROM transfers WHERE key = $1", {key}) != "1") ++missing;
        // The result the client was given is the one recorded with the key.
        if (one("SELECT result::text FROM lockguard.operations WHERE key = $1", {key}) != result) ++wrong;
    }
    EXPECT_EQ(missing, 0) << "acknowledged transfers missing or duplicated on the promoted standby";
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(one("SELECT sum(balance) FROM accounts"), "4000");
    EXPECT_EQ(one("SELECT count(*) FROM transfers"), one("SELECT count(*) FROM lockguard.operations WHERE key LIKE 'failover:%'"));
    EXPECT_EQ(one("SELECT count(*) FROM accounts a WHERE balance <> 1000 + (SELECT count(*) FROM transfers WHERE dst = a.id) "
                  "- (SELECT count(*) FROM transfers WHERE src = a.id)"),
              "0");
    PQfinish(p);
}

}  // namespace

// The tests that start servers of their own: the PostgreSQL programs, a directory and a port from
// the runner, or a skip (a failure under LG_REQUIRE_ALL_TOOLS).
class OwnServers : public ::testing::Test {
protected:
    void SetUp() override {
        if (bin.empty() || base.empty() || port.empty()) {
            if (env("LG_REQUIRE_ALL_TOOLS") == "1") FAIL() << "LG_CLIENT_PGBIN, LG_CLIENT_FAILOVER_DIR or LG_CLIENT_FAILOVER_PORT is not set";
            GTEST_SKIP() << "no PostgreSQL programs and directory for servers of the test's own";
        }
    }
    const std::string bin = env("LG_CLIENT_PGBIN");
    const std::string base = env("LG_CLIENT_FAILOVER_DIR");
    const std::string port = env("LG_CLIENT_FAILOVER_PORT");
};
class Failover : public OwnServers {};
class Restart : public OwnServers {};

TEST_F(Failover, AcknowledgedTransfersSurviveAPromotionExactlyOnce) {
    Cluster c(bin, base);
    sh("rm -rf " + base + " && mkdir -p " + base + "/sock");
    c.primary = {base + "/primary", base + "/sock", port};
    c.standby = {base + "/standby", base + "/sock", std::to_string(std::stoi(port) + 1)};
    ASSERT_NO_FATAL_FAILURE(start_primary(c));
    ASSERT_NO_FATAL_FAILURE(start_sync_standby(c));

    Stream st;
    st.conninfo = "host=" + c.primary.sock + "," + c.standby.sock + " port=" + c.primary.port + "," + c.standby.port +
                  " dbname=postgres user=postgres target_session_attrs=read-write";
    std::thread t1(failover_client, std::ref(st), 0);
    std::thread t2(failover_client, std::ref(st), 1);
    for (int i = 0; i < 3000 && st.acked.load() < 60; ++i) sleep_ms(10);
    const int before = st.acked.load();
    // The primary dies mid-stream; the standby (synchronous: it has every acknowledged commit) is promoted.
    EXPECT_EQ(sh(bin + "/pg_ctl -D " + c.primary.dir + " -m immediate -w stop >/dev/null"), 0);
    sleep_ms(300);
    EXPECT_EQ(sh(c.pg_ctl(c.standby, "promote")), 0);
    for (int i = 0; i < 3000 && st.acked.load() < before + 60; ++i) sleep_ms(10);
    st.stop = true;
    t1.join();
    t2.join();
    EXPECT_EQ(st.errors[0], "");
    EXPECT_EQ(st.errors[1], "");
    EXPECT_GE(before, 20);
    EXPECT_GE(st.acked.load(), before + 60) << "the clients did not go on on the promoted standby";
    check_exactly_once(c.standby, st.acknowledged);
    std::printf("failover: %d transfers acknowledged before the primary stopped, %d in all\n", before, st.acked.load());
}

// A restart (pg_ctl restart -m fast) under a stream of run-once transfers: the sessions end with
// 57P01, connections are refused (57P03, then no server) while it restarts; the clients go on,
// and every acknowledged transfer is there exactly once.
TEST_F(Restart, ClientsGoOnAcrossAFastRestart) {
    Cluster c(bin, base);
    sh("rm -rf " + base + " && mkdir -p " + base + "/sock");
    c.primary = {base + "/restart", base + "/sock", port};
    ASSERT_EQ(sh(bin + "/initdb -D " + c.primary.dir + " -A trust -U postgres --no-sync >/dev/null"), 0);
    {
        std::ofstream conf(c.primary.dir + "/postgresql.conf", std::ios::app);
        conf << "shared_preload_libraries = 'lockguard'\nlisten_addresses = ''\nunix_socket_directories = '"
             << c.primary.sock << "'\nport = " << c.primary.port << "\n";
    }
    ASSERT_EQ(sh(c.pg_ctl(c.primary, "start")), 0);
    PGconn *p = PQconnectdb(c.primary.conninfo().c_str());
    ASSERT_EQ(PQstatus(p), CONNECTION_OK);
    for (const char *sql : {"CREATE EXTENSION lockguard", "CREATE TABLE transfers (key text PRIMARY KEY, n int)"}) {
        PGresult *r = PQexec(p, sql);
        EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << sql;
        PQclear(r);
    }
    PQfinish(p);

    std::mutex mu;
    std::vector<std::string> acknowledged;
    std::atomic<int> acked{0};
    std::atomic<int> retried_attempts{0};
    std::atomic<bool> stop{false};
    std::vector<std::string> errors(2);
    auto client = [&](int me) {
        LockContext ctx(c.primary.conninfo());
        for (int i = 0; !stop.load(); ++i) {
            Options o;
            o.operation_key = "restart:" + std::to_string(me) + ":" + std::to_string(i);
            o.deadline_ms = 60000;
            o.max_attempts = 1000;
            o.backoff = {50, 500, 2.0};
            try {
                RunResult r = ctx.run_with_lock({Resource::named("restart:" + std::to_string(i % 3))},
                                                [&](Transaction &tx) {
                                                    tx.exec("INSERT INTO transfers VALUES ($1, 1)", {o.operation_key});
                                                    return std::string("{}");
                                                },
                                                o);
                retried_attempts += r.stats.attempts - 1;
                std::lock_guard<std::mutex> g(mu);
                acknowledged.push_back(o.operation_key);
                ++acked;
            } catch (const std::exception &e) {
                errors[static_cast<size_t>(me)] = e.what();
                return;
            }
        }
    };
    std::thread t1(client, 0);
    std::thread t2(client, 1);
    for (int i = 0; i < 3000 && acked.load() < 40; ++i) sleep_ms(10);
    const int before = acked.load();
    EXPECT_EQ(sh(c.pg_ctl(c.primary, "-m fast restart")), 0);
    for (int i = 0; i < 3000 && acked.load() < before + 40; ++i) sleep_ms(10);
    stop = true;
    t1.join();
    t2.join();
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
    EXPECT_GE(acked.load(), before + 40) << "the clients did not go on after the restart";
    EXPECT_GT(retried_attempts.load(), 0) << "no attempt was cut by the restart";
    p = PQconnectdb(c.primary.conninfo().c_str());
    ASSERT_EQ(PQstatus(p), CONNECTION_OK);
    int missing = 0;
    for (const auto &key : acknowledged) {
        const char *v[] = {key.c_str()};
        PGresult *r = PQexecParams(p, "SELECT count(*) FROM transfers WHERE key = $1", 1, nullptr, v, nullptr, nullptr, 0);
        if (std::string(PQgetvalue(r, 0, 0)) != "1") ++missing;
        PQclear(r);
    }
    EXPECT_EQ(missing, 0);
    PGresult *r = PQexec(p, "SELECT (SELECT count(*) FROM transfers) = (SELECT count(*) FROM lockguard.operations)");
    EXPECT_STREQ(PQgetvalue(r, 0, 0), "t") << "a transfer without its run-once key, or the reverse";
    PQclear(r);
    PQfinish(p);
    std::printf("restart: %d transfers acknowledged before the restart, %d in all, %d attempts retried\n", before,
                acked.load(), retried_attempts.load());
}
