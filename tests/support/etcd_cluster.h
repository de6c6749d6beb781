// Real etcd members (Debian's etcd-server, /usr/bin/etcd) on loopback, each with its own
// temporary data directory, for the cluster tests. Members are separate processes, started
// and killed with signals like any process a test controls.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cluster/etcd_client.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {

// A free TCP port on 127.0.0.1 (bound and released; the member binds it right after).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class EtcdCluster {
 public:
  explicit EtcdCluster(int members) {
    for (int i = 0; i < members; ++i) members_.push_back({absl::StrCat("m", i), FreePort(), FreePort(), 0});
    std::vector<std::string> initial;
    for (const auto& m : members_) initial.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    initial_cluster_ = absl::StrJoin(initial, ",");
    for (size_t i = 0; i < members_.size(); ++i) Start(i);
  }
  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) Kill(i);
  }

  std::vector<std::string> Endpoints() const {
    std::vector<std::string> out;
    for (const auto& m : members_) out.push_back(absl::StrCat("127.0.0.1:", m.client_port));
    return out;
  }
  size_t size() const { return members_.size(); }

  void Start(size_t i) {
    Member& m = members_[i];
    const std::string dir = dir_.Sub(m.name);
    const std::string client = absl::StrCat("http://127.0.0.1:", m.client_port);
    const std::string peer = absl::StrCat("http://127.0.0.1:", m.peer_port);
    std::vector<std::string> args = {"/usr/bin/etcd", "--name", m.name, "--data-dir", dir,
                                     "--listen-client-urls", client, "--advertise-client-urls", client,
                                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", initial_cluster_, "--initial-cluster-state", "new",
                                     "--initial-cluster-token", "annals-test",
                                     // Loopback: elect in well under a second.
                                     "--heartbeat-interval", "50", "--election-timeout", "500",
                                     "--logger", "zap", "--log-level", "error"};
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      // The members' chatter goes to a file per member, not the test's output.
      const std::string log = dir_.Sub(m.name + ".log");
      freopen(log.c_str(), "a", stderr);
      freopen("/dev/null", "w", stdout);
      execv(argv[0], argv.data());
      _exit(127);
    }
    m.pid = pid;
  }
  void Kill(size_t i, int signal = SIGKILL) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, signal);
    if (signal == SIGKILL || signal == SIGTERM) {
      waitpid(m.pid, nullptr, 0);
      m.pid = 0;
    }
  }
  void Signal(size_t i, int signal) { ::kill(members_[i].pid, signal); }

  // Waits until every running member answers and one of them leads; false after `seconds`.
  bool WaitReady(double seconds = 20) {
    cluster::EtcdOptions o;
    o.endpoints = Endpoints();
    o.call_timeout = absl::Milliseconds(500);
    cluster::EtcdClient client(o);
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::string last = "no member answered";
    while (std::chrono::steady_clock::now() < until) {
      bool all = true, led = false;
      for (size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].pid <= 0) continue;
        auto s = client.Status(i);
        if (!s.ok()) {
          all = false;
          last = std::string(s.status().message());
          break;
        }
        led = led || s->leader() != 0;
      }
      if (all && led) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fprintf(stderr, "etcd members not ready: %s (logs in %s)\n", last.c_str(), dir_.path().c_str());
    return false;
  }
  // The index of the member that leads raft, or -1.
  int Leader() {
    cluster::EtcdOptions o;
    o.endpoints = Endpoints();
    o.call_timeout = absl::Milliseconds(500);
    cluster::EtcdClient client(o);
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].pid <= 0) continue;
      auto s = client.Status(i);
      if (s.ok() && s->leader() == s->header().member_id()) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  struct Member {
    std::string name;
    int client_port, peer_port;
    pid_t pid;
  };
  TempDir dir_;
  std::vector<Member> members_;
  std::string initial_cluster_;
};

}  // namespace annals::testing
