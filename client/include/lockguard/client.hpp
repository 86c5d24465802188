// lockguard's C++ client library: one retry envelope around a transaction that takes lockguard
// locks, on libpq. docs/client.md describes it; docs/failover.md is the protocol it implements.
//
//   lockguard::client::LockContext ctx("host=db-a,db-b dbname=bank target_session_attrs=read-write");
//   auto r = ctx.run_with_lock({Resource::row("accounts", 1), Resource::row("accounts", 2)},
//                              [&](Transaction &tx) {
//                                  tx.exec("UPDATE accounts SET balance = balance - $1 WHERE id = 1", {"10"});
//                                  tx.exec("UPDATE accounts SET balance = balance + $1 WHERE id = 2", {"10"});
//                                  return std::string("{}");
//                              },
//                              options);
//
// A LockContext owns one connection and is used by one thread at a time; Metrics is thread-safe
// and may be shared by every context of a process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lockguard::client {

// Why run_with_lock gave up.
enum class ErrorKind {
    Server,          // the server raised an error that is not retried, or the retries ran out
    Connection,      // the connection was lost before COMMIT was sent, and the retries ran out
    OutcomeUnknown,  // the connection was lost after COMMIT was sent: it may have committed
    Deadline,        // the client-side deadline passed (the statement in flight was cancelled)
    Usage,           // a bad option or resource (SQLSTATE 22023), raised before any attempt
    Application,     // fn threw something that is not a lockguard::client::Error
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string sqlstate, const std::string &message, std::string detail = {},
          std::string hint = {}, int attempts = 0)
        : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)), detail_(std::move(detail)),
          hint_(std::move(hint)), attempts_(attempts) {}
    [[nodiscard]] ErrorKind kind() const { return kind_; }
    // The server's SQLSTATE ("55P03"); "" for a lost connection; "57014" for the client deadline.
    [[nodiscard]] const std::string &sqlstate() const { return sqlstate_; }
    [[nodiscard]] const std::string &detail() const { return detail_; }
    [[nodiscard]] const std::string &hint() const { return hint_; }
    // Attempts made by run_with_lock before it raised this (0 inside an attempt).
    [[nodiscard]] int attempts() const { return attempts_; }
    void set_attempts(int n) { attempts_ = n; }

private:
    ErrorKind kind_;
    std::string sqlstate_, detail_, hint_;
    int attempts_;
};

// One lock request, sent as lockguard's request builders with typed parameters (no SQL text is
// built from names or keys).
struct Resource {
    enum class Scope { Named, Row, Table } scope = Scope::Named;
    std::string name;      // named: the resource; row, table: the relation ("public.accounts")
    std::string key;       // row: the key's text form
    bool key_is_int = false;
    std::string mode;      // "" = the builder's default

    static Resource named(std::string resource, std::string mode = {});
    static Resource row(std::string relation, int64_t key, std::string mode = {});
    static Resource row(std::string relation, std::string text_key, std::string mode = {});
    static Resource table(std::string relation, std::string mode = {});
};

struct Backoff {
    int32_t base_ms = 50;   // ceiling of the first delay; delays are in [c/2, c] (equal jitter)
    int32_t max_ms = 2000;
    double multiplier = 2.0;
};

enum class Isolation { ReadCommitted, RepeatableRead, Serializable };

struct Options {
    int32_t acquire_timeout_ms = 2000;       // lockguard_acquire_all's timeout_ms, per attempt
    int32_t priority = 0;                    // -100 .. 100
    std::string tenant;                      // SET LOCAL lockguard.tenant; "" = the role's tenant
    int64_t deadline_ms = 30000;             // the whole call, on the client's clock (> 0)
    int32_t max_attempts = 10;               // attempts in total (>= 1)
    Backoff backoff{};                       // 55P03, 40P01, 40001, 57P0x, 25006, connection loss
    Backoff tenant_backoff{200, 5000, 2.0};  // LG001, LG002
    std::string operation_key;               // run-once key: makes "outcome unknown" retryable
    std::vector<std::string> fencing_tokens; // named resources to issue fencing tokens for
    std::string traceparent;                 // W3C traceparent; "" = generate one per call
    Isolation isolation = Isolation::ReadCommitted;
};

// A query's rows, as text (PostgreSQL's text output); NULL is std::nullopt.
class Rows {
public:
    [[nodiscard]] size_t size() const { return rows_.size(); }
    [[nodiscard]] bool empty() const { return rows_.empty(); }
    [[nodiscard]] const std::optional<std::string> &at(size_t row, size_t col) const { return rows_.at(row).at(col); }
    // The value, or throws Error (22004) if it is NULL.
    [[nodiscard]] const std::string &value(size_t row, size_t col) const;
    std::vector<std::vector<std::optional<std::string>>> rows_;
    int64_t affected = 0;  // rows affected by INSERT/UPDATE/DELETE
};

class Connection;

// What fn gets: the open transaction of the current attempt.
class Transaction {
public:
    // One statement with $1..$n parameters, sent unnamed with text parameters (safe behind
    // PgBouncer's transaction pooling: nothing is prepared by name). NULL: std::nullopt.
    Rows exec(const std::string &sql, const std::vector<std::optional<std::string>> &params = {});
    // The fencing token issued in this attempt for a resource named in Options::fencing_tokens.
    [[nodiscard]] int64_t fencing_token(const std::string &resource) const;
    [[nodiscard]] int attempt() const { return attempt_; }
    [[nodiscard]] int backend_pid() const;
    [[nodiscard]] const std::string &trace_id() const { return trace_id_; }

private:
    friend class LockContext;
    Transaction(Connection &conn, int attempt, std::string trace_id) : conn_(conn), attempt_(attempt), trace_id_(std::move(trace_id)) {}
    Connection &conn_;
    int attempt_;
    std::string trace_id_;
    std::map<std::string, int64_t> tokens_;
};

// One attempt, as the call saw it (times on the client's steady clock, from the call's start).
struct AttemptRecord {
    int64_t started_ms = 0;
    int64_t ended_ms = 0;
    int64_t lock_wait_ms = 0;       // time in lockguard_acquire_all and fencing_token
    std::string sqlstate;           // "" if it succeeded or the connection was lost
    std::string error_class;        // "" on success; "lock", "tenant", "server", "connection", ...
    int32_t backoff_ms = 0;         // the sleep that followed it (0 for the last)
};

struct CallStats {
    int attempts = 0;
    int64_t lock_wait_ms = 0;
    int64_t total_ms = 0;
    std::string outcome;  // "committed", "replayed", "gave_up", "failed", "outcome_unknown", "deadline"
    std::string trace_id;
    std::vector<AttemptRecord> attempt_log;
};

struct RunResult {
    std::string result;   // what fn returned, or the result recorded when replayed
    bool replayed = false;  // the operation key was already done: fn did not run
    CallStats stats;
};

// Cumulative counters and histograms of every call that reports to it. Thread-safe.
class Metrics {
public:
    void record(const CallStats &stats);
    // Prometheus text exposition format (version 0.0.4), metric names prefixed lockguard_client_.
    [[nodiscard]] std::string prometheus_text() const;
    [[nodiscard]] uint64_t calls(const std::string &outcome) const;
    [[nodiscard]] uint64_t retries(const std::string &error_class) const;

private:
    static constexpr double kBucketsSeconds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    static constexpr size_t kBuckets = sizeof(kBucketsSeconds) / sizeof(kBucketsSeconds[0]);
    struct Histogram {
        uint64_t counts[kBuckets + 1] = {};
        double sum = 0;
        uint64_t count = 0;
        void observe(double seconds);
    };
    mutable std::mutex mu_;
    std::map<std::string, uint64_t> calls_, retries_;
    uint64_t attempts_ = 0;
    Histogram call_seconds_, lock_wait_seconds_;
};

using Work = std::function<std::string(Transaction &)>;

class LockContext {
public:
    // conninfo: a libpq connection string or URI (several hosts and target_session_attrs work).
    // The connection is made on first use and remade after it is lost. TCP keepalives and
    // tcp_user_timeout are added unless the string sets them.
    explicit LockContext(std::string conninfo, Metrics *metrics = nullptr);
    ~LockContext();
    LockContext(const LockContext &) = delete;
    LockContext &operator=(const LockContext &) = delete;

    RunResult run_with_lock(const std::vector<Resource> &resources, const Work &fn, const Options &options = {});

    // The backend of the current connection (0 if none): for tests and logs.
    [[nodiscard]] int backend_pid() const;

private:
    struct Call;  // one call of run_with_lock and its steps (client.cpp)
    std::string conninfo_;
    Metrics *metrics_;
    std::unique_ptr<Connection> conn_;
    uint64_t rng_;
};

}  // namespace lockguard::client
