#include "etcd_test_cluster.hpp"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace exchanged::ha::test {

namespace {

const std::string kScript = std::string(EXCHANGED_SOURCE_DIR) + "/scripts/etcd-test-cluster.sh";

bool on_path(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

EtcdTestCluster::EtcdTestCluster(int members) {
    if (!on_path("etcd") || !on_path("etcdctl")) {
        why_unavailable_ = "etcd or etcdctl not found (scripts/setup-deps.sh installs them)";
        return;
    }
    char pattern[] = "/tmp/exchanged-etcd-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
        throw std::runtime_error("etcd test cluster: mkdtemp failed");
    }
    dir_ = pattern;
    const std::string command =
        "bash " + kScript + " start " + dir_ + " --members " + std::to_string(members);
    FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) {
        throw std::runtime_error("etcd test cluster: cannot run " + command);
    }
    char line[1024];
    std::string text;
    while (std::fgets(line, sizeof line, out) != nullptr) {
        text += line;
    }
    const int status = ::pclose(out);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    // A machine that has etcd must be able to start it: that is a failure, not a skip.
    if (status != 0 || text.empty()) {
        throw std::runtime_error("etcd test cluster: '" + command + "' failed (its stderr above)");
    }
    endpoints_ = text;
}

EtcdTestCluster::~EtcdTestCluster() {
    if (!dir_.empty()) {
        const std::string command = "bash " + kScript + " stop " + dir_ + " >/dev/null";
        if (std::system(command.c_str()) != 0) {
            std::fprintf(stderr, "etcd test cluster: stopping %s failed\n", dir_.c_str());
        }
    }
}

std::string EtcdTestCluster::endpoint(int member) const {
    std::size_t start = 0;
    for (int i = 0; i < member; ++i) {
        start = endpoints_.find(',', start);
        if (start == std::string::npos) {
            throw std::out_of_range("etcd test cluster: no member " + std::to_string(member));
        }
        ++start;
    }
    return endpoints_.substr(start, endpoints_.find(',', start) - start);
}

int EtcdTestCluster::leader() const {
    for (int member = 0;; ++member) {
        std::string url;
        try {
            url = endpoint(member);
        } catch (const std::out_of_range&) {
            break;
        }
        // One line: "url, id, version, db size, is leader, is learner, term, ...".
        const std::string command =
            "etcdctl --endpoints " + url + " --command-timeout=2s endpoint status -w simple";
        FILE* out = ::popen(command.c_str(), "r");
        if (out == nullptr) {
            throw std::runtime_error("etcd test cluster: cannot run " + command);
        }
        char line[1024];
        std::string text;
        while (std::fgets(line, sizeof line, out) != nullptr) {
            text += line;
        }
        ::pclose(out);
        std::size_t field = 0;
        for (int i = 0; i < 4 && field != std::string::npos; ++i) {
            field = text.find(", ", field == 0 ? 0 : field + 2);
        }
        if (field != std::string::npos && text.compare(field + 2, 4, "true") == 0) {
            return member;
        }
    }
    return -1;
}

void EtcdTestCluster::script(const std::string& arguments) const {
    const std::string command = "bash " + kScript + " " + arguments;
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("etcd test cluster: '" + command + "' failed (its stderr above)");
    }
}

void EtcdTestCluster::enable_auth(const std::string& user, const std::string& password,
                                  const std::string& prefix) const {
    script("auth " + dir_ + " " + user + " " + password + " " + prefix);
}

void EtcdTestCluster::revoke_tokens() const {
    script("revoke-tokens " + dir_);
}

int EtcdTestCluster::pid_of(int member) const {
    std::ifstream file(dir_ + "/m" + std::to_string(member) + "/pid");
    int pid = 0;
    if (!(file >> pid) || pid <= 0) {
        throw std::runtime_error("etcd test cluster: no pid for member " + std::to_string(member));
    }
    return pid;
}

void EtcdTestCluster::signal(int member, int sig) const {
    if (::kill(pid_of(member), sig) != 0) {
        throw std::runtime_error("etcd test cluster: cannot signal member " +
                                 std::to_string(member));
    }
}

void EtcdTestCluster::pause(int member) const {
    signal(member, SIGSTOP);
}
void EtcdTestCluster::resume(int member) const {
    signal(member, SIGCONT);
}
void EtcdTestCluster::kill(int member) const {
    signal(member, SIGKILL);
}

}  // namespace exchanged::ha::test
