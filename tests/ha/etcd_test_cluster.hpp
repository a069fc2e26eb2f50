// Throw-away etcd members for one test (scripts/etcd-test-cluster.sh), stopped and removed when
// the object goes out of scope. Without etcd installed, available() is false and the test skips.
#pragma once

#include <string>

namespace exchanged::ha::test {

class EtcdTestCluster {
  public:
    explicit EtcdTestCluster(int members = 1);
    ~EtcdTestCluster();
    EtcdTestCluster(const EtcdTestCluster&) = delete;
    EtcdTestCluster& operator=(const EtcdTestCluster&) = delete;

    bool available() const { return !endpoints_.empty(); }
    const std::string& why_unavailable() const { return why_unavailable_; }
    const std::string& endpoints() const { return endpoints_; }  // comma-separated
    std::string endpoint(int member) const;

    // The member etcd reports as its raft leader (etcdctl endpoint status); -1 if none.
    int leader() const;

    // etcd's authentication on: a root user and `user` with read-write under `prefix` only.
    void enable_auth(const std::string& user, const std::string& password,
                     const std::string& prefix) const;
    // auth disable + enable: every token etcd issued so far is rejected from now on.
    void revoke_tokens() const;

    // SIGSTOP / SIGCONT / SIGKILL to one member (0-based).
    void pause(int member) const;
    void resume(int member) const;
    void kill(int member) const;

  private:
    int pid_of(int member) const;
    void signal(int member, int sig) const;
    void script(const std::string& arguments) const;  // throws when the script fails

    std::string dir_;
    std::string endpoints_;
    std::string why_unavailable_;
};

// Prints Catch's skip line and evaluates to true when the cluster could not start.
#define ETCD_SKIP_IF_UNAVAILABLE(cluster)                      \
    if (!(cluster).available()) {                              \
        WARN("test skipped: " << (cluster).why_unavailable()); \
        return;                                                \
    }

}  // namespace exchanged::ha::test
